"""Minutes as a Word document (python-docx), in English or in the GB/T 9704-2012 纪要 layout.

Every paragraph and table gets a named style and nothing else, so the secretariat restyles the
whole document (or supplies its own template) without touching the text. In the Chinese style the
fonts are written into the styles and the document defaults with their East-Asian slot
(``w:eastAsia``) and every theme-font reference is removed: Word, WPS and LibreOffice otherwise
resolve a theme font (Calibri/等线) before they look at the style's own font.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.styles.style import BaseStyle, CharacterStyle, ParagraphStyle
from docx.table import Table

from meetings.domain.minutes import (
    ActionLine,
    AgendaLine,
    AttendanceLine,
    Guest,
    Minutes,
    MotionLine,
    Topic,
)
from meetings.domain.model import (
    ActionStatus,
    AttendanceStatus,
    Choice,
    MajorityBase,
    MajorityRule,
    MeetingKind,
    MotionKind,
    NoteKind,
    Role,
)

Style = Literal["en", "gbt9704"]
STYLES: tuple[Style, ...] = ("en", "gbt9704")
CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

# The paragraph styles a template must define: headings are what Word's navigation pane and
# table of contents follow, so the writer uses Word's own names for them.
TEMPLATE_STYLES = ("Normal", "Title", "Heading 1", "Heading 2")
# Styles of the writer's own, added to a template that lacks them.
_OWN = ("Minutes Subtitle", "Minutes Attendance", "Minutes Table Text", "Minutes Table Header",
        "Minutes Label", "Minutes Page Number Odd", "Minutes Page Number Even")
_TABLE = "Minutes Table"


class TemplateError(ValueError):
    """The template cannot be used; ``missing`` names the style it lacks, if that is why."""

    def __init__(self, message: str, missing: str = "") -> None:
        super().__init__(message)
        self.missing = missing


def check_template(data: bytes) -> None:
    """Raises `TemplateError` unless ``data`` is a .docx with every style the writer needs."""
    document = _open_template(data)
    names = {s.name for s in document.styles}
    for name in TEMPLATE_STYLES:
        if name not in names:
            raise TemplateError(f"the template has no paragraph style {name!r}", missing=name)


def _open_template(data: bytes) -> DocumentObject:
    try:
        return Document(io.BytesIO(data))
    except Exception as err:  # python-docx raises zipfile, KeyError or its own errors alike
        raise TemplateError("the template is not a Word .docx document") from err


def write(minutes: Minutes, style: Style = "en", *, template: bytes | None = None) -> bytes:
    """The minutes as .docx bytes, on the template's styles, header and footer when given."""
    if template is not None:
        check_template(template)
        document = _open_template(template)
        _clear_body(document)
    else:
        document = Document()
        (_gbt9704_page if style == "gbt9704" else _english_page)(document)
    styles = _Styles.ensure(document, chinese=style == "gbt9704")
    writer = _Writer(document, styles, _ZH if style == "gbt9704" else _EN)
    (writer.gbt9704 if style == "gbt9704" else writer.english)(minutes)
    properties = document.core_properties
    properties.title = f"{minutes.council} {minutes.number}"
    properties.author = minutes.approval.drafted_by or "CIO Council"
    properties.revision = minutes.approval.revision
    stamp = datetime(minutes.day.year, minutes.day.month, minutes.day.day, tzinfo=UTC)
    properties.created = properties.modified = stamp
    out = io.BytesIO()
    document.save(out)
    return _reproducible(out.getvalue())


def _reproducible(package: bytes) -> bytes:
    """The package with every zip entry dated alike, so the same minutes give the same bytes
    (python-docx stamps each entry with the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(
            out, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(fixed, source.read(entry))
    return out.getvalue()


def _clear_body(document: DocumentObject) -> None:
    """Removes the template's sample text, keeping its sections (header, footer, margins)."""
    body = document.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)


# --- styles ---------------------------------------------------------------------------------

_THEME_ATTRIBUTES = ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme")

# GB/T 9704-2012: 2号 = 22 pt, 3号 = 16 pt, 4号 = 14 pt.
_GBT_TITLE = "方正小标宋简体"
_GBT_BODY = "仿宋_GB2312"
_GBT_H1 = "黑体"
_GBT_H2 = "楷体_GB2312"
_GBT_PAGE = "宋体"
# Where the official fonts are not installed, these are what the fonts named stand in for.
_FALLBACKS = {_GBT_TITLE: "宋体", _GBT_BODY: "仿宋", _GBT_H2: "楷体", _GBT_H1: "SimHei",
              _GBT_PAGE: "SimSun"}


