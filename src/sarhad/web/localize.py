"""Presentation in the viewer's language beyond gettext: digits, numbers, internal codes as words, arrows.

Every page goes through :func:`localize_digits_in_html` in ``render``, so Persian pages show Persian digits in
all their text (counts, versions, hours, dates) without each template asking for it. Left alone: markup and
attribute values (form values and links must stay machine-readable), ``script``/``style``/``textarea``/
``code``/``pre``/``kbd``/``samp``/``bdi`` elements (JSON, editable values, identifiers and user text keep their
own digits), any element marked ``translate="no"``, and digits inside a token that also holds Latin letters
(identifiers such as ``S1`` or ``PK-S1-F1``). The ``title``, ``aria-label`` and ``alt`` attributes are text a
person reads or hears, so their digits are localized too. A Persian decimal takes the Arabic decimal separator.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal
from markupsafe import Markup

from sarhad.core.calendars import localize_digits
from sarhad.core.i18n import current_language, gettext


def N_(message: str) -> str:  # noqa: N802 - gettext's name for a msgid translated later
    """Mark a msgid for the catalogue without translating it now (it is translated when shown)."""
    return message


# Internal codes that reach pages, shown through ``{{ code|label }}``: states, precedences, kinds, roles,
# outcomes, acts. A code without an entry is shown as it is (a test renders every page and fails on English
# words left in Urdu or Persian pages, so a missing entry does not go unnoticed).
CODE_LABELS: dict[str, str] = {
    # hotline message states and timeline steps
    "queued": N_("queued"),
    "delivered": N_("delivered"),
    "seen": N_("seen"),
    "acknowledged": N_("acknowledged"),
    "closed": N_("closed"),
    "escalated": N_("escalated"),
    "link_down": N_("link down"),
    # hotline precedences (ACP 121 words, translated for the screen; the wire keeps the codes; English pages
    # write them in capitals through CSS, .prec { text-transform: uppercase })
    "FLASH": N_("flash"),
    "IMMEDIATE": N_("immediate"),
    "PRIORITY": N_("priority"),
    "ROUTINE": N_("routine"),
    # delivery of shared records
    "sent": N_("sent"),
    "receipted": N_("receipted"),
    # audit outcomes
    "ok": N_("ok"),
    "denied": N_("denied"),
    "failed": N_("failed"),
    # joint records and impact levels: decisions and acts
    "propose": N_("propose"),
    "accept": N_("accept"),
    "reject": N_("reject"),
    "pending": N_("not decided"),
    "expired": N_("expired"),
    # roles
    "admin": N_("administrator"),
    "commander": N_("commander"),
    "liaison_officer": N_("liaison officer"),
    "operator": N_("operator"),
    "analyst": N_("analyst"),
    "trade_officer": N_("trade officer"),
    "custody_officer": N_("custody officer"),
    "secretariat": N_("secretariat"),
    "auditor": N_("auditor"),
    # languages (a user's preference shown in a table)
    "en": N_("English"),
    "ur": N_("Urdu"),
    "fa": N_("Persian"),
    # request kinds, actions and timeline entries
    "information": N_("information"),
    "action": N_("action"),
    "search": N_("search"),
    "interdict": N_("interdict"),
    "detain": N_("detain"),
    "investigate": N_("investigate"),
    "created": N_("created"),
    "updated": N_("updated"),
    "answered": N_("answered"),
    "withdrawn": N_("withdrawn"),
    "received": N_("received"),
    "received_update": N_("new version received"),
    "answer_received": N_("answer received"),
    "withdrawn_by_origin": N_("withdrawn by the requesting party"),
    "request": N_("request"),
    "answer": N_("answer"),
    # exchange alert kinds (sarhad.exchange.alerts.raise_alert)
    "receipt_mismatch": N_("receipt mismatch"),
    "receipt_hook": N_("receipt not applied"),
    "seq_gap_repeated": N_("records missing on the link"),
    "quarantine": N_("record quarantined"),
    "equivocation": N_("two different records with one number"),
    # crossing modes
    "road": N_("road"),
    "rail": N_("rail"),
    "pedestrian": N_("pedestrian"),
    # units of seizures (sarhad.incidents.domain.UNITS)
    "kg": N_("kg"),
    "g": N_("g"),
    "t": N_("t"),
    "l": N_("l"),
    "units": N_("units"),
    "packets": N_("packets"),
    "vehicles": N_("vehicles"),
    "head": N_("head"),
}


# Joint-record subjects (a code on the wire), and the titles the node itself gives its joint records.
CODE_LABELS["border.section_impact"] = N_("impact level of a border section")
_OWN_JOINT_TITLES = {
    "border.section_impact": (
        re.compile(r"^Impact level of border section (?P<section>\S+)$"),
        N_("Impact level of border section %(section)s"),
    ),
}


def joint_title(record: Any) -> str:
    """A joint record's title for the viewer: the titles sarhad writes itself (``Impact level of border section
    S5``) in the viewer's language, any other title as its proposer wrote it."""
    title = str(_field(record, "title") or "")
    known = _OWN_JOINT_TITLES.get(str(_field(record, "subject") or ""))
    if known is not None:
        match = known[0].match(title)
        if match is not None:
            return gettext(known[1]) % match.groupdict()
    return title


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name, None)


