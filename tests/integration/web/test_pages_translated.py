"""Every page, as every role that can reach it, in Urdu and in Persian, with the demo's data: no English left.

The two demo nodes (PK and IR) are made by ``sarhad demo``'s own ``prepare`` (reference scenario, a user per role,
incidents, requests, impact levels), then a FLASH hotline message and a bulletin go from PK to IR and back
through the exchange's own receive path, so each side has own and received records. For each role the test
signs in, switches the user's language, and follows every link of the pages it may see (a few instances of each
route shape), and fails on:

- a msgid looked up through gettext with no translation in the catalogue (a recording catalogue);
- an English msgid of the catalogues or of the source (templates and Python, as ``scripts/i18n.py`` extracts)
  left in the page's visible text: text nodes and the ``title``, ``placeholder``, ``aria-label`` and ``alt``
  attributes, leaving out what is data (``bdi``, ``code``, ``pre``, ``textarea``, ``translate="no"``, scripts);
- a Latin word that is not a name, a unit or a word the translators kept in their own translations (a
  command such as ``sarhad keys rotate``): English that was never marked for translation;
- an internal code (``under_construction``) or a raw ISO timestamp in the visible text;
- on Persian pages, a Western digit outside data and identifiers.
"""

from __future__ import annotations

import gettext as gettext_module
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from rich.console import Console

from sarhad.app import create_app
from sarhad.core import i18n
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.demo import PARTIES, ROLE_USERNAMES, prepare
from sarhad.requests.demo import deliver_in_process
from support.pages import post_login

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # 18 sign-ins, a few hundred pages per language

SOURCE = Path(i18n.__file__).resolve().parent.parent
LANGUAGES = ("ur", "fa")
SKIP_PREFIXES = ("/api/", "/static/", "/logout", "/lang/", "/healthz", "/metrics", "/hotline/static/")
SKIP_SUFFIXES = (".js", ".css", ".png", ".svg", ".pdf", ".csv", ".json", ".geojson")
PER_SHAPE = 2  # instances of one route shape (e.g. /incidents/{origin}/{id}) visited per role
ID_PART = re.compile(r"^(?:[0-9a-f]{8,}.*|[0-9a-f-]{20,}|\d+)$", re.IGNORECASE)
# Data, not text: scripts and styles, what a user typed or edits, identifiers, charts (ui-reports' own labels),
# and the <title>, which names the record a page shows (its <h1> repeats the title's words and is checked).
DATA_TAGS = frozenset(
    {"script", "style", "textarea", "code", "pre", "kbd", "samp", "bdi", "svg", "canvas", "title"}
)
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
SHOWN_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
ISO_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
LATIN_WORD = re.compile(r"(?<![\w.:/-])[A-Za-z][a-z]{2,}(?![\w.:/-])")
SNAKE_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")
WESTERN_DIGIT_TOKEN = re.compile(r"[0-9A-Za-z_./:#-]*[0-9][0-9A-Za-z_./:#-]*")
LATIN = re.compile(r"[A-Za-z]")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")
# English words that are names rather than text, and may stand untranslated in any language.
NOT_TEXT = frozenset({"sarhad", "PK", "IR", "JSON", "PDF", "CSV", "GeoJSON", "TLP", "km", "UTC", "sha256"})


# --- what counts as English text ----------------------------------------------------------------------------


def _catalogue(locale: str) -> dict[str, str]:
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    out: dict[str, str] = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid in ids:
            out[msgid] = strings[0] or ""
    return out


def _source_msgids() -> set[str]:
    methods = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "add_nav_item": (2,), "N_": None}
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(SOURCE), methods, options, keywords=keywords
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.add(msgid)
    return found


def _english_patterns(locale: str) -> list[tuple[str, re.Pattern[str]]]:
    """A pattern per English msgid that a page of the locale must not show (those translated to themselves,
    such as ``JSON``, and names are allowed)."""
    catalogue = _catalogue(locale)
    patterns = []
    for msgid in sorted(set(catalogue) | _source_msgids()):
        if catalogue.get(msgid) == msgid or msgid in NOT_TEXT:
            continue
        pieces = [re.escape(p.strip()) for p in PLACEHOLDER.split(msgid)]
        body = r"\s*.+?\s*".join(p for p in pieces if p)
        # Letters of the text around the placeholders: "%(n)s d" is one letter, which any hash or code holds.
        if len(re.sub(r"[^A-Za-z]", "", PLACEHOLDER.sub("", msgid))) < 2 or not body:
            continue
        patterns.append((msgid, re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])")))
    return patterns


# --- the visible text of a page ------------------------------------------------------------------------------


