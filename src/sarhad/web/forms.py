"""A refused form, field by field, in the user's words and language.

Every page form is checked with the API's pydantic models and the same services, so a refusal arrives as a
pydantic ``ValidationError`` (a list of errors, each with a location such as ``("seizures", 0, "unit")``), a
``SarhadError`` (one message; ``details["field"]`` names the field when a domain rule was broken) or a
``RuleError``. :class:`FormErrors` collects all of them for one form: which **input** each belongs to (the
form's own names, through a map from the model's paths), and a message a person understands, translated for
the viewer — never ``lon``, ``seizures[0].unit`` or a microsecond UTC time. The template macros in
``web/templates/_forms.html`` show a summary at the top linking to each field, and each message next to its
field, the field marked ``aria-invalid`` and described by its message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sarhad.accounts.services import Principal
from sarhad.core.calendars import format_datetime
from sarhad.core.errors import ErrorCode, RuleError, SarhadError
from sarhad.core.i18n import gettext as _

ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")


@dataclass
class FormErrors:
    """The problems of one submitted form: per input name, and those that belong to no single field."""

    labels: Mapping[str, str] = field(default_factory=dict)
    paths: Mapping[str, str] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    time_format: Callable[[datetime], str] | None = None

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)

    def __len__(self) -> int:
        return sum(len(m) for m in self.fields.values()) + len(self.general)

    def add(self, name: str | None, message: str) -> None:
        """A message for the input ``name`` (None or an input the form does not have: for the whole form)."""
        if name and name in self.labels:
            messages = self.fields.setdefault(name, [])
            if message not in messages:
                messages.append(message)
        elif message not in self.general:
            self.general.append(message)

    def has(self, name: str) -> bool:
        return name in self.fields

    def of(self, name: str) -> list[str]:
        return self.fields.get(name, [])

    def summary(self) -> list[tuple[str, str, str]]:
        """(input name or "", its label, message) in the form's order, then the general ones."""
        rows = [(name, self.labels[name], m) for name in self.labels for m in self.fields.get(name, [])]
        return rows + [("", "", m) for m in self.general]

    def input_for(self, path: str) -> str | None:
        """The form input of a model path (``seizures[0].unit`` -> ``seizures``): the longest known prefix."""
        parts = [p for p in re.split(r"[.\[\]]+", path) if p]
        while parts:
            key = ".".join("*" if p.isdigit() else p for p in parts)
            if key in self.paths:
                return self.paths[key]
            if key in self.labels:
                return key
            parts.pop()
        return None

    def add_exception(self, exc: ValidationError | SarhadError | RuleError) -> FormErrors:
        """Every problem of a refusal, each next to its field; returns itself."""
        if isinstance(exc, ValidationError):
            for error in exc.errors():
                path = [str(p) for p in error.get("loc", ())]
                message = validation_message(error)
                if path and path[-1] in COORDINATE_WORDS and str(error.get("type", "")).endswith(RANGE_KINDS):
                    message = COORDINATE_WORDS[path[-1]]()
                self.add(self.input_for(".".join(path)), self.words(message))
        elif isinstance(exc, RuleError):
            self.add(self.input_for(exc.field), self.words(rule_message(exc.message)))
        else:
            where = exc.details.get("field") if isinstance(exc.details, dict) else None
            message = exc.message
            if isinstance(where, str) and message.startswith(f"{where}: "):
                message = message[len(where) + 2 :]
            name = self.input_for(where) if isinstance(where, str) else None
            self.add(name, self.words(code_message(exc.code) or rule_message(message)))
        return self

    def words(self, message: str) -> str:
        """A message without machine times: each ISO 8601 time in it written in the viewer's calendar/zone."""
        formatter = self.time_format
        if formatter is None:
            return message

        def replace(match: re.Match[str]) -> str:
            try:
                moment = datetime.fromisoformat(match.group(0).replace("Z", "+00:00"))
            except ValueError:
                return match.group(0)
            return formatter(moment) if moment.tzinfo else match.group(0)

        return ISO_TIME.sub(replace, message)


COORDINATE_WORDS: dict[str, Callable[[], str]] = {
    "lat": lambda: _("A latitude is between -90 and 90 degrees."),
    "lon": lambda: _("A longitude is between -180 and 180 degrees."),
}
RANGE_KINDS = ("than", "than_equal")


