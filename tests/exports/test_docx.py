"""The minutes writer: what python-docx, LibreOffice and pdftotext read back from its documents."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import docx
import pytest
from docx.document import Document as DocumentObject
from docx.oxml.ns import qn

from meetings.domain.minutes import Guest
from meetings.domain.model import MajorityBase, Role
from meetings.exports.docx import TemplateError, check_template, write
from tests.exports.sample import CHINESE, HOSTILE, MINUTES

GBT_FONTS = {"Normal": "仿宋_GB2312", "Title": "方正小标宋简体", "Heading 1": "黑体",
             "Heading 2": "楷体_GB2312"}


def read(data: bytes) -> DocumentObject:
    return docx.Document(io.BytesIO(data))


def all_text(document: DocumentObject) -> str:
    paragraphs = [p.text for p in document.paragraphs]
    cells = [c.text for t in document.tables for r in t.rows for c in r.cells]
    return "\n".join(paragraphs + cells)


def table_rows(document: DocumentObject) -> list[list[str]]:
    return [[c.text for c in r.cells] for t in document.tables for r in t.rows]


def test_english_minutes_hold_every_attendance_row_tally_decision_and_action() -> None:
    """Re-read by python-docx, the English minutes list each department with its attendance,
    each vote by department, each tally, decision and action item."""
    document = read(write(MINUTES, "en"))
    rows = table_rows(document)
    text = all_text(document)

    for line in MINUTES.attendance:
        assert [line.department, line.code, line.person, line.status.value, line.reason] in rows
    assert ["MSB", "yes"] in rows
    assert ["FIN", "no"] in rows
    assert "2 yes, 1 no, 0 abstain, of 3 eligible" in text
    assert "1 yes, 2 no, 0 abstain, of 3 eligible" in text  # the secret ballot: counts only
    assert "3 yes, 0 no, 1 abstain, of 4 eligible" in text  # the circular vote
    for decision in MINUTES.decisions:
        assert decision.text in text
    for action in (*MINUTES.actions, *MINUTES.carried_over):
        assert [f"A{action.id}", action.code, action.text, action.due.isoformat()] == next(
            r[:4] for r in rows if r[0] == f"A{action.id}")
    assert "Dr. Qian (expert)" in text
    assert "2027-01-14" in text


def test_chinese_minutes_hold_the_same_facts_in_the_gbt9704_layout() -> None:
    """The 纪要 names the meeting in its title, lists 出席 / 请假 / 列席 / 缺席, every tally,
    decision and action item."""
    document = read(write(CHINESE, "gbt9704"))
    text = all_text(document)

    assert document.paragraphs[0].text == "滨江市首席信息官委员会第七次会议纪要"
    assert "出席：市生态环境局张三、市城市管理局陈杰、市财政局王副处长（代）" in text
    assert "请假：市大数据局赵敏（出差）" in text
    assert "列席：钱博士（专家）" in text
    assert "缺席：市人力资源局孙立" in text
    assert "赞成2票，反对1票，弃权0票" in text
    assert "赞成1票，反对2票，弃权0票" in text
    assert ["FIN", "反对"] in table_rows(document)
    for decision in CHINESE.decisions:
        assert f"会议议定：{decision.text}" in text
    for action in CHINESE.actions:
        assert action.text in text
    headings = [p.text for p in document.paragraphs if p.style is not None
                and p.style.name == "Heading 1"]
    assert headings == ["一、会议议程", "二、议定事项", "三、上次会议以来的传签表决事项",
                        "四、工作事项"]


def test_a_motion_states_the_base_and_quorum_it_was_judged_by() -> None:
    """A motion judged under the rules of procedure names its majority's base and the quorum
    of the membership, in both layouts; one stored before them keeps the shorter line."""
    judged = replace(MINUTES.topics[1].motions[0], base=MajorityBase.MEMBERS, membership=9,
                     quorum_needed=5)
    topics = (MINUTES.topics[0], replace(MINUTES.topics[1], motions=(judged,)),
              *MINUTES.topics[2:])
    english = all_text(read(write(replace(MINUTES, topics=topics), "en")))
    chinese = all_text(read(write(replace(CHINESE, topics=topics), "gbt9704")))

    assert ("of 3 eligible (simple majority of the member departments; quorum 5 of 9 member "
            "departments, 3 voted)") in english
    assert "(simple majority); ballot digest 0f9e8d7c6b5a" in english  # the older secret ballot
    assert "成员单位9个，法定人数5个，实际投票3个；应参加表决3个单位" in chinese
    assert "按简单多数（以全体成员单位计）规则，通过" in chinese


def test_the_gbt9704_layout_keeps_latin_unit_and_person_names_apart() -> None:
    """A council that writes its units and people in Latin letters gets "Finance Bureau Deputy
    Wang", not "Finance BureauDeputy Wang"; Chinese names still run together."""
    text = all_text(read(write(MINUTES, "gbt9704")))

    assert "出席：Environmental Protection Bureau " in text
    assert "Finance Bureau Deputy Wang（代）" in text
    assert "BureauDeputy" not in text


