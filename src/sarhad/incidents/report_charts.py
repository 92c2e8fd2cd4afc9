"""The incident statistics as charts (``sarhad.web.chartdata``), for the statistics page: one unit per chart,
axis labels in the viewer's calendar and digits."""

from __future__ import annotations

import re

from sarhad.accounts.services import Principal
from sarhad.core.i18n import gettext as _
from sarhad.incidents import reports
from sarhad.web.chartdata import Chart, Series, by_unit, month_label, week_label


def statistics_charts(stats: reports.Statistics, principal: Principal) -> list[Chart]:
    """The statistics as charts, one unit per chart: incidents per section per week, seizures per month (one
    chart per unit: kilograms and litres never share an axis), and the response to requests per month."""
    language, calendar = principal.language, principal.calendar
    weeks = [week_label(w, calendar, language) for w in stats.weeks]
    months = [month_label(m, calendar, language) for m in stats.months]
    result = [
        Chart(
            id="per-section-week",
            title=_("Incidents per section per week"),
            labels=weeks,
            series=[
                Series(f"{_('Section')} {section}", [float(v) for v in values])
                for section, values in stats.per_section_week.items()
            ],
            unit=_("incidents"),
            stacked=True,
            language=language,
            category_title=_("Week starting"),
            empty_text=_("No incidents"),
        )
    ]
    per_unit = by_unit(stats.seizures)
    for unit, items in per_unit.items() or {"": {}}.items():
        result.append(
            Chart(
                id=f"seizures-{re.sub(r'[^a-z0-9]+', '-', unit.lower()).strip('-') or 'none'}",
                title=_("Seizures by substance per month"),
                labels=months if items else [],
                series=[Series(item, values) for item, values in items.items()],
                unit=unit_names().get(unit, unit),
                kind="line" if len(months) > 2 else "bar",
                language=language,
                category_title=_("Month"),
                empty_text=_("No seizures"),
            )
        )
    rows = stats.responses
    result.append(
        Chart(
            id="responses",
            title=_("Response to requests"),
            labels=[month_label(r["month"], calendar, language) for r in rows],
            series=[
                Series(_("answered on time"), [float(r["answered_on_time"]) for r in rows]),
                Series(_("answered late"), [float(r["answered_late"]) for r in rows]),
                Series(_("open"), [float(r["open"]) for r in rows]),
                Series(_("overdue"), [float(r["overdue"]) for r in rows]),
            ],
            unit=_("requests"),
            stacked=True,
            language=language,
            category_title=_("Month"),
            empty_text=_("No requests") if stats.requests_available else _("Requests are not available"),
        )
    )
    return result


def unit_names() -> dict[str, str]:
    """The seizure units as a reader names them (``incidents.domain`` units)."""
    return {
        "kg": _("kilograms"),
        "g": _("grams"),
        "t": _("tonnes"),
        "l": _("litres"),
        "units": _("units"),
        "packets": _("packets"),
        "vehicles": _("vehicles"),
        "head": _("head of livestock"),
    }