def form_errors(
    principal: Principal, labels: Mapping[str, str], paths: Mapping[str, str] | None = None
) -> FormErrors:
    """An empty error list for a form with these inputs (name -> translated label, in the form's order) and
    model paths (``casualties.security_killed`` -> ``casualty_security_killed``); times in the viewer's
    calendar and zone."""

    def viewer_time(moment: datetime) -> str:
        return format_datetime(
            moment,
            principal.time_zone,
            principal.calendar,  # type: ignore[arg-type]
            principal.language,
            with_time=True,
        )

    return FormErrors(labels=labels, paths=paths or {}, time_format=viewer_time)


def validation_message(error: Mapping[str, Any]) -> str:
    """One pydantic error in the user's words and language."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("missing", "string_too_short") and ctx.get("min_length", 1) <= 1:
        return _("Fill this in.")
    if kind == "string_too_short":
        return _("Write at least %(n)s characters.") % {"n": ctx.get("min_length")}
    if kind == "string_too_long":
        return _("Too long: at most %(n)s characters.") % {"n": ctx.get("max_length")}
    if kind == "too_long":
        return _("Too many: at most %(n)s.") % {"n": ctx.get("max_length")}
    if kind == "too_short":
        return _("Choose at least %(n)s.") % {"n": ctx.get("min_length")}
    if kind in ("greater_than_equal", "greater_than"):
        return _("Too small: at least %(n)s.") % {"n": ctx.get("ge", ctx.get("gt"))}
    if kind in ("less_than_equal", "less_than"):
        return _("Too large: at most %(n)s.") % {"n": ctx.get("le", ctx.get("lt"))}
    if kind.startswith(("int_", "bool_")):
        return _("Write a whole number.")
    if kind.startswith(("float_", "decimal_", "finite_")):
        return _("Write a number.")
    if kind.startswith(("datetime_", "date_", "timezone_")):
        return _("Write a date and time.")
    if kind in ("literal_error", "enum", "dict_type", "list_type"):
        return _("Choose one of the options.")
    if kind == "string_pattern_mismatch":
        return _("This is not in the expected form.")
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        if isinstance(cause, RuleError):
            return rule_message(cause.message)
        text = str(error.get("msg", ""))
        return rule_message(text.removeprefix("Value error, ").removeprefix("Assertion failed, "))
    return _("This value is not accepted.")


def code_message(code: ErrorCode) -> str | None:
    """The user's words for refusals whose code says it all, or None to use the message."""
    known = {
        ErrorCode.STALE_VERSION: _(
            "Someone saved a newer version meanwhile: reload the page and make your change again."
        ),
        ErrorCode.UNKNOWN_INCIDENT: _("No such incident on this node: choose one from the list."),
        ErrorCode.FAR_FROM_BORDER: _(
            "The point is far from the border: check it, and tick the confirmation below if it is right."
        ),
        ErrorCode.NO_PEER: _("That party is not connected to this node."),
        ErrorCode.UNKNOWN_PEER: _("That party is not connected to this node."),
        ErrorCode.UNKNOWN_POSITION: _("Choose a position from the list."),
        ErrorCode.WEAK_PASSWORD: _("Choose a longer password that is not a common one and not your name."),
        ErrorCode.NOT_EDITABLE: _("This record can no longer be changed."),
        ErrorCode.UNKNOWN_SECTION: _("Choose a section from the list."),
    }
    return known.get(code)


