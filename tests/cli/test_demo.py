"""`cio-council demo`: the scripted season really happens, in the chat and in the database.

The demo is played twice in one directory (as a user re-running it would), so every assertion
below is about the second run: it must stand on its own, not add to the first one's rows.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from rich.console import Console

from bot.clock import FixedClock
from bot.demo import DEPARTMENTS, STEPS, run_demo
from meetings.domain.model import (
    ActionItem,
    Attendance,
    AttendanceStatus,
    AuditEvent,
    Ballot,
    Choice,
    Council,
    Decision,
    Department,
    Meeting,
    MeetingState,
    Member,
    Motion,
    MotionKind,
    MotionState,
    Note,
    NoteKind,
)
from meetings.domain.votes import SecretBox, ballot_digest, box_digest
from storage import Database

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
# The series `bimonthly 2TH 14:30` from NOW: the first meeting, 14 Jan 2027 at 14:30 in Shanghai.
FIRST_MEETING = datetime(2027, 1, 14, 6, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Played:
    out: str
    transcript: str
    url: str


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Played:
    directory = tmp_path_factory.mktemp("demo")
    for _ in range(2):
        out = io.StringIO()
        run_demo(directory, clock=FixedClock(NOW), console=Console(file=out, width=200))
    return Played(out.getvalue(), (directory / "transcript.txt").read_text(encoding="utf-8"),
                  f"sqlite:///{directory / 'council.sqlite3'}")


@dataclass(frozen=True)
class Stored:
    council: Council
    meetings: Sequence[Meeting]
    departments: dict[int, Department]
    members: dict[int, Member]
    attendance: Sequence[Attendance]
    notes: Sequence[Note]
    motions: Sequence[Motion]
    current: dict[int, Sequence[Ballot]]
    boxes: dict[int, SecretBox]  # secret ballots: who voted and the box's counts, unlinked
    history: dict[int, Sequence[Ballot]]
    decisions: Sequence[Decision]
    actions: Sequence[ActionItem]
    audit: Sequence[AuditEvent]

    def code(self, department_id: int | None) -> str:
        assert department_id is not None
        return self.departments[department_id].code


async def _stored(url: str) -> Stored:
    database = Database(url)
    try:
        async with database.uow() as uow:
            (council,) = await uow.councils.list()
            meetings = await uow.meetings.list(council.id, since=NOW)
            motions = await uow.motions.list(council.id)
            return Stored(
                council, meetings,
                {d.id: d for d in await uow.departments.list(council.id)},
                {m.id: m for m in await uow.members.list(council.id)},
                await uow.attendance.list(meetings[0].id), await uow.notes.list(meetings[0].id),
                motions, {m.id: await uow.ballots.current(m.id) for m in motions},
                {m.id: SecretBox.of(m.id, await uow.secret_ballots.voters(m.id),
                                    await uow.secret_ballots.box(m.id))
                 for m in motions if m.kind is MotionKind.SECRET},
                {m.id: await uow.ballots.history(m.id) for m in motions},
                await uow.decisions.list(council.id), await uow.actions.list(council.id),
                await uow.audit.list(council.id))
    finally:
        await database.dispose()


def test_every_step_is_played_and_shown(played: Played) -> None:
    assert f"[{STEPS}/{STEPS}]" in played.out
    for shown in [
        "🏛 Meeting S1 is open (Thu 14 Jan 2027, 14:30).",
        "CIO FIN is present.",
        "HRSS is represented by proxy Li Na at meeting S1; a proxy may not vote.",
        "CIV is excused from meeting S1.",
        "Now discussing #1: Shared environmental data platform",
        "Your vote on M1 is now Yes (it was No).",
        "Yes: EDU, EPB, FIN, MSB",
        "Departments: 6 present in person, 1 by proxy, 1 excused, 1 absent.",
        "• TRN: absent",
        "5 reminders sent privately to the CIOs who had not voted",
        "your department has not voted on circular vote M3 yet",
        "Your vote on M3: Yes.",
        "1 message sent: the result, to the group",
    ]:
        assert shown in played.out, shown


async def test_results_are_posted_with_tallies_and_ballot_hashes(played: Played) -> None:
    stored = await _stored(played.url)
    # The quorum is more than half of the nine member departments, whoever came.
    expected = {MotionKind.NAMED: ("✅ M1 carried", "Yes 4 · No 1 · Abstain 1",
                                   "Quorum 5 of 9 member departments; 6 voted."),
                MotionKind.SECRET: ("✅ M2 carried", "Yes 4 · No 2 · Abstain 0",
                                    "Quorum 5 of 9 member departments; 6 voted."),
                MotionKind.CIRCULAR: ("✅ M3 carried", "Yes 4 · No 1 · Abstain 0",
                                      "Quorum 5 of 9 member departments; 5 voted.")}
    assert [m.kind for m in stored.motions] == list(expected)
    for motion in stored.motions:
        verdict, tally, turnout = expected[motion.kind]
        result = f"{verdict}: {motion.text}\n{tally}\n{turnout}"
        hashed = f"Ballot set #{motion.digest}."
        for where in (played.out.replace("    bot: ", ""), played.transcript):
            assert result in where
            assert hashed in where
    # A secret ballot's result says how many voted what, never who (its first line is the
    # motion's own text, which happens to name a department).
    secret = played.transcript.rsplit("✅ M2 carried", 1)[1].split("Ballot set", 1)[0]
    assert not any(code in line for line in secret.splitlines()[1:] for code, _ in DEPARTMENTS)


async def test_the_meeting_is_recorded(played: Played) -> None:
    stored = await _stored(played.url)
    first = stored.meetings[0]
    assert first.starts_at == FIRST_MEETING
    assert first.state is MeetingState.ENDED
    assert first.started_at == first.starts_at
    assert first.ended_at is not None
    assert all(m.state is not MeetingState.ENDED for m in stored.meetings[1:])

    by_department = {stored.code(a.department_id): a for a in stored.attendance
                     if a.department_id is not None}
    statuses = Counter(a.status for a in by_department.values())
    assert statuses == {AttendanceStatus.PRESENT: 6, AttendanceStatus.PROXY: 1,
                        AttendanceStatus.EXCUSED: 1, AttendanceStatus.ABSENT: 1}
    assert by_department["HRSS"].proxy_name == "Li Na"
    assert by_department["CIV"].reason == "provincial inspection"
    assert by_department["TRN"].status is AttendanceStatus.ABSENT
    (expert,) = [a for a in stored.attendance if a.department_id is None]
    assert expert.member_id is not None
    assert stored.members[expert.member_id].name == "Zhou Min"

    assert {(n.kind, stored.members[n.author_id].name) for n in stored.notes} == {
        (NoteKind.INFO, "Zhou Min"), (NoteKind.IDEA, "CIO HLTH")}
    assert len(stored.notes) == 2
    assert {n.agenda_item_id for n in stored.notes} == {1}  # under the /topic

    agreed = [d for d in stored.decisions if d.motion_id is None]
    assert [d.text for d in agreed] == ["Each bureau names a data steward by the next meeting"]
    assert agreed[0].meeting_id == first.id
    (action,) = stored.actions
    assert (stored.code(action.department_id), action.due, action.meeting_id) == (
        "EPB", date(2027, 2, 13), first.id)


async def test_the_votes_are_recorded_and_recount(played: Played) -> None:
    stored = await _stored(played.url)
    named, secret, circular = stored.motions
    for motion in stored.motions:
        assert motion.state is MotionState.CLOSED
        assert motion.passed
        # The posted hash is a recount of the stored ballots (a secret ballot's, of its box).
        assert motion.digest == (box_digest(stored.boxes[motion.id]) if motion.id in stored.boxes
                                 else ballot_digest(stored.current[motion.id]))
        assert [d.motion_id for d in stored.decisions].count(motion.id) == 1
    assert named.meeting_id == secret.meeting_id == stored.meetings[0].id
    assert (named.yes, named.no, named.abstain, named.eligible) == (4, 1, 1, 6)
    assert (secret.yes, secret.no, secret.abstain, secret.eligible) == (4, 2, 0, 6)
    assert (circular.yes, circular.no, circular.abstain, circular.eligible) == (4, 1, 0, 9)

    # MSB pressed No, then Yes: both ballots are kept, the later one counts.
    msb = [(b.choice, b.current) for b in stored.history[named.id]
           if stored.code(b.department_id) == "MSB"]
    assert msb == [(Choice.NO, False), (Choice.YES, True)]
    assert len(stored.history[named.id]) == 7
    assert {stored.code(b.department_id) for b in stored.current[circular.id]} == {
        "EPB", "MSB", "EDU", "HLTH", "TRN"}

    # The circular vote was closed by the reminder worker once its deadline had passed.
    assert circular.meeting_id is None
    assert circular.closes_at is not None
    assert circular.closed_at is not None
    assert circular.closes_at < circular.closed_at <= circular.closes_at + timedelta(hours=1)
    closes = [(e.actor, json.loads(e.payload)["motion"]) for e in stored.audit
              if e.action == "motion.close"]
    assert closes[-1] == ("operator:scheduler", circular.id)
    assert [motion for _, motion in closes] == [named.id, secret.id, circular.id]