def _set_fonts(style: BaseStyle, latin: str, east_asian: str) -> None:
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attribute in _THEME_ATTRIBUTES:
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:cs"), latin)


def _strip_theme_fonts(document: DocumentObject) -> None:
    for fonts in document.styles.element.iter(qn("w:rFonts")):
        for attribute in _THEME_ATTRIBUTES:
            fonts.attrib.pop(qn(attribute), None)


def _doc_defaults_fonts(document: DocumentObject, latin: str, east_asian: str) -> None:
    root = document.styles.element
    defaults = root.find(qn("w:docDefaults"))
    if defaults is None:
        defaults = OxmlElement("w:docDefaults")
        root.insert(0, defaults)
    rpr_default = defaults.find(qn("w:rPrDefault"))
    if rpr_default is None:
        rpr_default = OxmlElement("w:rPrDefault")
        defaults.insert(0, rpr_default)
    rpr = rpr_default.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        rpr_default.append(rpr)
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in _THEME_ATTRIBUTES:
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:cs"), latin)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _font_alternatives(document: DocumentObject) -> None:
    """Names, in the font table, what each official font may be replaced by (``w:altName``)."""
    table = document.part.package.main_document_part.part_related_by(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/fontTable")
    root: Any = getattr(table, "element", None)
    if root is None:
        return
    for name, alternative in _FALLBACKS.items():
        font = OxmlElement("w:font")
        font.set(qn("w:name"), name)
        alt = OxmlElement("w:altName")
        alt.set(qn("w:val"), alternative)
        font.append(alt)
        charset = OxmlElement("w:charset")
        charset.set(qn("w:val"), "86")  # GB2312
        font.append(charset)
        root.append(font)


def _no_border(style: BaseStyle) -> None:
    ppr = style.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):
        ppr.remove(border)


def _no_color(style: BaseStyle) -> None:
    rpr = style.element.get_or_add_rPr()
    for color in rpr.findall(qn("w:color")):
        rpr.remove(color)