RULE_WORDS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # The domain rules' English messages (kept as they are by the API) recognised here and written in the user's
    # words and language; every msgid is marked with _() so scripts/i18n.py extracts it. The most precise first.
    # tests/unit/web/test_rule_messages_translated.py reads every RuleError of the form packages and fails on a
    # message left in English on an Urdu or Persian page: a new rule needs a line here.
    (re.compile(r"deadline .* not in the future"), lambda m: _("The deadline must be in the future.")),
    (re.compile(r"in the future"), lambda m: _("This time is in the future; it must not be.")),
    (re.compile(r"is before \d+"), lambda m: _("Check the year: this date is too early.")),
    (
        re.compile(r"outside -90 to 90|between -90 and 90"),
        lambda m: _("A latitude is between -90 and 90 degrees."),
    ),
    (
        re.compile(r"outside -180 to 180|between -180 and 180"),
        lambda m: _("A longitude is between -180 and 180 degrees."),
    ),
    (re.compile(r"give both"), lambda m: _("Give both latitude and longitude, or neither.")),
    (
        re.compile(r"needs a time zone|needs deadline_at|give deadline=set with deadline_at"),
        lambda m: _("Write a date and time."),
    ),
    (re.compile(r"say why the incident is dismissed"), lambda m: _("Say why the incident is dismissed.")),
    (re.compile(r"needs a reason"), lambda m: _("Raising a section to critical needs a reason.")),
    (
        re.compile(r"describe what happened|must not be empty|needs a (title|text)|has no text|say what the"),
        lambda m: _("Fill this in."),
    ),
    (
        re.compile(r"is (\d+) characters; at most (\d+)|at most (\d+) characters|longer than (\d+) char"),
        lambda m: (
            _("Too long: at most %(n)s characters.") % {"n": next(g for g in m.groups()[1:] if g is not None)}
        ),
    ),
    (
        re.compile(r"source reliability is a letter"),
        lambda m: _("Source reliability is a letter from A to F."),
    ),
    (
        re.compile(r"information credibility is a digit"),
        lambda m: _("Information credibility is a digit from 1 to 6."),
    ),
    (re.compile(r"names the action"), lambda m: _("Choose the action you ask for.")),
    (
        re.compile(r"request for information names no action"),
        lambda m: _("A request for information names no action: leave the action empty."),
    ),
    (
        re.compile(r"sets its own time"),
        lambda m: _("This deadline sets its own time: leave the date and time empty."),
    ),
    (
        re.compile(
            r"(is|are) not one of|must be one of|use one of|unknown .*(type|action|category|status|precedence)"
        ),
        lambda m: _("Choose one of the options."),
    ),
    (re.compile(r"is not a snake_case code"), lambda m: _("Choose one of the options.")),
    (re.compile(r"cannot be negative"), lambda m: _("The quantity cannot be negative.")),
    (re.compile(r"quantity must be a number"), lambda m: _("Write a number.")),
    (re.compile(r"implausibly large"), lambda m: _("The quantity is implausibly large.")),
    (re.compile(r"name the substance or goods"), lambda m: _("Name what was seized.")),
    (re.compile(r"whole number from 0"), lambda m: _("Write a whole number, 0 or more.")),
    (re.compile(r"more than \d+ days away"), lambda m: _("The deadline is too far away.")),
    (
        re.compile(r"after it becomes valid|after the time of the proposal"),
        lambda m: _("The end must be after the start."),
    ),
    (
        re.compile(r"must say why it is late"),
        lambda m: _("The deadline has passed: say why the answer is late."),
    ),
    (re.compile(r"km from the border"), lambda m: code_message(ErrorCode.FAR_FROM_BORDER) or ""),
    (
        re.compile(r"an incident that is \S+ cannot be"),
        lambda m: _("The incident is not in a state that allows this."),
    ),
    (re.compile(r"a draft is not released"), lambda m: _("A draft is not shared: report it first.")),
    (re.compile(r"attachment needs a file name"), lambda m: _("The file has no name.")),
    (re.compile(r"attachment is empty"), lambda m: _("The file is empty.")),
    (
        re.compile(r"attachment is \d+ bytes; at most \d+ bytes \((\d+) MB\)"),
        lambda m: _("The file is too large: at most %(n)s MB.") % {"n": m.group(1)},
    ),
    (
        re.compile(r"content is not a JPEG"),
        lambda m: _("Attach a JPEG, PNG or WebP image or a PDF document."),
    ),
    (
        re.compile(r"a disguised file is refused"),
        lambda m: _("The file's name does not match its content: give it the right ending."),
    ),
    (
        re.compile(r"an incident reference is"),
        lambda m: _(
            "An incident reference is up to 100 letters, digits and . _ : / - (such as PK-2026-0042)."
        ),
    ),
    (re.compile(r"at most (\d+) steps"), lambda m: _("Too many steps: at most %(n)s.") % {"n": m.group(1)}),
    (
        re.compile(r"^between 0 and (\d+)$"),
        lambda m: _("Write a whole number from 0 to %(n)s.") % {"n": m.group(1)},
    ),
    (re.compile(r"deadline is a whole number of seconds"), lambda m: _("Write a whole number.")),
    (
        re.compile(r"(?:deadline is between |or )(\d+)(?: and |-)(\d+) seconds"),
        lambda m: (
            _("Write a number of seconds from %(low)s to %(high)s.") % {"low": m.group(1), "high": m.group(2)}
        ),
    ),
    (re.compile(r"'parent' or a position id"), lambda m: _("Choose a position from the list.")),
    (
        re.compile(r"critical level is temporary: give expires_at \(at most (\d+) h"),
        lambda m: (
            _("A critical level is temporary: give the time it ends (at most %(n)s hours ahead).")
            % {"n": m.group(1)}
        ),
    ),
    (
        re.compile(r"reverts to a non-critical level"),
        lambda m: _("Choose a level below critical to return to."),
    ),
    (
        re.compile(r"critical level lasts at most (\d+) hours"),
        lambda m: _("A critical level lasts at most %(n)s hours on one agreement.") % {"n": m.group(1)},
    ),
    (
        re.compile(r"only a critical level expires"),
        lambda m: _("Only a critical level expires: leave the end empty."),
    ),
    (
        re.compile(r"NUL characters|bidirectional (control|embedding)"),
        lambda m: _("Remove the invisible control characters from this text."),
    ),
)