def test_invited_guests_and_urgent_business_are_named_in_both_layouts() -> None:
    """An invited guest is listed in attendance with their organisation (or as a guest), apart
    from the departments, and urgent business is marked on the agenda and its heading, in the
    English layout and as 列席 / 临时动议 in the 纪要."""
    urgent = replace(MINUTES.agenda[1], urgent=True, department="")  # the office added it
    english = replace(
        MINUTES, guests=(Guest("Dr. Qian", Role.EXPERT), Guest("Prof. Wang", None, "Tsinghua"),
                         Guest("Zhang San", None)),
        agenda=(MINUTES.agenda[0], urgent),
        topics=(*MINUTES.topics[:2], replace(MINUTES.topics[2], item=urgent)))
    text = all_text(read(write(english, "en")))
    assert "In attendance: Dr. Qian (expert); Prof. Wang (Tsinghua); Zhang San (guest)" in text
    assert f"2. #{urgent.id} {urgent.title} [urgent business]" in text.splitlines()
    assert f"#{urgent.id} {urgent.title} [urgent business]" in text.splitlines()
    chinese_urgent = replace(CHINESE.agenda[1], urgent=True, department="")
    chinese = replace(
        CHINESE, guests=(Guest("钱博士", Role.EXPERT), Guest("王教授", None, "清华大学"),
                         Guest("张三", None)),
        agenda=(CHINESE.agenda[0], chinese_urgent),
        topics=(*CHINESE.topics[:2], replace(CHINESE.topics[2], item=chinese_urgent)))
    text = all_text(read(write(chinese, "gbt9704")))
    assert "列席：钱博士（专家）、王教授（清华大学）、张三（特邀嘉宾）" in text
    assert f"2. {chinese_urgent.title}（临时动议）" in text.splitlines()
    assert f"（三）{chinese_urgent.title}（临时动议）" in text.splitlines()  # (一) is general


@pytest.mark.parametrize(("minutes", "style"), [(MINUTES, "en"), (CHINESE, "gbt9704")])
def test_tables_repeat_their_header_and_never_split_a_row_and_text_has_no_direct_format(
    minutes: object, style: str
) -> None:
    """Every table's first row repeats on each page, no row breaks across pages, and runs carry
    at most a style: the look lives in the styles."""
    document = read(write(minutes, style))  # type: ignore[arg-type]

    for table in document.tables:
        first, *rest = table.rows
        assert first._tr.trPr.find(qn("w:tblHeader")) is not None
        assert all(r._tr.trPr.find(qn("w:cantSplit")) is not None for r in table.rows)
        assert all(r._tr.trPr.find(qn("w:tblHeader")) is None for r in rest)
    body = document.element.body
    for rpr in body.iter(qn("w:rPr")):
        assert [qn("w:rStyle")] == [child.tag for child in rpr]
    for ppr in body.iter(qn("w:pPr")):
        assert {child.tag for child in ppr} <= {qn("w:pStyle"), qn("w:sectPr")}


