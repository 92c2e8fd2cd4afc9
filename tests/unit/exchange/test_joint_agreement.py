"""The pure rule of joint records: agreed only when every signatory accepts the same content hash."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sarhad.exchange.joint import Act, agreement_state

A, B = "a" * 64, "b" * 64


def test_a_proposal_alone_is_not_agreed_and_the_previous_agreement_stands() -> None:
    state = agreement_state(["IR", "PK"], [Act("PK", B, "propose", 1)], previously_agreed=A)
    assert state.agreed_hash == A
    assert state.pending == {B: {"IR": "pending", "PK": "accept"}}


def test_acceptance_by_every_signatory_agrees_the_content() -> None:
    acts = [Act("PK", B, "propose", 1), Act("IR", B, "accept", 2)]
    assert agreement_state(["IR", "PK"], acts, previously_agreed=A).agreed_hash == B


def test_a_counter_proposal_replaces_nothing_until_it_is_accepted() -> None:
    acts = [Act("PK", A, "propose", 1), Act("IR", B, "propose", 2)]
    state = agreement_state(["IR", "PK"], acts, previously_agreed=None)
    assert state.agreed_hash is None
    acts.append(Act("PK", B, "accept", 3))
    assert agreement_state(["IR", "PK"], acts, previously_agreed=None).agreed_hash == B


def test_a_rejection_keeps_a_proposal_from_being_agreed_until_the_party_accepts_later() -> None:
    acts = [Act("PK", B, "propose", 1), Act("IR", B, "reject", 2)]
    assert agreement_state(["IR", "PK"], acts, previously_agreed=A).agreed_hash == A
    acts.append(Act("IR", B, "accept", 3))
    assert agreement_state(["IR", "PK"], acts, previously_agreed=A).agreed_hash == B


def test_a_later_rejection_never_undoes_an_agreement_already_reached() -> None:
    acts = [Act("PK", B, "propose", 1), Act("IR", B, "accept", 2), Act("IR", B, "reject", 3)]
    assert agreement_state(["IR", "PK"], acts, previously_agreed=B).agreed_hash == B


def test_three_signatories_need_all_three() -> None:
    acts = [Act("PK", B, "propose", 1), Act("IR", B, "accept", 2)]
    assert agreement_state(["AF", "IR", "PK"], acts, previously_agreed=None).agreed_hash is None
    acts.append(Act("AF", B, "accept", 3))
    assert agreement_state(["AF", "IR", "PK"], acts, previously_agreed=None).agreed_hash == B


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["PK", "IR"]),
            st.sampled_from([A, B]),
            st.sampled_from(["propose", "accept", "reject"]),
        ),
        max_size=12,
    )
)
def test_the_agreed_hash_is_always_one_that_every_signatory_last_accepted_or_the_previous(
    raw: list[tuple[str, str, str]],
) -> None:
    acts = [Act(party, digest, decision, order) for order, (party, digest, decision) in enumerate(raw)]
    state = agreement_state(["IR", "PK"], acts, previously_agreed=None)
    if state.agreed_hash is not None:
        for party in ("IR", "PK"):
            last = [a for a in acts if a.party == party and a.content_hash == state.agreed_hash][-1]
            assert last.decision in ("propose", "accept")
