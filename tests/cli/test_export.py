"""`cio-council export minutes`: the latest revision, a stored one byte for byte, a working copy
in the other style or on a template; every mistake is one `error:` line and exit 2."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import timedelta
from pathlib import Path

import docx
import pytest

from meetings import usecases
from meetings.domain.model import Role
from storage import Database
from tests.cli.test_cli import NOW, Cli, make_cli

OFFICE = usecases.common.Operator("test")


async def held_meeting(url: str) -> int:
    """A council (in Chinese) whose meeting today ran and ended, with a chair; its id."""
    database = Database(url)
    try:
        council = await usecases.councils.create_council(
            database.uow(), name="滨江市首席信息官委员会", actor=OFFICE, now=NOW, language="zh")
        await usecases.councils.add_department(database.uow(), council.id, code="EPB",
                                               name="市生态环境局", actor=OFFICE, now=NOW)
        await usecases.councils.add_member(database.uow(), council.id, name="李伟",
                                           role=Role.CHAIR, actor=OFFICE, now=NOW, telegram_id=1)
        meeting = await usecases.schedule.schedule_meeting(
            database.uow(), council.id, local_start="2026-11-25 14:30", actor=OFFICE, now=NOW)
        await usecases.meeting.start_meeting(database.uow(), council.id, actor=OFFICE,
                                             now=NOW + timedelta(hours=4))
        await usecases.meeting.end_meeting(database.uow(), council.id, actor=OFFICE,
                                           now=NOW + timedelta(hours=6))
        return meeting.id
    finally:
        await database.dispose()


@pytest.fixture
def meeting(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Cli, int]:
    cli = make_cli(migrated_url, monkeypatch)
    return cli, asyncio.run(held_meeting(migrated_url))


def paragraphs(path: Path) -> list[str]:
    return [p.text for p in docx.Document(io.BytesIO(path.read_bytes())).paragraphs]


def test_the_latest_revision_is_drafted_and_written_in_the_councils_style(
    meeting: tuple[Cli, int], tmp_path: Path
) -> None:
    """With no options the stored draft is written, in GB/T 9704 for a Chinese council; asking
    for revision 1 gives the same bytes."""
    cli, meeting_id = meeting
    latest, stored = tmp_path / "latest.docx", tmp_path / "r1.docx"

    first = cli("export", "minutes", str(meeting_id), "-o", str(latest))
    second = cli("export", "minutes", str(meeting_id), "--revision", "1", "-o", str(stored))

    digest = hashlib.sha256(latest.read_bytes()).hexdigest()
    assert (first.code, first.err) == (0, "")
    assert first.out.strip() == (f"Minutes of meeting S{meeting_id} written to {latest}: "
                                 f"revision 1 (draft), SHA-256 {digest}.")
    assert second.code == 0
    assert stored.read_bytes() == latest.read_bytes()
    assert paragraphs(latest)[0] == "滨江市首席信息官委员会临时会议纪要"


def test_a_working_copy_in_the_other_style_is_not_stored(meeting: tuple[Cli, int],
                                                         tmp_path: Path) -> None:
    """--style en writes the English minutes and stores no revision."""
    cli, meeting_id = meeting
    english = tmp_path / "en.docx"

    done = cli("export", "minutes", str(meeting_id), "--style", "en", "-o", str(english))
    missing = cli("export", "minutes", str(meeting_id), "--revision", "1", "-o",
                  str(tmp_path / "r1.docx"))

    assert done.code == 0
    assert "working copy, not stored" in done.out
    assert paragraphs(english)[0].endswith("minutes of meeting No. 1")
    assert missing.err.strip() == f"error: meeting S{meeting_id} has no revision 1 of its minutes"


@pytest.mark.parametrize(("extra", "message"), [
    (["--style", "fancy"], "unknown style fancy: use en or gbt9704"),
    (["--revision", "1", "--style", "en"],
     "--revision writes the stored file as it is; leave out --style and --template"),
    (["--template", "/nonexistent/letterhead.docx"],
     "cannot read /nonexistent/letterhead.docx: No such file or directory"),
])
def test_mistakes_are_one_error_line(meeting: tuple[Cli, int], tmp_path: Path,
                                     extra: list[str], message: str) -> None:
    """A bad style, a revision with a style, or an unreadable template: one line, exit 2."""
    cli, meeting_id = meeting
    done = cli("export", "minutes", str(meeting_id), *extra, "-o", str(tmp_path / "x.docx"))
    assert (done.code, done.err.strip()) == (2, f"error: {message}")
    assert not (tmp_path / "x.docx").exists()


def test_a_template_without_a_needed_style_is_refused_naming_it(
    meeting: tuple[Cli, int], tmp_path: Path
) -> None:
    """A template lacking "Heading 1" is refused with the style's name; an unknown meeting is
    named too."""
    cli, meeting_id = meeting
    template = docx.Document()
    heading = template.styles["Heading 1"].element
    heading.getparent().remove(heading)
    path = tmp_path / "letterhead.docx"
    template.save(str(path))

    refused = cli("export", "minutes", str(meeting_id), "--template", str(path), "-o",
                  str(tmp_path / "x.docx"))
    unknown = cli("export", "minutes", "999", "-o", str(tmp_path / "x.docx"))

    assert (refused.code, refused.err.strip()) == (
        2, "error: unusable template: the template has no paragraph style 'Heading 1'")
    assert (unknown.code, unknown.err.strip()) == (2, "error: no meeting 999 in this council")


def test_template_set_and_reset(meeting: tuple[Cli, int], tmp_path: Path) -> None:
    """`template set` refuses a file lacking a style, naming it; a good one is used by the next
    export; `template reset` goes back to the built-in style."""
    cli, meeting_id = meeting
    bad, good = tmp_path / "bad.docx", tmp_path / "good.docx"
    lacking = docx.Document()
    title = lacking.styles["Title"].element
    title.getparent().remove(title)
    lacking.save(str(bad))
    letterhead = docx.Document()
    letterhead.sections[0].header.paragraphs[0].text = "滨江市人民政府办公室"
    letterhead.save(str(good))

    refused = cli("template", "set", str(bad))
    stored = cli("template", "set", str(good))
    on_template = tmp_path / "on.docx"
    cli("export", "minutes", str(meeting_id), "--style", "gbt9704", "-o", str(on_template))
    reset = cli("template", "reset")
    again = cli("template", "reset")

    assert (refused.code, refused.err.strip()) == (
        2, "error: the template has no paragraph style 'Title'; nothing was stored")
    assert stored.code == 0
    assert stored.out.startswith("Template set for 滨江市首席信息官委员会: good.docx")
    header = docx.Document(str(on_template)).sections[0].header.paragraphs[0].text
    assert header == "滨江市人民政府办公室"
    assert reset.out.strip() == "滨江市首席信息官委员会 uses the built-in style again."
    assert again.out.strip() == ("滨江市首席信息官委员会 uses the built-in style; it had no "
                                 "template.")


def test_export_link_prints_a_signed_link_to_a_stored_revision(
    meeting: tuple[Cli, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a public URL and a download secret it says what is missing; with them it prints
    a link to the revision that expires; a revision that does not exist is named."""
    cli, meeting_id = meeting
    cli("export", "minutes", str(meeting_id), "-o", str(tmp_path / "r1.docx"))

    unconfigured = cli("export", "link", str(meeting_id), "--revision", "1")
    monkeypatch.setenv("COUNCIL_PUBLIC_URL", "https://council.example.gov")
    monkeypatch.setenv("COUNCIL_DOWNLOAD_SECRET", "d" * 32)
    linked = cli("export", "link", str(meeting_id), "--revision", "1", "--days", "2")
    missing = cli("export", "link", str(meeting_id), "--revision", "9")

    assert (unconfigured.code, unconfigured.err.strip()) == (
        2, "error: download links need COUNCIL_PUBLIC_URL and COUNCIL_DOWNLOAD_SECRET")
    expires = int((NOW + timedelta(days=2)).timestamp())
    assert linked.out.strip().startswith(
        f"https://council.example.gov/minutes/{meeting_id}/1?expires={expires}&sig=")
    assert missing.code == 2
