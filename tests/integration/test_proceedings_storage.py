"""Storage for a running meeting and its votes (migration 0003), on both engines: attendance of
people without a department, undoable notes and decisions, motions' results, and a close that
declares exactly the ballots stored before it, however casts race it."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from meetings import usecases
from meetings.domain.errors import InvalidInput, VotingClosed
from meetings.domain.model import (
    Attendance,
    AttendanceStatus,
    Choice,
    Decision,
    Department,
    MeetingState,
    Member,
    MotionState,
    Note,
    NoteKind,
    Role,
)
from meetings.domain.votes import current_ballots
from storage import Database, retrying
from tests.integration.conftest import NOW, World, committed, read


async def test_experts_attend_on_their_own_record(migrated_db: Database, world: World) -> None:
    """An expert's attendance has no department: one record per person, kept on a second put."""
    meeting_id = world.meeting.id
    expert = await committed(migrated_db, lambda uow: uow.members.add(
        Member(world.council.id, "Zhou", Role.EXPERT, telegram_id=9)))
    observer = await committed(migrated_db, lambda uow: uow.members.add(
        Member(world.council.id, "Guest", Role.OBSERVER, telegram_id=10)))
    for person in (expert, expert, observer):
        async with migrated_db.uow() as uow:
            await uow.attendance.put(
                Attendance(meeting_id, None, AttendanceStatus.PRESENT, member_id=person.id))
            await uow.commit()
    await committed(migrated_db, lambda uow: uow.attendance.put(
        Attendance(meeting_id, world.environment.id, AttendanceStatus.PRESENT,
                   member_id=world.cio.id)))

    stored = await read(migrated_db, lambda uow: uow.attendance.list(meeting_id))
    assert sorted((a.department_id, a.member_id) for a in stored
                  if a.department_id is None) == [(None, expert.id), (None, observer.id)]
    assert len(stored) == 3


async def test_attendance_needs_a_department_or_a_person(migrated_db: Database,
                                                         world: World) -> None:
    with pytest.raises(InvalidInput, match="a value is missing or out of range"):
        await committed(migrated_db, lambda uow: uow.attendance.put(
            Attendance(world.meeting.id, None, AttendanceStatus.PRESENT)))


async def test_notes_and_decisions_can_be_undone(migrated_db: Database, world: World) -> None:
    note = await committed(migrated_db, lambda uow: uow.notes.add(
        Note(world.meeting.id, NoteKind.INFO, "Budget is 2M", world.cio.id, NOW)))
    kept = await committed(migrated_db, lambda uow: uow.notes.add(
        Note(world.meeting.id, NoteKind.IDEA, "Open source", world.cio.id, NOW)))
    decision = await committed(migrated_db, lambda uow: uow.decisions.add(
        Decision(world.council.id, "Go ahead", NOW, meeting_id=world.meeting.id)))

    await committed(migrated_db, lambda uow: uow.notes.delete(note.id))
    await committed(migrated_db, lambda uow: uow.decisions.delete(decision.id))

    assert await read(migrated_db, lambda uow: uow.notes.list(world.meeting.id)) == [kept]
    assert await read(migrated_db, lambda uow: uow.decisions.list(world.council.id)) == []


async def test_meeting_progress_and_motion_results_round_trip(migrated_db: Database,
                                                              world: World) -> None:
    running = replace(world.meeting, state=MeetingState.IN_PROGRESS, started_at=NOW,
                      topic_id=42, ended_at=NOW + timedelta(hours=2))
    await committed(migrated_db, lambda uow: uow.meetings.update(running))
    closed = replace(world.motion, state=MotionState.CLOSED, closed_at=NOW, chat_id=-100123,
                     message_id=77, eligible=9, yes=5, no=3, abstain=1, passed=True,
                     digest="0123456789ab")
    await committed(migrated_db, lambda uow: uow.motions.update(closed))

    assert await read(migrated_db, lambda uow: uow.meetings.get(world.meeting.id)) == running
    assert await read(migrated_db, lambda uow: uow.motions.get(world.motion.id)) == closed
    assert await read(migrated_db, lambda uow: uow.motions.lock(world.motion.id)) == closed
    assert await read(migrated_db, lambda uow: uow.motions.list(world.council.id,
                                                                open_only=True)) == []
    assert await read(migrated_db, lambda uow: uow.motions.list(world.council.id)) == [closed]


async def _departments_with_present_cios(db: Database, world: World, count: int
                                         ) -> list[Member]:
    """``count`` more departments, each with a CIO marked present at the world's meeting."""
    cios = []
    async with db.uow() as uow:
        await uow.meetings.update(replace(world.meeting, state=MeetingState.IN_PROGRESS,
                                          started_at=NOW))
        for number in range(count):
            department = await uow.departments.add(
                Department(world.council.id, f"D{number}", f"Department {number}"))
            cio = await uow.members.add(Member(world.council.id, f"CIO {number}", Role.CIO,
                                               telegram_id=1000 + number,
                                               department_id=department.id))
            await uow.attendance.put(Attendance(world.meeting.id, department.id,
                                                AttendanceStatus.PRESENT, member_id=cio.id))
            cios.append(cio)
        await uow.commit()
    return cios