@dataclass(frozen=True, slots=True)
class _Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    heading1: ParagraphStyle
    heading2: ParagraphStyle
    body: ParagraphStyle
    table_text: ParagraphStyle
    table_header: ParagraphStyle
    attendance: ParagraphStyle
    label: CharacterStyle
    page_odd: ParagraphStyle
    page_even: ParagraphStyle
    table: BaseStyle

    @classmethod
    def ensure(cls, document: DocumentObject, *, chinese: bool) -> _Styles:
        """The styles the writer uses: the document's own where it has them, otherwise added."""
        styles = document.styles
        names = {s.name for s in styles}
        added = set()
        for name in _OWN:
            if name not in names:
                kind = (WD_STYLE_TYPE.CHARACTER if name == "Minutes Label"
                        else WD_STYLE_TYPE.PARAGRAPH)
                styles.add_style(name, kind)
                added.add(name)
        if _TABLE not in names:
            _add_table_style(document)
            added.add(_TABLE)

        def paragraph(name: str) -> ParagraphStyle:
            found = styles[name]
            assert isinstance(found, ParagraphStyle)
            return found

        def character(name: str) -> CharacterStyle:
            found = styles[name]
            assert isinstance(found, CharacterStyle)
            return found

        chosen = cls(
            title=paragraph("Title"), subtitle=paragraph("Minutes Subtitle"),
            heading1=paragraph("Heading 1"), heading2=paragraph("Heading 2"),
            body=paragraph("Normal"), table_text=paragraph("Minutes Table Text"),
            table_header=paragraph("Minutes Table Header"),
            attendance=paragraph("Minutes Attendance"), label=character("Minutes Label"),
            page_odd=paragraph("Minutes Page Number Odd"),
            page_even=paragraph("Minutes Page Number Even"), table=styles[_TABLE])
        # A template's own styles are the secretariat's choice; only the built-in document and
        # the styles just added are given the writer's look.
        builtin = "Minutes Subtitle" in added and _TABLE in added
        (chosen._gbt9704 if chinese else chosen._english)(document, restyle_builtin=builtin,
                                                          added=added)
        return chosen

    def _own(self, added: set[str]) -> list[tuple[str, ParagraphStyle]]:
        return [(s.name or "", s) for s in (self.subtitle, self.table_text, self.table_header,
                                            self.page_odd, self.page_even)
                if s.name in added]

    def _english(self, document: DocumentObject, *, restyle_builtin: bool,
                 added: set[str]) -> None:
        for style in (self.subtitle, self.table_text, self.table_header, self.page_odd,
                      self.page_even, self.attendance):
            if style.name in added:
                style.base_style = self.body
        if restyle_builtin:
            _strip_theme_fonts(document)
            for style, size, bold in ((self.body, 10.5, False), (self.title, 22, True),
                                      (self.heading1, 14, True), (self.heading2, 12, True)):
                _set_fonts(style, "Calibri", "Noto Sans CJK SC")
                style.font.size = Pt(size)
                style.font.bold = bold
                _no_color(style)
            self.body.paragraph_format.space_after = Pt(4)
            self.body.paragraph_format.space_before = Pt(4)  # clear of a table just above
            self.title.paragraph_format.space_after = Pt(6)
            for heading in (self.heading1, self.heading2):
                heading.paragraph_format.space_before = Pt(12)
                heading.paragraph_format.space_after = Pt(4)
                heading.paragraph_format.keep_with_next = True
        if "Minutes Subtitle" in added:
            self.subtitle.font.size = Pt(11)
            self.subtitle.paragraph_format.space_after = Pt(12)
        if "Minutes Table Text" in added:
            self.table_text.font.size = Pt(9.5)
            self.table_text.paragraph_format.space_after = Pt(0)
        if "Minutes Table Header" in added:
            self.table_header.base_style = self.table_text
            self.table_header.font.bold = True
        if "Minutes Label" in added:
            self.label.font.bold = True
        self._page_numbers(added, Pt(10), "Calibri", "Noto Sans CJK SC")

    def _gbt9704(self, document: DocumentObject, *, restyle_builtin: bool,
                 added: set[str]) -> None:
        for style in (self.subtitle, self.table_text, self.table_header, self.page_odd,
                      self.page_even, self.attendance):
            if style.name in added:
                style.base_style = self.body
        if restyle_builtin:
            _strip_theme_fonts(document)
            _doc_defaults_fonts(document, "Times New Roman", _GBT_BODY)
            _font_alternatives(document)
            body = self.body
            _set_fonts(body, "Times New Roman", _GBT_BODY)
            body.font.size = Pt(16)
            spacing = body.paragraph_format
            spacing.line_spacing_rule = WD_LINE_SPACING.EXACTLY
            spacing.line_spacing = Pt(28)
            spacing.space_before = spacing.space_after = Pt(0)
            spacing.first_line_indent = Pt(32)  # two characters of 3号
            spacing.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            for style, font, size in ((self.title, _GBT_TITLE, 22), (self.heading1, _GBT_H1, 16),
                                      (self.heading2, _GBT_H2, 16)):
                style.base_style = body
                _set_fonts(style, "Times New Roman", font)
                style.font.size = Pt(size)
                style.font.bold = False
                _no_color(style)
                form = style.paragraph_format
                form.space_before = form.space_after = Pt(0)
                form.line_spacing_rule = WD_LINE_SPACING.EXACTLY
                form.line_spacing = Pt(28)
                form.keep_with_next = True
            self.title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
            _no_border(self.title)  # a 纪要 title stands alone, with no rule under it
            self.title.paragraph_format.first_line_indent = Pt(0)
            self.title.paragraph_format.line_spacing = Pt(36)
            self.title.paragraph_format.space_after = Pt(14)
        if "Minutes Subtitle" in added:
            self.subtitle.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
            self.subtitle.paragraph_format.first_line_indent = Pt(0)
            self.subtitle.paragraph_format.space_after = Pt(14)
        if "Minutes Table Text" in added:
            _set_fonts(self.table_text, "Times New Roman", _GBT_BODY)
            self.table_text.font.size = Pt(12)
            form = self.table_text.paragraph_format
            form.first_line_indent = Pt(0)
            form.line_spacing_rule = WD_LINE_SPACING.SINGLE
            form.alignment = WD_ALIGN_PARAGRAPH.LEFT
        if "Minutes Table Header" in added:
            self.table_header.base_style = self.table_text
            _set_fonts(self.table_header, "Times New Roman", _GBT_H1)
            self.table_header.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if "Minutes Label" in added:
            _set_fonts(self.label, "Times New Roman", _GBT_H1)
        if "Minutes Attendance" in added:
            # 出席：names... -- a wrapped line lines up under the first name, after the colon.
            form = self.attendance.paragraph_format
            form.left_indent = Pt(80)
            form.first_line_indent = Pt(-48)
        self._page_numbers(added, Pt(14), "Times New Roman", _GBT_PAGE)

    def _page_numbers(self, added: set[str], size: Pt, latin: str, east_asian: str) -> None:
        # "— 1 —" on the outer side: odd pages right, even pages left, one character in.
        for style, alignment in ((self.page_odd, WD_ALIGN_PARAGRAPH.RIGHT),
                                 (self.page_even, WD_ALIGN_PARAGRAPH.LEFT)):
            if style.name not in added:
                continue
            _set_fonts(style, latin, east_asian)
            style.font.size = size
            form = style.paragraph_format
            form.alignment = alignment
            form.first_line_indent = Pt(0)
            form.line_spacing_rule = WD_LINE_SPACING.SINGLE
            form.left_indent = size if alignment is WD_ALIGN_PARAGRAPH.LEFT else Pt(0)
            form.right_indent = size if alignment is WD_ALIGN_PARAGRAPH.RIGHT else Pt(0)


