"""The report PDF's text rules: Latin runs in right-to-left lines keep the line's order, stored bidi overrides
cannot reorder a line, and the core-font fallback never prints Arabic-script text as loose letters."""

from __future__ import annotations

from sarhad.incidents.report_pdf import RLM, _ReportPdf, bidi_text, pdf_text


def test_latin_runs_in_a_right_to_left_line_end_with_a_right_to_left_mark() -> None:
    assert bidi_text("گزارش · PK · ۱۶ آذر", rtl=True) == f"گزارش · PK{RLM} · ۱۶ آذر"
    assert bidi_text("بخش S5: hashish (kg)", rtl=True) == f"بخش S5{RLM}: hashish{RLM} (kg{RLM})"
    assert bidi_text("Section S5 · PK", rtl=False) == "Section S5 · PK"


def test_stored_bidi_overrides_are_dropped_before_drawing() -> None:
    pdf = _ReportPdf(tlp="amber", title="t", rtl=True, font="naskh", page_label=str)
    assert pdf._text("\u202eabc\u202c متن") == f"abc{RLM} متن"


def test_the_core_font_fallback_points_to_the_page_for_arabic_script() -> None:
    assert pdf_text("حمله به پاسگاه") == "[text in Urdu/Persian: see the report page]"
    assert pdf_text("Taftan – 5 km · ok") == "Taftan - 5 km - ok"