def rule_message(message: str) -> str:
    """A domain rule's English message in the user's words and language when it is one the pages know, the
    message itself otherwise (still without machine times, see :meth:`FormErrors.words`)."""
    for pattern, words in RULE_WORDS:
        match = pattern.search(message)
        if match:
            return words(match)
    return message[:1].upper() + message[1:]


def error_page_text(code: ErrorCode, status: int) -> tuple[str, str]:
    """(title, explanation) of an error page in the viewer's language: what happened and what to do, never
    the code."""
    if code == ErrorCode.CSRF:
        return _("This form has expired"), _("Reload the page and send the form again.")
    if status == 403:
        return _("Not allowed"), _("Your role does not allow this. Ask an administrator if you need it.")
    if status == 404:
        return _("Not found"), _("It does not exist on this node, or it was withdrawn.")
    if status == 409:
        return _("Changed meanwhile"), code_message(code) or _(
            "Someone changed this meanwhile, or it is in a state that does not allow this. Reload the page."
        )
    if status == 413:
        return _("Too large"), _("What was sent is larger than this node accepts.")
    if status == 429:
        return _("Too many attempts"), _("Wait a minute, then try again.")
    if status in (400, 422):
        return _("This could not be done"), code_message(code) or _("Something in the request is not right.")
    return _("Something went wrong"), _("Try again; if it goes on, tell the node's operator.")


IMPORT_WORDS: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    (
        re.compile(r"(\d+) values for (\d+) columns"),
        lambda m: (
            _("This line has %(got)s values for %(want)s columns.") % {"got": m.group(1), "want": m.group(2)}
        ),
    ),
    (
        re.compile(r"is not an ISO 8601 time"),
        lambda m: _("Write a date and time with its zone, such as 2026-11-20T14:30:00+05:00."),
    ),
    (re.compile(r"is not yes or no"), lambda m: _("Write yes or no.")),
    (re.compile(r"is not category=count"), lambda m: _("Write category=count, such as security_injured=2.")),
    (
        re.compile(r"is not item:quantity:unit"),
        lambda m: _("Write item:quantity:unit, such as opium:120:kg."),
    ),
    (re.compile(r"is not a whole number"), lambda m: _("Write a whole number, 0 or more.")),
    (re.compile(r"is not a (finite )?number"), lambda m: _("Write a number.")),
    (re.compile(r"draft or reported"), lambda m: _("Write draft or reported.")),
    (
        re.compile(r"missing column\(s\): ([^(]+)"),
        lambda m: _("The first line must name the columns; missing: %(c)s.") % {"c": m.group(1).strip()},
    ),
    (
        re.compile(r"unknown column\(s\): ([^;]+)"),
        lambda m: _("Unknown columns: %(c)s. Check their spelling.") % {"c": m.group(1).strip()},
    ),
    (re.compile(r"the file is empty"), lambda m: _("The file is empty.")),
    (re.compile(r"a column is named twice"), lambda m: _("A column is named twice.")),
    (
        re.compile(r"^line (\d+): .*(quote|longer than)"),
        lambda m: _("Line %(n)s: a quote is not closed, or a value is far too long.") % {"n": m.group(1)},
    ),
)


