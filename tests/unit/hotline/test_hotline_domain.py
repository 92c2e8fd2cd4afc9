"""Pure hotline rules: message checks, states only move forward, escalation plans, deadlines, percentiles."""

from __future__ import annotations

import pytest

from sarhad.core.errors import RuleError
from sarhad.hotline import domain
from sarhad.hotline.domain import PolicyStep


def test_a_valid_message_is_trimmed() -> None:
    fields = domain.check_message(
        precedence="FLASH", subject="  Crossing ", body=" text ", lat=27.0, lon=62.0
    )
    assert (fields.subject, fields.body, fields.lat, fields.lon) == ("Crossing", "text", 27.0, 62.0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"precedence": "URGENT"}, "precedence"),
        ({"subject": " "}, "subject"),
        ({"subject": "s" * 201}, "subject"),
        ({"body": ""}, "body"),
        ({"body": "b" * 4001}, "body"),
        ({"lat": 10.0}, "lat"),
        ({"lat": 91.0, "lon": 1.0}, "lat"),
        ({"lat": 1.0, "lon": 181.0}, "lon"),
        ({"incident": "no spaces allowed"}, "incident"),
    ],
)
def test_bad_messages_are_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    values: dict[str, object] = {"precedence": "ROUTINE", "subject": "s", "body": "b", **changes}
    with pytest.raises(RuleError) as refused:
        domain.check_message(**values)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_body_at_the_limit_is_accepted() -> None:
    assert len(domain.check_message(precedence="ROUTINE", subject="s", body="b" * 4000).body) == 4000


def test_states_only_move_forward() -> None:
    assert domain.advance("queued", "delivered") == "delivered"
    assert domain.advance("acknowledged", "seen") == "acknowledged"
    assert domain.advance("seen", "acknowledged") == "acknowledged"
    assert domain.advance("closed", "delivered") == "closed"


def test_deadlines_default_and_validate() -> None:
    assert domain.check_deadlines({}) == {"FLASH": 120, "IMMEDIATE": 600, "PRIORITY": 3600, "ROUTINE": 86400}
    assert domain.check_deadlines({"FLASH": 30})["FLASH"] == 30
    for bad in ({"FLASH": 0}, {"FLASH": "2"}, {"URGENT": 5}, {"FLASH": True}):
        with pytest.raises(RuleError):
            domain.check_deadlines(bad)


def test_escalation_plan_climbs_the_hierarchy_and_repeats_at_the_top() -> None:
    parents = {"IR-P1": "IR-S1-CDR", "IR-S1-CDR": "IR-MOI", "IR-MOI": None}
    plan = domain.plan_escalation([PolicyStep(None, "parent")], 2, 120, "IR-P1", parents)
    assert [(p.number, p.offset_seconds, p.target) for p in plan] == [
        (1, 120, "IR-S1-CDR"),
        (2, 240, "IR-MOI"),
        (3, 360, "IR-MOI"),
    ]


def test_escalation_plan_with_explicit_waits_and_targets() -> None:
    steps = [PolicyStep(60, "IR-DUTY"), PolicyStep(None, "parent")]
    plan = domain.plan_escalation(steps, 0, 600, "IR-S1-CDR", {"IR-DUTY": "IR-MOI"})
    assert [(p.offset_seconds, p.target) for p in plan] == [(60, "IR-DUTY"), (660, "IR-MOI")]
    assert domain.plan_escalation([], 3, 600, "IR-S1-CDR", {}) == []


def test_policy_checks() -> None:
    assert domain.check_policy([{"wait_seconds": 30, "notify": "IR-MOI"}], 1) == [PolicyStep(30, "IR-MOI")]
    for steps, repeats in (
        ([{"wait_seconds": 0, "notify": "parent"}], 1),
        ([{"wait_seconds": None, "notify": "bad id!"}], 1),
        ([{"notify": "parent"}] * 11, 1),
        ([], 21),
    ):
        with pytest.raises(RuleError):
            domain.check_policy(steps, repeats)


def test_percentiles() -> None:
    assert domain.percentile([], 50) is None
    assert domain.percentile([5.0], 90) == 5.0
    assert domain.percentile([1, 2, 3, 4], 50) == 2.5
    assert domain.percentile(list(range(1, 11)), 90) == pytest.approx(9.1)
