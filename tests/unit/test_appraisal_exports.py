"""The appraisal files read back by independent parsers: typed numbers, bold frozen headers,
formula-looking names as text, a BOM'd CSV, a chart in a CJK font, and a report."""

from __future__ import annotations

import csv
import io
import os
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from meetings.domain.appraisal import Appraisal, Period, Row, Tally, Weights
from meetings.exports import appraisal as export
from meetings.exports.appraisal import ChartFont, ExportError

YEAR = Period("2026", date(2026, 1, 1), date(2026, 12, 31))
HOSTILE = ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tTab", "\rCR"]


def _table() -> Appraisal:
    rows = [Row("EPB", "生态环境局", "李明", Tally(1, 1, held=6, present=4, proxy=1, excused=1,
                                                  proposed=3, accepted=2, eligible_votes=5,
                                                  votes_cast=5, actions=2, on_time=1, late=1),
                82.5, date(2026, 1, 1), date(2026, 6, 19)),
            Row("EPB", "生态环境局", "赵强", Tally(1, 2, held=3, present=3), 100.0,
                date(2026, 6, 20), date(2026, 12, 31)),
            Row("MSB", "市场监督管理局", "王芳", Tally(2, 3, held=9, absent=9), 0.0, YEAR.first,
                YEAR.last),
            *(Row(f"X{i}", name, name, Tally(3 + i, 4 + i), None, YEAR.first, YEAR.last)
              for i, name in enumerate(HOSTILE))]
    return Appraisal("=区首席信息官委员会", YEAR, Weights(), tuple(rows), date(2027, 1, 5))


def test_the_xlsx_is_typed_bold_frozen_and_sized() -> None:
    """Numbers come back as numbers, the header row is bold and frozen below the preamble,
    columns are wider than their header, and formula-looking text is a string as typed."""
    book = load_workbook(io.BytesIO(export.to_xlsx(_table())))
    sheet = book.active
    assert sheet is not None
    assert sheet.freeze_panes == "A3"
    header = [cell.value for cell in sheet[2]]
    assert export.headers() == header
    assert all(cell.font.bold for cell in sheet[2])
    first = [cell.value for cell in sheet[3]]
    assert first[:10] == ["EPB", "生态环境局", "李明", "2026-01-01", "2026-06-19", 6, 4, 1, 1, 0]
    assert first[-1] == 82.5
    assert all(isinstance(v, int) for v in first[5:-1])
    names = [sheet.cell(row=r, column=2) for r in range(6, 6 + len(HOSTILE))]
    assert [cell.value for cell in names] == HOSTILE
    assert {"s"} == {cell.data_type for cell in names}
    assert sheet["B1"].value == "=区首席信息官委员会"
    assert sheet["B1"].data_type == "s"
    assert (sheet.column_dimensions["B"].width or 0) >= len("市场监督管理局") * 2


def test_the_csv_has_a_bom_and_defused_text() -> None:
    """UTF-8 with a BOM; a preamble with the weights, then the header; formula-looking names
    start with an apostrophe; figures are plain numbers."""
    data = export.to_csv(_table(), language="zh")
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert lines[0][:4] == ["委员会", "'=区首席信息官委员会", "期间", "2026"]
    assert "出席 40" in lines[0][5]
    assert export.headers("zh") == lines[1]
    assert lines[2][:7] == ["EPB", "生态环境局", "李明", "2026-01-01", "2026-06-19", "6", "4"]
    assert ["'" + text for text in HOSTILE] == [line[1] for line in lines[5:]]
    assert lines[-1][-1] == ""  # no score: nothing to judge


def test_the_chart_uses_a_cjk_font(tmp_path: Path) -> None:
    """The chart is a PNG drawn with the CJK font found (Noto Sans CJK SC here); glyph warnings
    would fail the test, as warnings are errors."""
    font = export.cjk_font()
    assert "CJK" in font.name or "Hei" in font.name
    png = export.to_png(_table(), language="zh")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    target = Path(os.environ.get("APPRAISAL_CHART", tmp_path / "chart.png"))
    target.write_bytes(png)


def test_no_cjk_font_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a CJK font the chart is refused with the reason, never drawn with boxes."""
    monkeypatch.setattr(export, "CJK_FONTS", ("No Such Font 42",))
    with pytest.raises(ExportError, match="no CJK font"):
        export.cjk_font()

    def missing() -> ChartFont:
        raise ExportError("no CJK font found")

    with pytest.raises(ExportError):
        export.to_png(_table(), font=missing)


def test_an_empty_period_still_charts() -> None:
    """No CIO served: the chart says so rather than failing."""
    empty = Appraisal("C", YEAR, Weights(), (), date(2027, 1, 5))
    assert export.to_png(empty).startswith(b"\x89PNG")


def test_the_report_holds_the_weights_table_and_explanations() -> None:
    """python-docx reads back the weights line, the header, a person's row and their evidence."""
    table = _table()
    data = export.to_docx(table, explanations=[(table.rows[0], {"present": ["meeting 3"]})])
    document = Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    assert any("attendance 40" in text for text in texts)
    assert "Present: meeting 3" in texts
    grid = document.tables[0]
    assert export.headers() == [cell.text for cell in grid.rows[0].cells]
    assert [cell.text for cell in grid.rows[1].cells][:3] == ["EPB", "生态环境局", "李明"]
    assert grid.rows[1].cells[-1].text == "82.5"


def test_the_report_fits_its_table_on_a4_landscape_with_room_for_names() -> None:
    """The report is A4 landscape; its columns fit between the margins, and the department
    column is about three times a figure's, so names do not break mid-word."""
    document = Document(io.BytesIO(export.to_docx(_table())))
    section = document.sections[0]
    page, height = section.page_width, section.page_height
    left, right = section.left_margin, section.right_margin
    assert page is not None
    assert height is not None
    assert left is not None
    assert right is not None
    assert (round(page.cm, 1), round(height.cm, 1)) == (29.7, 21.0)
    widths = [column.width for column in document.tables[0].columns]
    assert sum(widths) <= page - left - right
    department, figure = widths[1], widths[5]
    assert department > 2.5 * figure