def row_message(message: str) -> str:
    """A refused import row's (or file's) message in the user's words and language."""
    for pattern, words in IMPORT_WORDS:
        match = pattern.search(message)
        if match:
            return words(match)
    return rule_message(message)


# --- digits typed in Persian or Arabic-Indic into numeric and date fields ------------------------------------

# Persian (۰–۹) and Arabic-Indic (٠–٩) digits, the Arabic decimal separator (٫) and the Arabic thousands
# separator (٬, dropped), and the direction marks some keyboards type with them (dropped).
LATIN_DIGITS = str.maketrans(
    "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩٫−",
    "01234567890123456789.-",
    "٬\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
)
# The numeric, coordinate, time and schedule inputs of the page forms (POST bodies and GET filters), by name.
# Free text (descriptions, titles, subjects) keeps the digits the user typed. A new form with a number or a date
# adds its input here; tests/integration/incidents/test_form_rule_words_and_persian_digits.py checks that every
# such input of every template (type number/date/datetime-local, or inputmode numeric/decimal) is listed.
NUMERIC_FIELDS = frozenset(
    {
        "lat",
        "lon",
        "occurred_at",
        "persons_apprehended",
        "weeks",
        "days",
        "from",
        "to",
        "date",
        "expires_at",
        "deadline_at",
        "valid_from",
        "valid_until",
        "max_repeats",
        "flash",
        "immediate",
        "priority",
        "routine",
        "weekly",
        "period_start",
        "period_end",
    }
)
NUMERIC_PREFIXES = ("casualty_",)
PAGE_FORMS_ONLY = (
    "/api/",
    "/exchange/",
)  # JSON APIs and the protocol take numbers as numbers, not typed text
FORM_BODY_CAP = 1 << 20  # a page form is far smaller; a larger body is passed on untouched


def latin_digits(value: str) -> str:
    """``value`` with Persian and Arabic-Indic digits (and separators) as the ASCII the parsers read."""
    return value.translate(LATIN_DIGITS)


def is_numeric_field(name: str) -> bool:
    return name in NUMERIC_FIELDS or name.startswith(NUMERIC_PREFIXES)


def latin_digits_in_form(encoded: str) -> str | None:
    """An urlencoded form (a body or a query string) with the digits of its numeric fields made ASCII; None
    when nothing changes (the original is then passed on byte for byte)."""
    pairs = parse_qsl(encoded, keep_blank_values=True)
    changed = False
    out: list[tuple[str, str]] = []
    for name, value in pairs:
        if is_numeric_field(name):
            latin = latin_digits(value)
            changed = changed or latin != value
            value = latin
        out.append((name, value))
    return urlencode(out) if changed else None


class LatinDigitsMiddleware:
    """The one place where page forms' numbers typed in Persian or Arabic-Indic digits become ASCII: the query
    string of every page request and the body of every urlencoded page form, for the inputs
    :data:`NUMERIC_FIELDS` names, before any route reads them (a date, a coordinate or a count typed on a
    Persian keyboard is read like one typed on a Latin one). Multipart forms (file uploads) are left alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PAGE_FORMS_ONLY):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if query:
            rewritten = latin_digits_in_form(query.decode("latin-1"))
            if rewritten is not None:
                scope = {**scope, "query_string": rewritten.encode("ascii")}
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        if scope["method"] != "POST" or not content_type.startswith(b"application/x-www-form-urlencoded"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # the client went away: hand that on after what was read
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if not message.get("more_body", False) or size > FORM_BODY_CAP:
                break
        body = b"".join(chunks)
        more = size > FORM_BODY_CAP
        if first is None and not more:
            try:
                rewritten = latin_digits_in_form(body.decode("ascii"))
            except UnicodeDecodeError:
                rewritten = None  # not a well-formed urlencoded body: the route answers that
            if rewritten is not None:
                body = rewritten.encode("ascii")
                headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
                scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            nonlocal first
            if first is not None:
                pending, first = first, None
                return pending
            return await receive()

        await self.app(scope, replay, send)