def _add_table_style(document: DocumentObject) -> None:
    style = document.styles.add_style(_TABLE, WD_STYLE_TYPE.TABLE)
    tbl_pr = style.element.find(qn("w:tblPr"))
    if tbl_pr is None:
        tbl_pr = OxmlElement("w:tblPr")
        style.element.append(tbl_pr)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        line = OxmlElement(f"w:{edge}")
        line.set(qn("w:val"), "single")
        line.set(qn("w:sz"), "4")
        line.set(qn("w:space"), "0")
        line.set(qn("w:color"), "808080")
        borders.append(line)
    tbl_pr.append(borders)
    set_side_cell_margins(tbl_pr, twips=80)


def set_side_cell_margins(tbl_pr: Any, *, twips: int) -> None:
    """The left and right padding of every cell of a table (or table style), in twentieths of
    a point."""
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        margin = OxmlElement(f"w:{edge}")
        margin.set(qn("w:w"), str(twips))
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    tbl_pr.append(margins)


# --- pages ----------------------------------------------------------------------------------

def _english_page(document: DocumentObject) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin = section.bottom_margin = Mm(25)
    section.left_margin = section.right_margin = Mm(22)


def _gbt9704_page(document: DocumentObject) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.footer_distance = Mm(28)  # the number sits 7 mm below the type area


def _page_number(paragraph: Any) -> None:
    """Appends a PAGE field as "— N —" to a footer paragraph."""
    paragraph.add_run("— ")
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"),
                       ("end", None)):
        run = paragraph.add_run()
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text == " PAGE ":
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = text
            run._r.append(instruction)
        else:
            run.text = text or ""
    paragraph.add_run(" —")


# --- text -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Labels:
    status: dict[AttendanceStatus, str]
    action: dict[ActionStatus, str]
    choice: dict[Choice, str]
    note: dict[NoteKind, str]
    rule: dict[MajorityRule, str]
    base: dict[MajorityBase, str]
    kind: dict[MeetingKind, str]
    role: dict[Role, str]
    guest: str  # an invited guest the office recorded (no role in the council)
    urgent: str
    major: str

    def guest_detail(self, guest: Guest) -> str:
        """What follows a guest's name: their organisation, else their role."""
        return guest.organisation or (self.role[guest.role] if guest.role else self.guest)

    def marks(self, item: AgendaLine) -> str:
        return (self.major if item.major else "") + (self.urgent if item.urgent else "")


