"""`cio-council appraisal` and `export appraisal` against a real database: the files agree with
the table, the explanation names the meetings, the weights change only the score, and mistakes
are one `error:` line with exit 2 and no file."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from meetings.domain.model import Attendance, AttendanceStatus, Meeting, MeetingKind, MeetingState
from storage import Database
from tests.cli.test_cli import Cli, make_cli

MEETINGS = [datetime(2026, 12, 3, 2, 0, tzinfo=UTC), datetime(2026, 12, 17, 2, 0, tzinfo=UTC)]


@pytest.fixture
def appraised(migrated_url: str, monkeypatch: pytest.MonkeyPatch) -> Cli:
    """A council whose CIOs joined on 25 November; two meetings held in December: EPB present
    then by proxy, the formula-named department absent from both."""
    cli = make_cli(migrated_url, monkeypatch)
    for args in [("council", "create", "Riverside"),
                 ("department", "add", "EPB", "生态环境局"),
                 ("department", "add", "MSB", "=cmd|' /C calc'!A0"),
                 ("member", "add", "李明", "--role", "cio", "--department", "EPB"),
                 ("member", "add", "Wang", "--role", "cio", "--department", "MSB")]:
        assert cli(*args).code == 0

    async def history() -> None:
        database = Database(migrated_url)
        try:
            async with database.uow() as uow:
                epb = await uow.departments.by_code(1, "EPB")
                assert epb is not None
                for at, status in zip(MEETINGS, (AttendanceStatus.PRESENT,
                                                 AttendanceStatus.PROXY), strict=True):
                    meeting = await uow.meetings.add(Meeting(1, MeetingKind.REGULAR, at,
                                                             state=MeetingState.ENDED))
                    await uow.attendance.put(Attendance(meeting.id, epb.id, status))
                await uow.commit()
        finally:
            await database.dispose()

    asyncio.run(history())
    return cli


def test_the_table_and_its_files_agree(appraised: Cli, tmp_path: Path) -> None:
    """`appraisal show`, the .xlsx and the .csv carry the same figures; the .docx explains them;
    the chart is a PNG; each export reports its progress on stderr."""
    shown = appraised("appraisal", "show", "--period", "2026")
    assert shown.code == 0, shown
    assert "EPB 李明 (11-25–12-31): present 1/2 (proxy 1, excused 0, absent 0)" in shown.out
    assert "Weights: attendance 40, agenda 20, votes 20, actions on time 20" in shown.out
    files = {}
    for kind in ("xlsx", "csv", "docx", "png"):
        target = tmp_path / f"appraisal.{kind}"
        result = appraised("export", "appraisal", "--period", "2026", "--format", kind,
                           "-o", str(target))
        assert result.code == 0, result
        assert "Tallying 2026 for Riverside..." in result.err
        files[kind] = target.read_bytes()
    sheet = load_workbook(io.BytesIO(files["xlsx"])).active
    assert sheet is not None
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=3)]
    assert rows[0][:3] == ["EPB", "生态环境局", "李明"]
    assert rows[0][5:10] == [2, 1, 1, 0, 0]
    assert rows[1][:3] == ["MSB", "=cmd|' /C calc'!A0", "Wang"]
    assert rows[1][5:10] == [2, 0, 0, 0, 2]
    lines = list(csv.reader(io.StringIO(files["csv"].decode("utf-8-sig"), newline="")))
    names = [line[:3] for line in lines[2:]]
    assert names == [["EPB", "生态环境局", "李明"], ["MSB", "'=cmd|' /C calc'!A0", "Wang"]]
    assert [[float(str(v)) for v in row[5:]] for row in rows] == [
        [float(v) for v in line[5:]] for line in lines[2:]]
    report = "\n".join(p.text for p in Document(io.BytesIO(files["docx"])).paragraphs)
    assert "by proxy: meeting" in report.lower() or "By proxy: meeting" in report
    assert files["png"].startswith(b"\x89PNG")


def test_explain_names_the_records_behind_each_figure(appraised: Cli) -> None:
    """The card lists the meetings counted as present and by proxy, and the rates."""
    result = appraised("appraisal", "explain", "--period", "2026-Q4", "--department", "epb")
    assert result.code == 0, result
    assert "present in person: 1 — meeting S1 (Thu 3 Dec 2026)" in result.out
    assert "by proxy: 1 — meeting S2 (Thu 17 Dec 2026)" in result.out
    assert "attendance (weight 40): 1/2 = 50.0%" in result.out


def test_weights_change_the_score_only(appraised: Cli) -> None:
    """With attendance alone weighed EPB scores 50; the figures stay; the change is shown."""
    before = appraised("appraisal", "show", "--period", "2026").out
    changed = appraised("appraisal", "weights", "--attendance", "100", "--agenda", "0",
                        "--votes", "0", "--actions", "0", "--excused", "absent")
    assert changed.code == 0, changed
    assert "attendance 100, agenda 0" in changed.out
    assert "excused absences count as absent" in changed.out
    after = appraised("appraisal", "show", "--period", "2026").out
    assert "score 50" in after
    assert before.split("score")[0].splitlines()[-1] == after.split("score")[0].splitlines()[-1]


@pytest.mark.parametrize(("args", "message"), [
    (("appraisal", "show", "--period", "2026-Q5"), "bad period '2026-Q5'"),
    (("appraisal", "explain", "--period", "2026", "--department", "XYZ"),
     "no department with code 'XYZ'"),
    (("appraisal", "weights", "--votes", "101"), "between 0 and 100"),
    (("appraisal", "weights", "--excused", "maybe"), "neutral or absent"),
    (("export", "appraisal", "--period", "2026-02-30..2026-03-01", "-o", "{out}"),
     "impossible date"),
])
def test_mistakes_are_one_error_line_and_write_nothing(appraised: Cli, tmp_path: Path,
                                                       args: tuple[str, ...],
                                                       message: str) -> None:
    """Exit 2, a single `error:` line naming the problem, no progress line claiming to tally,
    no file, the weights unchanged."""
    out = tmp_path / "out.xlsx"
    result = appraised(*(arg.replace("{out}", str(out)) for arg in args))
    assert result.code == 2
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert message in errors[0]
    assert "Tallying" not in result.out + result.err
    assert not out.exists()
    assert "attendance 40" in appraised("appraisal", "weights").out
