"""The daily situation report PDF in English, Urdu and Persian: shaped Arabic-script text, right-to-left
layout, the viewer's calendar, the TLP label on every page and a map of the day's incidents.

Each PDF is checked the way a reader sees it: rendered to PNG by poppler (``pdftoppm``) and read back as text
(``pdftotext``), both independent of fpdf2 and HarfBuzz.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import uharfbuzz as hb
from fastapi.testclient import TestClient
from fontTools.ttLib import TTFont
from incident_helpers import PASSWORD, body
from PIL import Image, ImageChops, ImageOps
from pypdf import PdfReader

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node
from sarhad.incidents import report_pdf, reports
from support.pairs import bearer

pytestmark = pytest.mark.skipif(
    shutil.which("pdftoppm") is None or not report_pdf.shaping_available(),
    reason="needs poppler-utils, fonts-noto-core and uharfbuzz (make install, scripts/install-system-deps.sh)",
)
PERSIAN_DESCRIPTION = "حمله مسلحانه به پاسگاه مرزی میرجاوه"
URDU_DESCRIPTION = "تفتان کے قریب چوکی پر مسلح حملہ"
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
DPI = 100


def _reader(node: Node, username: str, language: str, zone: str, calendar: str) -> None:
    with node.transaction() as session:
        accounts.create_user(
            session,
            node.clock,
            SystemActor(),
            username=username,
            password=PASSWORD,
            roles=["analyst"],
            language=language,
            time_zone=zone,
            calendar=calendar,
        )


@pytest.fixture
def day(client: TestClient, liaison: dict[str, str], pk: Node) -> str:
    first = client.post(
        "/api/v1/incidents",
        json=body(
            pk, type="armed_attack", impact_level="very_high", description=PERSIAN_DESCRIPTION, tlp="red"
        ),
        headers=liaison,
    )
    assert first.status_code == 201, first.text
    second = client.post(
        "/api/v1/incidents",
        json=body(pk, casualties={"security_injured": 2}, description=URDU_DESCRIPTION),
        headers=liaison,
    )
    assert second.status_code == 201, second.text
    return (pk.clock.now() - timedelta(hours=2)).astimezone(reports.node_zone(pk)).date().isoformat()


def _pdf(client: TestClient, pk: Node, day: str, language: str, zone: str, calendar: str) -> bytes:
    _reader(pk, f"reader_{language}", language, zone, calendar)
    headers = bearer(client, f"reader_{language}")
    answer = client.get(f"/api/v1/incidents/reports/daily?day={day}&format=pdf", headers=headers)
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF-")
    assert answer.headers["content-disposition"].startswith("attachment;")
    return bytes(answer.content)


def _text(pdf: Path) -> str:
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, check=True)
    return " ".join(BIDI_MARKS.sub("", out.stdout.decode("utf-8")).split())


def _pages(pdf: Path, mode: str = "L") -> list[Image.Image]:
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(prefix)], check=True)
    return [Image.open(p).convert(mode) for p in sorted(pdf.parent.glob(f"{prefix.name}-*.png"))]


def _pixels_near(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    red, green, blue = (
        band.point(lambda v, c=c: 255 if abs(v - c) <= tolerance else 0)
        for band, c in zip(image.split(), colour, strict=True)
    )
    both = ImageChops.multiply(ImageChops.multiply(red, green), blue)
    return both.histogram()[255]


def _mm(value: float) -> int:
    return round(value / 25.4 * DPI)


def _dark(image: Image.Image) -> int:
    histogram = image.histogram()  # 256 bins of a greyscale image
    return sum(histogram[:128])


def _outline(font: TTFont, name: str) -> tuple[tuple[float, float], ...]:
    glyf = font["glyf"]
    coordinates, _ends, _flags = glyf[name].getCoordinates(glyf)
    return tuple((round(x), round(y)) for x, y in coordinates)


def _embedded_outlines(pdf: Path, family: str) -> set[tuple[tuple[float, float], ...]]:
    """Outlines of the glyphs of the embedded (subset) font whose name ends with ``family`` (a subset renames
    and renumbers glyphs, so they are compared by shape)."""
    outlines: set[tuple[tuple[float, float], ...]] = set()
    for page in PdfReader(str(pdf)).pages:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            font = ref.get_object()
            if not str(font.get("/BaseFont", "")).endswith(family) or "/DescendantFonts" not in font:
                continue
            descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            subset = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
            outlines.update(_outline(subset, name) for name in subset.getGlyphOrder())
    return outlines


def _assert_shaped(pdf: Path, family: str, font_file: str, words: str) -> None:
    """The PDF holds the joined (contextual) letter forms that HarfBuzz picks for ``words``, not only the
    letters' stand-alone forms: each of those glyphs' outlines is in the embedded font."""
    path = str(report_pdf.font_dir() / font_file)
    original = TTFont(path)
    order = original.getGlyphOrder()
    font = hb.Font(hb.Face(hb.Blob.from_file_path(path)))
    buffer = hb.Buffer()
    buffer.add_str(words)
    buffer.guess_segment_properties()
    hb.shape(font, buffer, {})
    shaped = {order[info.codepoint] for info in buffer.glyph_infos}
    nominal = {order[font.get_nominal_glyph(ord(c)) or 0] for c in words}
    contextual = {_outline(original, name) for name in shaped - nominal} - {()}
    assert contextual, "the words must need contextual forms for this check to mean anything"
    nominal_outlines = {_outline(original, name) for name in nominal}
    assert contextual - nominal_outlines, "the joined forms must differ from the stand-alone ones"
    embedded = _embedded_outlines(pdf, family)
    missing = contextual - embedded
    assert not missing, f"{len(missing)} of {len(contextual)} joined forms are not in the PDF"


def _ink_box(page: Image.Image, top_mm: float, bottom_mm: float) -> tuple[int, int, int, int]:
    band = page.crop((0, _mm(top_mm), page.size[0], _mm(bottom_mm)))
    box = ImageOps.invert(band).point(lambda v: 255 if v > 127 else 0).getbbox()
    assert box is not None, "no text in the band"
    return box


def test_persian_report_is_shaped_right_to_left_in_solar_hijri(
    client: TestClient, pk: Node, day: str, tmp_path: Path
) -> None:
    path = tmp_path / "fa.pdf"
    path.write_bytes(_pdf(client, pk, day, "fa", "Asia/Tehran", "solar_hijri"))
    text = _text(path)
    # the words in logical (reading) order, as the viewer's language, calendar and digits write them
    assert "گزارش وضعیت روزانه" in text
    assert PERSIAN_DESCRIPTION in text
    assert "حمله مسلحانه" in text  # the type's Persian name
    assert re.search(
        r"[۰-۹]+ ?(فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند) ۱۴[۰-۹]{2}", text
    )
    assert "2026" not in text and "December" not in text
    pages = _pages(path)
    assert text.count("TLP:RED") == 2 * len(
        pages
    )  # the strictest label counted, header and footer of each page
    # right-to-left layout: the title's ink ends at the right margin and leaves the left half empty
    left, _top, right, _bottom = _ink_box(pages[0], 16.5, 23)
    width = pages[0].size[0]
    assert right > width - _mm(12) and left > width // 2, (left, right, width)
    assert _dark(pages[0].crop((width // 2, _mm(16.5), width, _mm(23)))) > 400
    # shaped: the embedded Naskh font holds the joined forms HarfBuzz picks for the title's words
    _assert_shaped(path, "NotoNaskhArabicBold", "NotoNaskhArabic-Bold.ttf", "گزارش وضعیت روزانه")
    _assert_shaped(path, "NotoNaskhArabic", "NotoNaskhArabic-Regular.ttf", PERSIAN_DESCRIPTION)


def test_urdu_report_is_shaped_in_nastaliq(client: TestClient, pk: Node, day: str, tmp_path: Path) -> None:
    path = tmp_path / "ur.pdf"
    path.write_bytes(_pdf(client, pk, day, "ur", "Asia/Karachi", "gregorian"))
    text = _text(path)
    # pdftotext splits Nastaliq words where the letters cascade; the letters stay in logical order
    letters = text.replace(" ", "")
    assert "روزانہصورتحالرپورٹ" in letters
    assert "سیکٹر" in letters
    pages = _pages(path)
    assert text.count("TLP:RED") == 2 * len(pages)
    left, _top, right, _bottom = _ink_box(pages[0], 15.5, 26)
    assert right > pages[0].size[0] - _mm(12) and left > pages[0].size[0] // 3
    _assert_shaped(path, "NotoNastaliqUrduBold", "NotoNastaliqUrdu-Bold.ttf", "روزانہ صورتحال رپورٹ")
    _assert_shaped(path, "NotoNastaliqUrdu", "NotoNastaliqUrdu-Regular.ttf", URDU_DESCRIPTION)


def test_english_report_has_map_tlp_and_the_viewers_zone(
    client: TestClient, pk: Node, day: str, tmp_path: Path
) -> None:
    path = tmp_path / "en.pdf"
    path.write_bytes(_pdf(client, pk, day, "en", "Asia/Karachi", "gregorian"))
    text = _text(path)
    assert "Daily situation report · PK" in text and "Map of the day's incidents" in text
    assert PERSIAN_DESCRIPTION in text  # Arabic-script text keeps its letters in an English report too
    assert "Asia/Karachi" in text and "Armed attack" in text
    pages = _pages(path)
    assert text.count("TLP:RED") == 2 * len(pages)
    raw = path.read_bytes()
    assert b"/Lang (en)" in raw


def test_report_tlp_is_the_strictest_counted_never_below_amber() -> None:
    assert reports.strictest_tlp(set()) == "amber"
    assert reports.strictest_tlp({"clear", "green"}) == "amber"
    assert reports.strictest_tlp({"green", "amber+strict"}) == "amber+strict"
    assert reports.strictest_tlp({"amber", "red"}) == "red"
    assert reports.strictest_tlp({"unknown"}) == "red"


def test_map_draws_the_border_and_the_days_incidents(
    client: TestClient, pk: Node, day: str, tmp_path: Path
) -> None:
    path = tmp_path / "map.pdf"
    path.write_bytes(_pdf(client, pk, day, "en", "UTC", "gregorian"))
    page = _pages(path, "RGB")[0]
    width = page.size[0]
    top = _mm(45)
    plate = page.crop((_mm(15), top, width - _mm(15), top + _mm(100)))
    # the incidents' dots in their impact colours (very high, medium) and the border line in ink
    assert (
        _pixels_near(plate, report_pdf.IMPACT_COLOURS["very_high"])
        + _pixels_near(plate, report_pdf.IMPACT_COLOURS["medium"])
        > 20
    )
    assert _pixels_near(plate, report_pdf.INK, 30) > 300
    # without points the dots are gone, the line stays
    with pk.sessions() as session:
        report = reports.daily_report(session, pk, SystemActor("t"), date.fromisoformat(day))
    assert len(report.points) == 2 and report.tlp == "red"
    report.points = []
    empty = tmp_path / "no-points.pdf"
    empty.write_bytes(report_pdf.daily_report_pdf(pk, report))
    plate = _pages(empty, "RGB")[0].crop((_mm(15), top, width - _mm(15), top + _mm(100)))
    assert _pixels_near(plate, report_pdf.IMPACT_COLOURS["medium"]) == 0
    assert _pixels_near(plate, report_pdf.INK, 30) > 300


def test_the_pdf_language_can_be_chosen_and_an_unknown_one_is_refused(
    client: TestClient, pk: Node, day: str, tmp_path: Path
) -> None:
    _reader(pk, "reader_en", "en", "Asia/Tehran", "solar_hijri")
    headers = bearer(client, "reader_en")
    url = f"/api/v1/incidents/reports/daily?day={day}&format=pdf"
    answer = client.get(f"{url}&language=fa", headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == f'attachment; filename="sitrep-PK-{day}-fa.pdf"'
    path = tmp_path / "chosen.pdf"
    path.write_bytes(answer.content)
    assert "گزارش وضعیت روزانه" in _text(path)
    refused = client.get(f"{url}&language=de", headers=headers)
    assert refused.status_code == 422 and "language" in refused.text