def effective_east_asian_font(document: DocumentObject, style_name: str) -> str | None:
    """As Word resolves it: the style, then what it is based on, then the document defaults."""
    style = document.styles[style_name]
    while style is not None:
        fonts = style.element.find(f"{qn('w:rPr')}/{qn('w:rFonts')}")
        if fonts is not None and fonts.get(qn("w:eastAsia")):
            return str(fonts.get(qn("w:eastAsia")))
        style = style.base_style
    defaults = document.styles.element.find(
        f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:rFonts')}")
    return None if defaults is None else defaults.get(qn("w:eastAsia"))


def test_the_gbt9704_fonts_are_set_in_the_styles_with_no_theme_font_left() -> None:
    """Body, title and headings resolve to the GB/T 9704 East-Asian fonts, and no style or default
    refers to a theme font that would win over them."""
    document = read(write(CHINESE, "gbt9704"))

    assert {name: effective_east_asian_font(document, name) for name in GBT_FONTS} == GBT_FONTS
    styles_xml = document.styles.element
    theme = [f for f in styles_xml.iter(qn("w:rFonts"))
             if any(f.get(qn(a)) for a in ("w:asciiTheme", "w:eastAsiaTheme", "w:hAnsiTheme"))]
    assert theme == []
    assert effective_east_asian_font(document, "Minutes Page Number Odd") == "宋体"


def test_the_gbt9704_page_is_a4_with_its_margins_and_outer_page_numbers() -> None:
    """A4, margins 37/35/28/26 mm, different odd and even footers holding "— PAGE —"."""
    document = read(write(CHINESE, "gbt9704"))
    section = document.sections[0]

    def mm(length: int | None) -> int:
        return round((length or 0) / 36000)

    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    margins = (section.top_margin, section.bottom_margin, section.left_margin,
               section.right_margin)
    assert tuple(mm(m) for m in margins) == (37, 35, 28, 26)
    assert document.settings.odd_and_even_pages_header_footer
    odd, even = section.footer.paragraphs[0], section.even_page_footer.paragraphs[0]
    assert (odd.style.name, even.style.name) == ("Minutes Page Number Odd",
                                                 "Minutes Page Number Even")
    assert odd.text == even.text == "— 1 —"
    assert [p._p.find(f".//{qn('w:instrText')}").text for p in (odd, even)] == [" PAGE "] * 2


def test_hostile_text_still_makes_a_valid_document_holding_the_text() -> None:
    """Control characters, a lone surrogate, RTL, emoji, markup-looking text and a 100 KB note
    are written as text, and python-docx reads them back."""
    document = read(write(HOSTILE, "en"))
    text = all_text(document)

    assert "<w:p><w:r><w:t>injected</w:t></w:r></w:p> &amp; ]]>" in text
    assert "RTL שלום عربي; emoji 🙂👩‍💻" in text
    assert "长" * 100_000 in text
    assert "<script>alert(1)</script>" in text


def test_a_template_lacking_a_needed_style_is_refused_with_its_name() -> None:
    """A .docx without a "Heading 2" style is refused, naming the style; junk is refused too."""
    template = docx.Document()
    template.styles["Heading 2"].element.getparent().remove(template.styles["Heading 2"].element)
    out = io.BytesIO()
    template.save(out)

    with pytest.raises(TemplateError) as refused:
        check_template(out.getvalue())
    assert refused.value.missing == "Heading 2"
    assert "'Heading 2'" in str(refused.value)
    with pytest.raises(TemplateError, match="not a Word"):
        check_template(b"not a zip")


def letterhead() -> bytes:
    template = docx.Document()
    template.sections[0].header.paragraphs[0].text = "RIVERSIDE CITY GOVERNMENT LETTERHEAD"
    template.add_paragraph("sample text that the minutes replace")
    out = io.BytesIO()
    template.save(out)
    return out.getvalue()


def test_a_good_template_lends_its_header_and_loses_its_sample_text() -> None:
    """The minutes written on a template keep its header and drop its body text."""
    document = read(write(MINUTES, "en", template=letterhead()))

    assert "RIVERSIDE CITY GOVERNMENT LETTERHEAD" in document.sections[0].header.paragraphs[0].text
    assert "sample text" not in all_text(document)
    assert "Adopt the open data catalogue" in all_text(document)


# --- LibreOffice --------------------------------------------------------------------------------

# In CI (.ci/run installs them) a missing tool fails the tests instead of skipping them.
needs_office = pytest.mark.skipif(
    (shutil.which("soffice") is None or shutil.which("pdftotext") is None)
    and os.environ.get("CI") != "true",
    reason="LibreOffice (soffice) and poppler's pdftotext are needed to convert and read PDFs; "
           "CI installs libreoffice-writer-nogui and poppler-utils")


@pytest.fixture(scope="module")
def pdf_texts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The English, Chinese, hostile and letterhead minutes converted to PDF in one LibreOffice
    run, as pdftotext reads them."""
    folder = tmp_path_factory.mktemp("minutes")
    documents = {"en": write(MINUTES, "en"), "zh": write(CHINESE, "gbt9704"),
                 "hostile": write(HOSTILE, "en"),
                 "letterhead": write(MINUTES, "en", template=letterhead())}
    for name, data in documents.items():
        (folder / f"{name}.docx").write_bytes(data)
    # A profile of its own: LibreOffice refuses to run twice on one profile (parallel tests).
    profile = Path(f"/tmp/lo-{uuid.uuid4().hex}")  # noqa: S108
    try:
        subprocess.run(
            ["soffice", "--headless", f"-env:UserInstallation=file://{profile}",  # noqa: S607
             "--convert-to", "pdf", "--outdir", str(folder),
             *(str(folder / f"{name}.docx") for name in documents)],
            check=True, capture_output=True, timeout=300)
        texts = {}
        for name in documents:
            pdf = folder / f"{name}.pdf"
            assert pdf.exists(), f"LibreOffice did not convert {name}.docx"
            texts[name] = subprocess.run(
                ["pdftotext", "-layout", str(pdf), "-"],  # noqa: S607
                check=True, capture_output=True, text=True).stdout
        yield texts
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@needs_office
def test_libreoffice_converts_the_english_minutes_and_the_pdf_shows_the_facts(
    pdf_texts: dict[str, str]
) -> None:
    """The PDF of the English minutes shows every department, tally, decision and action."""
    text = " ".join(pdf_texts["en"].split())
    for line in MINUTES.attendance:
        assert line.person in text
        assert line.code in text
    assert "2 yes, 1 no, 0 abstain, of 3 eligible" in text
    for decision in MINUTES.decisions:
        assert decision.text in text
    for action in MINUTES.actions:
        assert action.text in text
    assert "—1—" in text.replace(" ", "")


@needs_office
def test_libreoffice_converts_the_chinese_minutes_and_the_pdf_shows_the_facts(
    pdf_texts: dict[str, str]
) -> None:
    """The PDF of the 纪要 shows its title, 出席 / 请假 lines, tallies, decisions and actions."""
    text = "".join(pdf_texts["zh"].split())
    assert "滨江市首席信息官委员会第七次会议纪要" in text
    assert "请假：市大数据局赵敏（出差）" in text
    assert "赞成2票，反对1票，弃权0票" in text
    for decision in CHINESE.decisions:
        assert decision.text in text
    for action in CHINESE.actions:
        assert action.text in text
    assert "—1—" in text
    assert "—2—" in text


@needs_office
def test_libreoffice_opens_hostile_minutes_with_the_text_visible(
    pdf_texts: dict[str, str]
) -> None:
    """The hostile document converts and its markup-looking text and emoji-free parts show."""
    text = pdf_texts["hostile"]
    assert "<w:p><w:r><w:t>injected</w:t></w:r></w:p>" in text
    assert "长长长长长长长长" in text
    assert "<script>alert(1)</script>" in text


@needs_office
def test_the_templates_header_appears_in_the_pdf(pdf_texts: dict[str, str]) -> None:
    """Minutes written on the letterhead template show its header text."""
    assert "RIVERSIDE CITY GOVERNMENT LETTERHEAD" in pdf_texts["letterhead"]