class VisibleText(HTMLParser):
    """Text nodes and shown attributes of a page, outside data elements; links to follow."""

    def __init__(self, locale: str) -> None:
        super().__init__(convert_charrefs=True)
        self.locale = locale
        self.texts: list[tuple[str, str]] = []  # (text, where: "text" or the attribute's name)
        self.links: list[str] = []
        self._data_depth: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if self._data_depth:
            if tag == self._data_depth[0] and tag not in VOID:
                self._data_depth.append(tag)
            return
        # an element in another language on purpose (the language switcher's "English") is not text to translate
        other_language = values.get("lang") not in (None, self.locale) and tag != "html"
        if values.get("translate") == "no" or tag in DATA_TAGS or other_language:
            if tag not in VOID:
                self._data_depth.append(tag)
            return
        for name in SHOWN_ATTRIBUTES:
            if values.get(name):
                self.texts.append((values[name] or "", name))

    def handle_endtag(self, tag: str) -> None:
        if self._data_depth and tag == self._data_depth[0]:
            self._data_depth.pop()

    def handle_data(self, data: str) -> None:
        if not self._data_depth and data.strip():
            self.texts.append((" ".join(data.split()), "text"))


@dataclass
class Findings:
    problems: dict[str, set[str]] = field(default_factory=dict)

    def add(self, kind: str, what: str, where: str) -> None:
        self.problems.setdefault(f"{kind}: {what}", set()).add(where)

    def report(self) -> str:
        lines = [
            f"{key}  (on {', '.join(sorted(pages)[:3])})" for key, pages in sorted(self.problems.items())
        ]
        return f"{len(lines)} problems:\n" + "\n".join(lines[:150])


def kept_latin_words(locale: str) -> frozenset[str]:
    """Latin words the translators kept in their translations on purpose (commands such as ``sarhad keys
    rotate``, ``TLP``): not English left behind when a page shows them."""
    words = {w for text in _catalogue(locale).values() for w in LATIN_WORD.findall(text)}
    return frozenset(words | NOT_TEXT)


def check_page(
    html: str,
    where: str,
    locale: str,
    patterns: list[tuple[str, re.Pattern[str]]],
    findings: Findings,
    allowed_latin: frozenset[str] = NOT_TEXT,
) -> list[str]:
    parser = VisibleText(locale)
    parser.feed(html)
    for text, kind in parser.texts:
        for msgid, pattern in patterns:
            if pattern.search(text):
                findings.add("English", repr(msgid), where)
        for word in LATIN_WORD.findall(text):
            if word not in allowed_latin:
                findings.add("Latin word", word, where)
        for code in SNAKE_CODE.findall(text):
            findings.add("internal code", code, where)
        if ISO_TIMESTAMP.search(text):
            findings.add("ISO timestamp", text[:60], where)
        if locale == "fa" and kind != "placeholder":  # a placeholder shows the digits the field takes
            for token in WESTERN_DIGIT_TOKEN.findall(text):
                if not LATIN.search(token):
                    findings.add("Western digits", token, where)
    return parser.links


# --- the demo, with a hotline message and a bulletin each way ------------------------------------------------


@dataclass
class Demo:
    nodes: dict[str, Node]
    credentials: dict[str, dict[str, str]]
    apps: dict[str, Any] = field(default_factory=dict)  # one app per node (its metrics register once)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:300]
    return match.group(1)


def _add_traffic(demo: Demo) -> None:
    """A FLASH hotline message PK -> IR, acknowledged; a bulletin PK -> IR; delivered both ways."""
    pk, ir = demo.nodes["PK"], demo.nodes["IR"]
    with TestClient(demo.apps["PK"]) as client:
        assert post_login(client, "pk.commander", demo.credentials["PK"]["pk.commander"]).status_code == 303
        compose = client.get("/hotline/compose").text
        channel = re.search(r'<option value="([^"]+)"', compose)
        assert channel, compose[:500]
        sent = client.post(
            "/hotline/compose",
            data={
                "csrf_token": _csrf(compose),
                "channel": channel.group(1),
                "precedence": "FLASH",
                "subject": "Convoy at the crossing",
                "body": "Twelve trucks waiting since 14:00.",
            },
            follow_redirects=False,
        )
        assert sent.status_code == 303, sent.text[:500]
        client.cookies.clear()
        assert post_login(client, "pk.liaison", demo.credentials["PK"]["pk.liaison"]).status_code == 303
        form = client.get("/bulletins/new").text
        made = client.post(
            "/bulletins/new",
            data={
                "csrf_token": _csrf(form),
                "title": "Market day moved",
                "body": "The market opens on Thursday this week.",
                "tlp": "green",
                "handling": "no_onward",
                "release_to": "IR",
                "valid_from": "2026-12-01T08:00",
                "valid_until": "2026-12-31T18:00",
            },
            follow_redirects=False,
        )
        assert made.status_code == 303, made.text[:500]
    deliver_in_process(pk, ir)
    with TestClient(demo.apps["IR"]) as client:
        assert post_login(client, "ir.commander", demo.credentials["IR"]["ir.commander"]).status_code == 303
        inbox = client.get("/hotline").text
        message = re.search(r'href="/hotline/messages/([^"]+)"', inbox)
        assert message, inbox[:500]
        thread = client.get(f"/hotline/messages/{message.group(1)}").text
        acked = client.post(
            f"/hotline/messages/{message.group(1)}/ack",
            data={"csrf_token": _csrf(thread), "reply": "Received"},
            follow_redirects=False,
        )
        assert acked.status_code == 303, acked.text[:500]
    deliver_in_process(ir, pk)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    root = tmp_path_factory.mktemp("demo")
    credentials = prepare(root, Console(quiet=True))
    nodes = {p.code: build_node(load_settings(root / p.code.lower())) for p in PARTIES}
    built = Demo(
        nodes, credentials, {code: create_app(node, run_workers=False) for code, node in nodes.items()}
    )
    try:
        _add_traffic(built)
        yield built
    finally:
        for node in nodes.values():
            node.dispose()


