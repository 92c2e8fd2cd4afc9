"""A report as a MISP event (the MISP core format, ``{"Event": {...}}``): what a partner running MISP loads.

Like the STIX bundle, the event carries only what may leave the node — the releasable portion (below the
tearline), the grading, the type, period and sections — never the full text, the summary or the note on
the source, on whichever node it is exported (on a receiver those are not held at all).

- ``info`` ← the title; ``date`` ← the start of the period covered, else the day the report was written;
- ``threat_level_id`` ← ``"1"`` (high) for a threat warning, ``"4"`` (undefined) for the other types;
- ``analysis`` ← ``"2"`` (completed) once approved or received, ``"1"`` (ongoing) for a draft;
- ``distribution`` ← from the TLP: clear → ``"3"`` (all communities), green → ``"1"`` (this community),
  amber, amber+strict and red → ``"0"`` (your organisation only); the partner's MISP re-shares by its own rules;
- ``Tag`` ← the MISP ``tlp`` taxonomy tag (``tlp:amber``, ``tlp:amber+strict``, …) and the ``admiralty-scale``
  taxonomy's ``admiralty-scale:source-reliability="b"`` and ``admiralty-scale:information-credibility="2"``;
- ``Attribute`` ← the releasable text (``text``, category ``External analysis``), the sarhad reference
  ``ORIGIN/id/vN`` (``text``, ``Internal reference``), each border section (``text``, ``Other``) and the
  period's ends (``datetime``, ``Other``); none is an IDS signature (``to_ids`` false), every one inherits the
  event's distribution (``"5"``);
- ``uuid`` ← the UUID of the report's STIX id, so both exports of a report name the same thing; ``Orgc`` ←
  the originating party, with the UUID of its STIX identity.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sarhad.intel.domain import KIND, ReportType, Status
from sarhad.intel.models import IntelReport
from sarhad.intel.stix import stable_id

DISTRIBUTION = {"clear": "3", "green": "1", "amber": "0", "amber+strict": "0", "red": "0"}
INHERIT = "5"


def _uuid_of(stix_id: str) -> str:
    return stix_id.partition("--")[2]


def _attribute(
    report: IntelReport, kind: str, category: str, value: str, comment: str, stamp: str
) -> dict[str, Any]:
    """One attribute; its UUID derived from the event's and its content, so a re-export updates it."""
    event = uuid.UUID(_uuid_of(stable_id("report", f"{KIND}:{report.origin}/{report.id}")))
    return {
        "uuid": str(uuid.uuid5(event, f"{category}:{comment}:{value}")),
        "type": kind,
        "category": category,
        "value": value,
        "comment": comment,
        "to_ids": False,
        "distribution": INHERIT,
        "timestamp": stamp,
    }


def _iso(value: datetime) -> str:
    return value.isoformat()


def report_event(report: IntelReport, party_names: dict[str, str]) -> dict[str, Any]:
    """The report as a MISP event, ``{"Event": {...}}``."""
    stamp = str(int(report.updated_at.timestamp()))
    day = (report.period_start or report.created_at).date().isoformat()
    attributes = [
        _attribute(
            report,
            "text",
            "External analysis",
            report.releasable,
            "The releasable portion of the report",
            stamp,
        ),
        _attribute(
            report,
            "text",
            "Internal reference",
            f"{report.origin}/{report.id}/v{report.version}",
            "sarhad report",
            stamp,
        ),
    ]
    attributes += [_attribute(report, "text", "Other", s, "Border section", stamp) for s in report.sections]
    if report.period_start is not None:
        attributes.append(
            _attribute(report, "datetime", "Other", _iso(report.period_start), "Period covered: start", stamp)
        )
    if report.period_end is not None:
        attributes.append(
            _attribute(report, "datetime", "Other", _iso(report.period_end), "Period covered: end", stamp)
        )
    event = {
        "uuid": _uuid_of(stable_id("report", f"{KIND}:{report.origin}/{report.id}")),
        "info": report.title,
        "date": day,
        "threat_level_id": "1" if report.report_type == ReportType.THREAT_WARNING.value else "4",
        "analysis": "1" if report.status == Status.DRAFT.value else "2",
        "distribution": DISTRIBUTION.get(report.tlp, "0"),
        "published": report.status == Status.RELEASED.value,
        "timestamp": stamp,
        "Orgc": {
            "name": party_names.get(report.origin, report.origin),
            "uuid": _uuid_of(stable_id("identity", report.origin)),
        },
        "Tag": [
            {"name": f"tlp:{report.tlp}"},
            {"name": f'admiralty-scale:source-reliability="{report.reliability.lower()}"'},
            {"name": f'admiralty-scale:information-credibility="{report.credibility}"'},
        ],
        "Attribute": attributes,
    }
    return {"Event": event}