_EN = _Labels(
    status={AttendanceStatus.PRESENT: "present", AttendanceStatus.PROXY: "proxy",
            AttendanceStatus.EXCUSED: "excused", AttendanceStatus.ABSENT: "absent"},
    action={ActionStatus.OPEN: "open", ActionStatus.OVERDUE: "overdue",
            ActionStatus.DONE_ON_TIME: "done on time", ActionStatus.DONE_LATE: "done late"},
    choice={Choice.YES: "yes", Choice.NO: "no", Choice.ABSTAIN: "abstain"},
    note={NoteKind.INFO: "Information", NoteKind.IDEA: "Idea"},
    rule={MajorityRule.SIMPLE: "simple majority", MajorityRule.ABSOLUTE: "absolute majority",
          MajorityRule.TWO_THIRDS: "two-thirds majority"},
    base={MajorityBase.CAST: "of the votes cast",
          MajorityBase.MEMBERS: "of the member departments"},
    kind={MeetingKind.REGULAR: "regular", MeetingKind.EXTRAORDINARY: "extraordinary"},
    role={Role.EXPERT: "expert", Role.OBSERVER: "observer", Role.CHAIR: "chair",
          Role.SECRETARY: "secretary", Role.CIO: "CIO"},
    guest="guest", urgent=" [urgent business]", major=" [major issue]",
)
_ZH = _Labels(
    status={AttendanceStatus.PRESENT: "出席", AttendanceStatus.PROXY: "代为出席",
            AttendanceStatus.EXCUSED: "请假", AttendanceStatus.ABSENT: "缺席"},
    action={ActionStatus.OPEN: "进行中", ActionStatus.OVERDUE: "已逾期",
            ActionStatus.DONE_ON_TIME: "按期完成", ActionStatus.DONE_LATE: "逾期完成"},
    choice={Choice.YES: "赞成", Choice.NO: "反对", Choice.ABSTAIN: "弃权"},
    note={NoteKind.INFO: "通报", NoteKind.IDEA: "建议"},
    rule={MajorityRule.SIMPLE: "简单多数", MajorityRule.ABSOLUTE: "绝对多数",
          MajorityRule.TWO_THIRDS: "三分之二多数"},
    base={MajorityBase.CAST: "以实际投票数计", MajorityBase.MEMBERS: "以全体成员单位计"},
    kind={MeetingKind.REGULAR: "例会", MeetingKind.EXTRAORDINARY: "临时会议"},
    role={Role.EXPERT: "专家", Role.OBSERVER: "观察员", Role.CHAIR: "主任",
          Role.SECRETARY: "秘书处", Role.CIO: "首席信息官"},
    guest="特邀嘉宾", urgent="（临时动议）", major="（重大事项）",
)

_ZH_NUMERALS = "〇一二三四五六七八九"


def zh_number(n: int) -> str:
    """一, 二, ... 十, 十一, ... 九十九; larger numbers as digits."""
    if n < 1 or n > 99:
        return str(n)
    tens, ones = divmod(n, 10)
    text = ("" if tens < 2 else _ZH_NUMERALS[tens]) + ("十" if tens else "")
    return text + (_ZH_NUMERALS[ones] if ones else "")


def zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class _Writer:
    """Lays the minutes out. Styles are set by id on the XML: python-docx's style setter looks
    for the default style among all of them on every call, which made a 2,000-note meeting
    twenty times slower than writing it bare."""

    def __init__(self, document: DocumentObject, styles: _Styles, labels: _Labels) -> None:
        self.document = document
        self.styles = styles
        self.labels = labels
        default = document.styles.default(WD_STYLE_TYPE.PARAGRAPH)
        self._default_id = default.style_id if default is not None else None
        self._prototypes: dict[str, Any] = {}
        body = document.element.body
        self._end = body.find(qn("w:sectPr"))  # the body's last child, if it has one
        self._label = OxmlElement("w:rPr")
        label = OxmlElement("w:rStyle")
        label.set(qn("w:val"), styles.label.style_id)
        self._label.append(label)

    def _properties(self, style: ParagraphStyle) -> Any:
        """A ``w:pPr`` naming the style, to copy into each paragraph (copying an element is
        much cheaper than building one through python-docx's setters)."""
        found = self._prototypes.get(style.style_id)
        if found is None:
            found = OxmlElement("w:pPr")
            name = OxmlElement("w:pStyle")
            name.set(qn("w:val"), style.style_id)
            found.append(name)
            self._prototypes[style.style_id] = found
        return found

    def _style(self, paragraph: Any, style: ParagraphStyle) -> None:
        if style.style_id != self._default_id:
            paragraph._p.insert(0, deepcopy(self._properties(style)))

    def _p(self, style: ParagraphStyle) -> Any:
        """A new, empty body paragraph in ``style``, placed before the section properties
        directly (python-docx's add_paragraph searches the body for them every time, which
        makes a long document quadratic)."""
        p = OxmlElement("w:p")
        if style.style_id != self._default_id:
            p.append(deepcopy(self._properties(style)))
        if self._end is not None:
            self._end.addprevious(p)
        else:
            self.document.element.body.append(p)
        return p

    def paragraph(self, text: str, style: ParagraphStyle) -> Any:
        p = self._p(style)
        if text:
            p.add_r().text = text
        return p

    def labelled(self, label: str, text: str, style: ParagraphStyle | None = None) -> None:
        p = self._p(style or self.styles.body)
        run = p.add_r()
        run.insert(0, deepcopy(self._label))
        run.text = label
        p.add_r().text = text

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]],
              widths: Sequence[float] | None = None) -> Table:
        """A table whose header row repeats on every page and whose rows never split.

        Each data row is a copy of one styled, empty row with the text then added: the same
        XML python-docx's ``add_row`` and style setters would make, at a fraction of the cost.
        """
        table: Table = self.document.add_table(rows=2, cols=len(header))
        table._tbl.tblPr.style = self.styles.table.style_id
        table.autofit = widths is None
        first, empty = table.rows
        _row_properties(first._tr, header=True)
        for cell, text in zip(first.cells, header, strict=True):
            self._style(cell.paragraphs[0], self.styles.table_header)
            cell.paragraphs[0]._p.add_r().text = text
        _row_properties(empty._tr, header=False)
        for cell in empty.cells:
            self._style(cell.paragraphs[0], self.styles.table_text)
        prototype = empty._tr
        grid = table._tbl
        grid.remove(prototype)
        for values in rows:
            tr = deepcopy(prototype)
            grid.append(tr)
            for tc, text in zip(tr.tc_lst, values, strict=True):
                tc.p_lst[0].add_r().text = text
        if widths is not None:
            # The grid and a fixed layout carry the widths (Word, WPS and LibreOffice follow
            # them); a width on every cell would cost as much again as the text.
            for column, width in zip(table.columns, widths, strict=True):
                column.width = Mm(width)
        return table

    def footer_numbers(self) -> None:
        section = self.document.sections[0]
        self.document.settings.odd_and_even_pages_header_footer = True
        for footer, style in ((section.footer, self.styles.page_odd),
                              (section.even_page_footer, self.styles.page_even)):
            footer.is_linked_to_previous = False
            paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
            paragraph.style = style
            _page_number(paragraph)

    # --- English --------------------------------------------------------------------------

    def english(self, m: Minutes) -> None:
        s, labels = self.styles, self.labels
        self.paragraph(f"{m.council}: minutes of meeting No. {m.number}", s.title)
        when = f"{m.day.isoformat()}, {m.starts}–{m.ends}"
        place = f" · {m.place}" if m.place else ""
        self.paragraph(f"{labels.kind[m.kind].capitalize()} meeting · {when}{place}"
                       + (f" · {m.title}" if m.title else ""), s.subtitle)
        self.labelled("Chair: ", m.chair or "—")
        self.paragraph("Attendance", s.heading1)
        self.table(["Department", "Code", "Represented by", "Status", "Note"],
                   [[a.department, a.code, a.person, labels.status[a.status], a.reason]
                    for a in m.attendance], widths=(52, 18, 40, 24, 32))
        if m.guests:
            self.labelled("In attendance: ", "; ".join(
                f"{g.name} ({labels.guest_detail(g)})" for g in m.guests))
        self.paragraph("Agenda", s.heading1)
        for number, item in enumerate(m.agenda, 1):
            by = f" ({item.department})" if item.department else ""
            self.paragraph(f"{number}. #{item.id} {item.title}{by}{labels.marks(item)}", s.body)
        if not m.agenda:
            self.paragraph("No agenda items were accepted.", s.body)
        self.paragraph("Proceedings", s.heading1)
        for topic in m.topics:
            self.english_topic(topic)
        if m.circular:
            self.paragraph("Decisions by circular vote since the previous meeting", s.heading1)
            for motion in m.circular:
                self.english_motion(motion)
        self.paragraph("Action items", s.heading1)
        self.english_actions(m.actions, "No action items were assigned.")
        if m.carried_over:
            self.paragraph("Carried over from earlier meetings", s.heading2)
            self.english_actions(m.carried_over, "")
        self.labelled("Next meeting: ", m.next_meeting.isoformat() if m.next_meeting
                      else "not yet scheduled")
        self.paragraph("Approval", s.heading1)
        approval = m.approval
        self.table(["Version", "Drafted by", "Approved by", "Approved on"],
                   [[str(approval.revision), approval.drafted_by or "Secretariat",
                     approval.approved_by or "— (draft)",
                     approval.approved_on.isoformat() if approval.approved_on else ""]])
        self.footer_numbers()

    def english_topic(self, topic: Topic) -> None:
        s, labels = self.styles, self.labels
        title = (f"#{topic.item.id} {topic.item.title}{labels.marks(topic.item)}"
                 if topic.item else "General business")
        self.paragraph(title, s.heading2)
        for note in topic.notes:
            self.labelled(f"{labels.note[note.kind]} ({note.author}): ", note.text)
        for motion in topic.motions:
            self.english_motion(motion)
        for decision in topic.decisions:
            source = f" (motion M{decision.motion_id})" if decision.motion_id else " (agreed)"
            self.labelled(f"Decision D{decision.id}{source}: ", decision.text)
        if not (topic.notes or topic.motions or topic.decisions):
            self.paragraph("Nothing was recorded under this item.", s.body)

    def english_motion(self, motion: MotionLine) -> None:
        labels = self.labels
        outcome = "carried" if motion.passed else "not carried"
        kind = {MotionKind.NAMED: "named vote", MotionKind.SECRET: "secret ballot",
                MotionKind.CIRCULAR: "circular vote"}[motion.kind]
        self.labelled(f"Motion M{motion.id} ({kind}): ", motion.text)
        judged = labels.rule[motion.rule]
        if motion.membership:
            judged += (f" {labels.base[motion.base]}; quorum {motion.quorum_needed} of "
                       f"{motion.membership} member departments, {motion.voted} voted")
        self.labelled("Result: ", f"{outcome} — {motion.yes} yes, {motion.no} no, "
                      f"{motion.abstain} abstain, of {motion.eligible} eligible "
                      f"({judged}); ballot digest {motion.digest}")
        if motion.votes:
            self.table(["Department", "Vote"],
                       [[v.code, labels.choice[v.choice]] for v in motion.votes],
                       widths=(40, 30))

    def english_actions(self, items: Sequence[ActionLine], empty: str) -> None:
        if not items:
            if empty:
                self.paragraph(empty, self.styles.body)
            return
        self.table(["ID", "Owner", "Action", "Due", "Status"],
                   [[f"A{a.id}", a.code, a.text, a.due.isoformat(), self.labels.action[a.status]]
                    for a in items], widths=(14, 20, 82, 24, 26))

    # --- GB/T 9704-2012 纪要 ----------------------------------------------------------------

    def gbt9704(self, m: Minutes) -> None:
        s, labels = self.styles, self.labels
        kind = "" if m.kind is MeetingKind.REGULAR else labels.kind[m.kind]
        self.paragraph(f"{m.council}第{zh_number(m.number)}次{kind or '会议'}纪要"
                       if not kind else f"{m.council}{kind}纪要", s.title)
        self.paragraph(f"（{zh_date(m.day)}）", s.subtitle)
        place = f"在{m.place}" if m.place else ""
        chair = f"，{m.chair}主持" if m.chair else ""
        self.paragraph(f"{zh_date(m.day)}{m.starts}—{m.ends}，{m.council}{place}召开第"
                       f"{zh_number(m.number)}次{labels.kind[m.kind]}{chair}。"
                       + (f"会议主题：{m.title}。" if m.title else "")
                       + "现将会议主要情况纪要如下：", s.body)
        section = 0

        def heading(text: str) -> None:
            nonlocal section
            section += 1
            self.paragraph(f"{zh_number(section)}、{text}", s.heading1)

        heading("会议议程")
        for number, item in enumerate(m.agenda, 1):
            by = f"（{item.department}提出）" if item.department else ""
            self.paragraph(f"{number}. {item.title}{by}{labels.marks(item)}", s.body)
        if not m.agenda:
            self.paragraph("本次会议无经确定的议题。", s.body)
        heading("议定事项")
        for number, topic in enumerate(m.topics, 1):
            self.gbt_topic(number, topic)
        if m.circular:
            heading("上次会议以来的传签表决事项")
            for number, motion in enumerate(m.circular, 1):
                self.paragraph(f"（{zh_number(number)}）{motion.text}", s.heading2)
                self.gbt_motion(motion)
        heading("工作事项")
        self.gbt_actions(m.actions, "本次会议未布置工作事项。")
        if m.carried_over:
            self.paragraph("（一）前期任务跟踪", s.heading2)
            self.gbt_actions(m.carried_over, "")
        next_day = zh_date(m.next_meeting) if m.next_meeting else "另行通知"
        self.paragraph(f"下次会议时间：{next_day}。", s.body)
        self.gbt_attendance(m)
        approval = m.approval
        self.labelled("审定记录：", "", style=self.styles.attendance)
        self.table(["版本", "起草", "审定", "审定日期"],
                   [[f"第{approval.revision}版", approval.drafted_by or "秘书处",
                     approval.approved_by or "（草稿）",
                     zh_date(approval.approved_on) if approval.approved_on else ""]])
        self.footer_numbers()

    def gbt_topic(self, number: int, topic: Topic) -> None:
        s, labels = self.styles, self.labels
        title = (topic.item.title + labels.marks(topic.item) if topic.item else "其他事项")
        self.paragraph(f"（{zh_number(number)}）{title}", s.heading2)
        for note in topic.notes:
            self.paragraph(f"{labels.note[note.kind]}（{note.author}）：{note.text}", s.body)
        for motion in topic.motions:
            self.gbt_motion(motion)
        for index, decision in enumerate(topic.decisions, 1):
            source = "（经表决通过）" if decision.motion_id else ""
            self.paragraph(f"{index}. 会议议定：{decision.text}{source}", s.body)
        if not (topic.notes or topic.motions or topic.decisions):
            self.paragraph("本议题无记录。", s.body)

    def gbt_motion(self, motion: MotionLine) -> None:
        labels = self.labels
        kind = {MotionKind.NAMED: "记名表决", MotionKind.SECRET: "无记名投票",
                MotionKind.CIRCULAR: "传签表决"}[motion.kind]
        outcome = "通过" if motion.passed else "未通过"
        judged = labels.rule[motion.rule]
        quorum = ""
        if motion.membership:
            judged += f"（{labels.base[motion.base]}）"
            quorum = (f"成员单位{motion.membership}个，法定人数{motion.quorum_needed}个，"
                      f"实际投票{motion.voted}个；")
        self.paragraph(f"表决事项M{motion.id}（{kind}）：{motion.text}。{quorum}应参加表决"
                       f"{motion.eligible}个单位，赞成{motion.yes}票，反对{motion.no}票，"
                       f"弃权{motion.abstain}票，按{judged}规则，{outcome}"
                       f"（校验码{motion.digest}）。", self.styles.body)
        if motion.votes:
            self.table(["单位", "表决意见"],
                       [[v.code, labels.choice[v.choice]] for v in motion.votes],
                       widths=(40, 30))

    def gbt_actions(self, items: Sequence[ActionLine], empty: str) -> None:
        if not items:
            if empty:
                self.paragraph(empty, self.styles.body)
            return
        self.table(["编号", "责任单位", "任务", "完成时限", "状态"],
                   [[f"A{a.id}", a.code, a.text, zh_date(a.due), self.labels.action[a.status]]
                    for a in items], widths=(14, 22, 62, 36, 22))

    def gbt_attendance(self, m: Minutes) -> None:
        def names(lines: Sequence[AttendanceLine],
                  who: Callable[[AttendanceLine], str]) -> str:
            return "、".join(who(a) for a in lines)

        def unit_and_person(a: AttendanceLine) -> str:
            # 教育局张三 runs together in Chinese; "Education Bureau" and "Li Na" need a space.
            latin_seam = a.department[-1:].isascii() and a.person[:1].isascii()
            return f"{a.department}{' ' if latin_seam else ''}{a.person}"

        by_status = {status: [a for a in m.attendance if a.status is status]
                     for status in AttendanceStatus}
        present = by_status[AttendanceStatus.PRESENT] + by_status[AttendanceStatus.PROXY]
        listed = self.styles.attendance
        self.labelled("出席：", names(present, lambda a: unit_and_person(a) + (
            "（代）" if a.status is AttendanceStatus.PROXY else "")) or "无", style=listed)
        if by_status[AttendanceStatus.EXCUSED]:
            self.labelled("请假：", names(by_status[AttendanceStatus.EXCUSED], lambda a: (
                unit_and_person(a) + (f"（{a.reason}）" if a.reason else ""))),
                          style=listed)
        if m.guests:
            self.labelled("列席：", "、".join(
                f"{g.name}（{self.labels.guest_detail(g)}）" for g in m.guests), style=listed)
        if by_status[AttendanceStatus.ABSENT]:
            self.labelled("缺席：", names(by_status[AttendanceStatus.ABSENT],
                                        unit_and_person), style=listed)


def _row_properties(tr: Any, *, header: bool) -> None:
    properties = tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))
    if header:
        properties.append(OxmlElement("w:tblHeader"))