# --- the crawl ----------------------------------------------------------------------------------------------


class RecordingTranslations(gettext_module.NullTranslations):
    """The real catalogue, noting every msgid it has no translation for."""

    looked_up = 0

    def __init__(self, real: gettext_module.NullTranslations, known: set[str], missing: set[str]) -> None:
        super().__init__()
        self.real, self.known, self.missing = real, known, missing

    def gettext(self, message: str) -> str:
        RecordingTranslations.looked_up += 1
        if message.strip() and message not in self.known:
            self.missing.add(message)
        return self.real.gettext(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        if msgid1 not in self.known:
            self.missing.add(msgid1)
        return self.real.ngettext(msgid1, msgid2, n)


def _shape(path: str) -> str:
    return "/".join("{id}" if ID_PART.match(part) or len(part) > 24 else part for part in path.split("/"))


def _crawl(client: TestClient, locale: str, role: str, patterns: Any, findings: Findings) -> int:
    allowed_latin = kept_latin_words(locale)
    queue, seen, shapes = ["/"], set(), {}  # type: ignore[var-annotated]
    while queue and len(seen) < 120:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        shape = _shape(urlsplit(path).path)
        shapes[shape] = shapes.get(shape, 0) + 1
        if shapes[shape] > PER_SHAPE:
            continue
        answer = client.get(path)
        if answer.status_code in (403, 404) or "text/html" not in answer.headers.get("content-type", ""):
            continue
        assert answer.status_code == 200, (path, role, answer.status_code, answer.text[:300])
        where = f"{role}@{path}"
        for link in check_page(answer.text, where, locale, patterns, findings, allowed_latin):
            target = urlsplit(urljoin(path, link))
            if target.netloc or not target.path.startswith("/"):
                continue
            if target.path.startswith(SKIP_PREFIXES) or target.path.endswith(SKIP_SUFFIXES):
                continue
            query = f"?{target.query}" if target.query and "format=" not in target.query else ""
            queue.append(target.path + query)
    return len(seen)


@pytest.mark.parametrize("locale", LANGUAGES)
def test_no_english_left_on_any_page_for_any_role(
    demo: Demo, locale: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing: set[str] = set()
    real = i18n.translations
    known = {msgid for msgid, string in _catalogue(locale).items() if string}

    def recording(code: str) -> gettext_module.NullTranslations:
        return RecordingTranslations(real(code), known, missing) if code == locale else real(code)

    monkeypatch.setattr(i18n, "translations", recording)
    patterns = _english_patterns(locale)
    findings = Findings()
    pages = 0
    for party in demo.nodes:
        with TestClient(demo.apps[party]) as client:
            for short in ROLE_USERNAMES.values():
                username = f"{party.lower()}.{short}"
                client.cookies.clear()
                assert post_login(client, username, demo.credentials[party][username]).status_code == 303
                me = client.get("/me").text
                switched = client.post(
                    "/me/language",
                    data={"csrf_token": _csrf(me), "language": locale, "next": "/me"},
                    follow_redirects=False,
                )
                assert switched.status_code == 303, switched.text[:300]
                pages += _crawl(client, locale, username, patterns, findings)
    for msgid in sorted(missing):
        findings.add("no translation", repr(msgid), "gettext")
    assert pages > 60, pages
    assert RecordingTranslations.looked_up > 1000  # the pages did translate through the recording catalogue
    assert not findings.problems, findings.report()