WEEKDAY_NAMES = {
    "mon": N_("Mon"),
    "tue": N_("Tue"),
    "wed": N_("Wed"),
    "thu": N_("Thu"),
    "fri": N_("Fri"),
    "sat": N_("Sat"),
    "sun": N_("Sun"),
}


def weekly(schedule: Any) -> Markup:
    """``{{ crossing.hours|weekly }}``: opening days and hours in the viewer's language (``Mon, Thu 09:00–15:00``),
    each time span isolated left-to-right so ``09:00–15:00`` keeps its order on right-to-left pages."""
    if not schedule:
        return Markup("")
    if _field(schedule, "always_open"):
        return Markup("{}").format(gettext("Open day and night, every day"))
    comma = "، " if current_language.get() in ("ur", "fa") else ", "
    slots = []
    for slot in _field(schedule, "weekly") or ():
        days = comma.join(gettext(WEEKDAY_NAMES.get(d, d)) for d in slot.get("days", ()))
        slots.append(
            Markup('{} <span class="num" dir="ltr">{}–{}</span>').format(
                days, slot.get("open", ""), slot.get("close", "")
            )
        )
    return Markup("; ").join(slots)


def node_display_name(party: str, name: str, language: str) -> str:
    """A node's name for the viewer: a name that is the English name of the party's country (``Pakistan`` for
    PK, as ``sarhad demo`` and most deployments name a node) in the viewer's language (CLDR through Babel);
    any other name as configured."""
    try:
        english = Locale.parse("en").territories.get(party.upper())
        if english is not None and name.strip() == english and language in ("ur", "fa"):
            return str(Locale.parse(language).territories.get(party.upper(), name))
    except (ValueError, UnknownLocaleError):
        pass
    return name


def label(code: object) -> str:
    """The translated word for an internal code (``under_construction`` is never shown as such)."""
    if code is None:
        return ""
    text = str(code)
    msgid = CODE_LABELS.get(text)
    return gettext(msgid) if msgid is not None else text


def format_number(value: float | int | Decimal | str, language: str, decimals: int | None = None) -> str:
    """A number for the page: grouped and with the language's digits and separators (Persian ``۱٬۲۳۴٫۵``)."""
    if isinstance(value, str):
        value = Decimal(value)
    pattern = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals else "")
    locale = language if language in ("en", "ur", "fa") else "en"
    text = format_decimal(value, format=pattern, locale=locale, numbering_system="default")
    return localize_digits(text, language)


_TAGS = re.compile(r"(<!--.*?-->|<[^>]*>)", re.DOTALL)
_TAG_NAME = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9-]*)")
_TOKEN_WITH_DIGIT = re.compile(r"[0-9A-Za-z_./:#-]*[0-9][0-9A-Za-z_./:#-]*")
_LATIN_LETTER = re.compile(r"[A-Za-z]")
_DIGIT = re.compile(r"[0-9]")
_KEEP_DIGITS = frozenset({"script", "style", "textarea", "code", "pre", "kbd", "samp", "bdi"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


_DECIMAL = re.compile(r"^\d+\.\d+$")
_SHOWN_ATTRIBUTE = re.compile(r'(\s(?:title|aria-label|alt)=")([^"]*)(")')


def _localize_token(match: re.Match[str], language: str) -> str:
    token = match.group(0)
    if _LATIN_LETTER.search(token):
        return token
    if _DECIMAL.match(token) and language == "fa":
        token = token.replace(".", "\u066b")  # ARABIC DECIMAL SEPARATOR, as CLDR writes Persian decimals
    return localize_digits(token, language)


def localize_digits_in_text(text: str, language: str) -> str:
    """Digits of plain text in the language's numbering system, leaving identifiers (``S1``) alone."""
    return _TOKEN_WITH_DIGIT.sub(lambda m: _localize_token(m, language), text)


def localize_digits_in_html(html: str, language: str) -> str:
    """The page with the digits of its text nodes in the language's numbering system (see the module)."""
    if localize_digits("0", language) == "0":
        return html
    out: list[str] = []
    keep_tag: str | None = None  # the element whose digits are kept, while inside it
    depth = 0
    for index, piece in enumerate(_TAGS.split(html)):
        if index % 2 == 0:  # text between tags
            digits = keep_tag is None and _DIGIT.search(piece) is not None
            out.append(localize_digits_in_text(piece, language) if digits else piece)
            continue
        name_match = _TAG_NAME.match(piece)
        shown = 'title="' in piece or 'aria-label="' in piece or 'alt="' in piece
        if keep_tag is None and name_match is not None and shown and _DIGIT.search(piece):
            piece = _SHOWN_ATTRIBUTE.sub(  # what a tooltip or a screen reader says is text too
                lambda m: m.group(1) + localize_digits_in_text(m.group(2), language) + m.group(3), piece
            )
        out.append(piece)
        if name_match is None:
            continue  # comment or doctype
        closing, name = name_match.group(1) == "/", name_match.group(2).lower()
        if keep_tag is not None:
            if name == keep_tag:
                depth += -1 if closing else (0 if piece.endswith("/>") else 1)
                if depth == 0:
                    keep_tag = None
            continue
        if closing or name in _VOID or piece.endswith("/>"):
            continue
        if name in _KEEP_DIGITS or 'translate="no"' in piece:
            keep_tag, depth = name, 1
    return "".join(out)