async def test_close_declares_exactly_the_ballots_stored_before_it(migrated_db: Database,
                                                                   world: World) -> None:
    """Twenty votes race the chair's close: each is either counted in the declared result or
    refused as closed, and the stored result equals a recount of the stored ballots."""
    cios = await _departments_with_present_cios(migrated_db, world, 20)
    choices = [Choice.YES, Choice.NO, Choice.ABSTAIN]

    async def vote(number: int) -> object:
        return await retrying(migrated_db.uow, lambda uow: usecases.voting.cast_vote(
            uow, world.council.id, world.motion.id, choice=choices[number % 3],
            actor=cios[number], now=NOW + timedelta(seconds=1)))

    async def close() -> usecases.voting.Result:
        return await retrying(migrated_db.uow, lambda uow: usecases.voting.close_motion(
            uow, world.council.id, world.motion.id, actor=world.chair,
            now=NOW + timedelta(seconds=2)))

    tasks: list[asyncio.Task[object]] = [asyncio.ensure_future(vote(n)) for n in range(10)]
    tasks.append(asyncio.ensure_future(close()))
    tasks.extend(asyncio.ensure_future(vote(n)) for n in range(10, 20))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)

    result = outcomes[10]
    assert isinstance(result, usecases.voting.Result)
    votes = outcomes[:10] + outcomes[11:]
    counted = [o for o in votes if isinstance(o, usecases.voting.Cast)]
    refused = [o for o in votes if isinstance(o, VotingClosed)]
    assert len(counted) + len(refused) == 20, [o for o in votes if isinstance(o, Exception)
                                               and not isinstance(o, VotingClosed)]
    ballots = await read(migrated_db, lambda uow: uow.ballots.current(world.motion.id))
    assert len(ballots) == len(counted) == result.count.cast
    stored = await read(migrated_db, lambda uow: uow.motions.get(world.motion.id))
    assert stored is not None
    recount = {choice: sum(1 for b in ballots if b.choice is choice) for choice in choices}
    assert (stored.yes, stored.no, stored.abstain) == (
        recount[Choice.YES], recount[Choice.NO], recount[Choice.ABSTAIN])
    assert stored.eligible == 20  # the world's own CIOs never answered the roll call



async def test_a_press_replayed_after_a_later_one_never_replaces_it(migrated_db: Database,
                                                                    world: World) -> None:
    """A crash leaves update 101 (Yes) unhandled; the voter presses No (update 102) and is told
    it counts; the replay of 101 afterwards is kept as history and No stands."""
    (cio,) = await _departments_with_present_cios(migrated_db, world, 1)

    async def vote(choice: Choice, update_id: int, minute: int) -> usecases.voting.Cast:
        return await retrying(migrated_db.uow, lambda uow: usecases.voting.cast_vote(
            uow, world.council.id, world.motion.id, choice=choice, actor=cio,
            now=NOW + timedelta(minutes=minute), update_id=update_id))

    told = await vote(Choice.NO, 102, 1)
    replayed = await vote(Choice.YES, 101, 2)

    assert (told.replaced, replayed.overtaken_by) == (None, Choice.NO)
    history = await read(migrated_db, lambda uow: uow.ballots.history(world.motion.id))
    assert [(b.choice, b.current, b.update_id) for b in history] == [
        (Choice.NO, True, 102), (Choice.YES, False, 101)]
    assert current_ballots(history) == [history[0]]

    later = await vote(Choice.ABSTAIN, 103, 3)  # a genuinely later change still replaces it
    assert later.replaced is Choice.NO


async def test_concurrent_notes_and_decisions_take_distinct_numbers_and_undo_the_last(
        migrated_db: Database, world: World) -> None:
    """Twelve notes and /agreed decisions sent at once, in one instant and without retries,
    number 1 to 12 (the meeting's lock hands the numbers out in turn); /undo takes the 12th."""
    async with migrated_db.uow() as uow:
        await uow.meetings.update(replace(world.meeting, state=MeetingState.IN_PROGRESS,
                                          started_at=NOW))
        await uow.commit()
    chair = await read(migrated_db, lambda uow: uow.members.get(world.chair.id))
    assert chair is not None

    async def one(number: int) -> Note | Decision:
        if number % 3:
            return await usecases.meeting.add_note(
                migrated_db.uow(), world.council.id, kind=NoteKind.INFO, text=f"n{number}",
                actor=chair, now=NOW)
        return await usecases.meeting.record_agreed(
            migrated_db.uow(), world.council.id, text=f"d{number}", actor=chair, now=NOW)

    made = await asyncio.gather(*(one(number) for number in range(12)))

    assert sorted(record.seq or 0 for record in made) == list(range(1, 13))
    last = max(made, key=lambda record: record.seq or 0)
    undone = await usecases.meeting.undo_last(migrated_db.uow(), world.council.id, actor=chair,
                                              now=NOW)
    assert undone == last
