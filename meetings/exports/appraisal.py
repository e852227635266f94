"""The appraisal table as files: .xlsx, .csv, a PNG chart and a .docx report.

Every file states how the score was made (the weights and the excused rule). Text that a
spreadsheet could take for a formula (a department named ``=...``) is written as text; numbers
are typed cells. The chart draws Chinese names with a CJK font found on the machine, and refuses
to draw boxes when there is none.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meetings.domain.appraisal import FIGURES, Appraisal, Row, Weights, spreadsheet_safe

# The CJK fonts tried, in order; fonts-noto-cjk provides the first on Debian.
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC")


class ExportError(RuntimeError):
    """A file cannot be made properly on this machine (e.g. no CJK font for the chart)."""


_HEADERS = {
    "en": {"code": "Code", "department": "Department", "member": "CIO", "since": "From",
           "until": "To", "held": "Meetings held", "present": "Present", "proxy": "By proxy",
           "excused": "Excused", "absent": "Absent", "proposed": "Items proposed",
           "accepted": "Items accepted", "major": "Major items", "eligible_votes": "Votes eligible",
           "votes_cast": "Votes cast", "actions": "Actions assigned", "on_time": "Done on time",
           "late": "Done late", "open": "Open", "overdue": "Overdue", "score": "Score"},
    "zh": {"code": "代码", "department": "部门", "member": "首席信息官", "since": "起",
           "until": "止", "held": "召开会议", "present": "亲自出席", "proxy": "代理出席",
           "excused": "请假", "absent": "缺席", "proposed": "提出议题", "accepted": "议题采纳",
           "major": "重大议题", "eligible_votes": "应投票", "votes_cast": "已投票",
           "actions": "分配事项", "on_time": "按期完成", "late": "逾期完成", "open": "未完成",
           "overdue": "已逾期", "score": "得分"},
}
_TEXT = {
    "en": {"title": "Performance appraisal", "council": "Council", "period": "Period",
           "weights": "Weights", "excused_neutral": "excused absences are left out",
           "excused_absent": "excused absences count as absent", "attendance": "attendance",
           "agenda": "agenda", "votes": "votes", "actions": "actions on time",
           "none": "no CIO served in this period", "proxy_note": "A proxy is not attendance."},
    "zh": {"title": "绩效考核", "council": "委员会", "period": "期间", "weights": "权重",
           "excused_neutral": "请假不计入", "excused_absent": "请假按缺席计",
           "attendance": "出席", "agenda": "议题", "votes": "投票", "actions": "按期完成事项",
           "none": "本期间无首席信息官任职", "proxy_note": "代理出席不计为出席。"},
}
_TEXT_COLUMNS = ("code", "department", "member", "since", "until")
_DOCX_COLUMN_CM = {"code": 1.2, "department": 3.2, "member": 1.8, "since": 1.45, "until": 1.45}
_DOCX_FIGURE_CM = 1.15  # fifteen figures and the score: 27.5 cm in A4 landscape's 27.7


def _language(language: str) -> str:
    return language if language in _HEADERS else "en"


def weights_text(weights: Weights, language: str = "en") -> str:
    """One line saying how the score is made, for every output."""
    words = _TEXT[_language(language)]
    excused = words["excused_neutral"] if weights.excused_neutral else words["excused_absent"]
    return (f"{words['attendance']} {weights.attendance}, {words['agenda']} {weights.agenda}, "
            f"{words['votes']} {weights.votes}, {words['actions']} {weights.actions}; {excused}. "
            f"{words['proxy_note']}")


def headers(language: str = "en") -> list[str]:
    h = _HEADERS[_language(language)]
    return [h[name] for name in (*_TEXT_COLUMNS, *FIGURES, "score")]


def _as_is(text: str) -> str:
    return text


def _cells(row: Row, safe: Callable[[str], str] = _as_is) -> list[str | int | float | None]:
    texts: list[str | int | float | None] = [
        safe(row.department_code), safe(row.department_name), safe(row.member_name),
        row.since.isoformat(), row.until.isoformat()]
    return [*texts, *(getattr(row.tally, name) for name in FIGURES), row.score]


def _preamble(table: Appraisal, language: str,
              safe: Callable[[str], str] = _as_is) -> list[str]:
    words = _TEXT[_language(language)]
    return [words["council"], safe(table.council_name), words["period"], table.period.label,
            words["weights"], weights_text(table.weights, language)]


def to_csv(table: Appraisal, *, language: str = "en") -> bytes:
    """UTF-8 with a BOM, so Excel opens Chinese text correctly; the header row comes after a line
    naming the council, the period and the weights."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(_preamble(table, language, spreadsheet_safe))
    writer.writerow(headers(language))
    for row in table.rows:
        writer.writerow(["" if cell is None else cell for cell in _cells(row, spreadsheet_safe)])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(table: Appraisal, *, language: str = "en") -> bytes:
    """One sheet: the preamble line, the bold frozen header row, one typed row per person."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = _TEXT[_language(language)]["title"]
    sheet.append(_preamble(table, language))
    sheet.append(headers(language))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append(_cells(row))
    # Every cell written as a string stays a string, shown as typed: openpyxl would take a
    # leading "=" for a formula, and the quote prefix keeps Excel from re-reading it on edit.
    for cells in sheet.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
                cell.quotePrefix = True
    sheet.freeze_panes = "A3"
    widths = [len(h) for h in headers(language)]
    for row in table.rows:
        for index, value in enumerate(_cells(row)):
            widths[index] = max(widths[index], _display_width(str(value or "")))
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(60, width + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _display_width(text: str) -> int:
    # A CJK character takes about two columns.
    return sum(2 if ord(char) > 0x2E80 else 1 for char in text)


@dataclass(frozen=True, slots=True)
class ChartFont:
    name: str
    path: str


def _installed_cjk_font() -> ChartFont | None:
    from matplotlib import font_manager

    for name in CJK_FONTS:
        try:
            path = font_manager.findfont(font_manager.FontProperties(family=name),
                                         fallback_to_default=False)
        except ValueError:
            continue
        return ChartFont(name, path)
    return None


def cjk_font() -> ChartFont:
    """The first CJK font matplotlib can find; `ExportError` when there is none."""
    from matplotlib import font_manager

    found = _installed_cjk_font()
    if found is None:
        # matplotlib lists the system's fonts once and caches the list on disk, so a CJK font
        # installed after that (apt-get install fonts-noto-cjk) stays unseen: look again.
        for entry in font_manager.FontManager().ttflist:
            if entry.name in CJK_FONTS:
                font_manager.fontManager.addfont(entry.fname)
        found = _installed_cjk_font()
    if found is not None:
        return found
    raise ExportError("no CJK font found for the chart (install fonts-noto-cjk): Chinese "
                      "department names would be drawn as boxes")


def to_png(table: Appraisal, *, language: str = "en",
           font: Callable[[], ChartFont] = cjk_font) -> bytes:
    """Per person, a bar of the meetings held stacked by attendance kind, and the score."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import MaxNLocator

    chosen = font()
    properties = FontProperties(fname=chosen.path)
    h = _HEADERS[_language(language)]
    words = _TEXT[_language(language)]
    rows: Sequence[Row] = table.rows
    # Tabs and line breaks have no glyph; a label is one line of text.
    labels = [" ".join(f"{r.department_code} {r.department_name} · {r.member_name}".split())
              for r in rows]
    height = max(3.0, 1.2 + 0.45 * len(rows))
    figure = Figure(figsize=(12, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    attendance, scores = figure.subplots(1, 2, sharey=True, width_ratios=[3, 1])
    positions = list(range(len(rows)))
    left = [0] * len(rows)
    colours = {"present": "#2e7d32", "proxy": "#f9a825", "excused": "#90a4ae",
               "absent": "#c62828"}
    for kind, colour in colours.items():
        counts = [getattr(r.tally, kind) for r in rows]
        attendance.barh(positions, counts, left=left, color=colour, label=h[kind])
        left = [a + b for a, b in zip(left, counts, strict=True)]
    attendance.set_yticks(positions, labels, fontproperties=properties)
    attendance.invert_yaxis()
    attendance.set_xlabel(h["held"], fontproperties=properties)
    attendance.xaxis.set_major_locator(MaxNLocator(integer=True))  # meetings come whole
    # Below the plots, not over them: the longest bar reaches any corner of the axes.
    figure.legend(*attendance.get_legend_handles_labels(), prop=properties,
                  loc="outside lower center", ncols=len(colours), frameon=False)
    score_values = [r.score or 0.0 for r in rows]
    scores.barh(positions, score_values, color="#1565c0")
    for position, row in zip(positions, rows, strict=True):
        scores.text(min(row.score or 0.0, 80) + 2, position,
                    "—" if row.score is None else f"{row.score:g}", va="center",
                    color="white" if (row.score or 0.0) > 80 else "black",
                    fontproperties=properties)
    scores.set_xlim(0, 100)
    scores.set_xlabel(h["score"], fontproperties=properties)
    figure.suptitle(f"{words['title']} · {table.council_name} · {table.period.label}\n"
                    f"{words['weights']}: {weights_text(table.weights, language)}",
                    fontproperties=properties)
    if not rows:
        attendance.text(0.5, 0.5, words["none"], transform=attendance.transAxes, ha="center",
                        fontproperties=properties)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


def to_docx(table: Appraisal, *, language: str = "en",
            explanations: Sequence[tuple[Row, Mapping[str, Sequence[str]]]] = ()) -> bytes:
    """A report: title, how the score is made, the table, and per person the records behind
    each figure when ``explanations`` are given."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    from meetings.exports.docx import set_side_cell_margins

    words = _TEXT[_language(language)]
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = "Noto Sans CJK SC"
    normal.element.rPr.rFonts.set(qn("w:eastAsia"), "Noto Sans CJK SC")
    # Twenty-one columns: A4 landscape with narrow margins keeps the figures readable.
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(1.0)
    document.add_heading(f"{words['title']}: {table.council_name} · {table.period.label}", level=1)
    document.add_paragraph(f"{words['weights']}: {weights_text(table.weights, language)}")
    names = headers(language)
    grid = document.add_table(rows=1, cols=len(names))
    grid.style = "Table Grid"
    grid.autofit = False
    # Equal columns broke "Department" and the names mid-word; the figures need little room.
    widths = [Cm(_DOCX_COLUMN_CM.get(name, _DOCX_FIGURE_CM))
              for name in (*_TEXT_COLUMNS, *FIGURES, "score")]
    for column, width in zip(grid.columns, widths, strict=True):
        column.width = width
    # Word's default 1.9 mm padding each side leaves a 1 cm column six letters of a heading.
    set_side_cell_margins(grid._tbl.tblPr, twips=45)

    def fill(cells: Sequence[Any], texts: Sequence[str], *, size: float, bold: bool) -> None:
        for cell, width, text in zip(cells, widths, texts, strict=True):
            cell.width = width  # Word reads the cell's width, LibreOffice the grid's
            cell.text = text
            for run in cell.paragraphs[0].runs:
                run.bold = bold
                run.font.size = Pt(size)

    fill(grid.rows[0].cells, names, size=5.5, bold=True)
    for row in table.rows:
        fill(grid.add_row().cells, ["—" if value is None else str(value) for value in _cells(row)],
             size=7, bold=False)
    if not table.rows:
        document.add_paragraph(words["none"])
    for row, evidence in explanations:
        document.add_heading(f"{row.department_code} {row.department_name} · {row.member_name}",
                             level=2)
        for figure, refs in evidence.items():
            if refs:
                document.add_paragraph(f"{_HEADERS[_language(language)][figure]}: "
                                       + ", ".join(refs), style="List Bullet")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
