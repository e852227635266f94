"""Concurrent units of work, each on its own connection, leave consistent state."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from functools import partial

import pytest

from meetings.domain.audit import verify
from meetings.domain.errors import VotingClosed
from meetings.domain.model import Attendance, AttendanceStatus, Ballot, Choice, MotionState
from meetings.ports import AuditEntry
from storage import Conflict, Database, SqlUnitOfWork, retrying
from tests.integration.conftest import NOW, World, read

CHOICES = [Choice.YES, Choice.NO, Choice.ABSTAIN]


async def test_concurrent_recasts_leave_one_current_ballot(migrated_db: Database,
                                                           world: World) -> None:
    """Twenty simultaneous votes by one CIO: one current ballot, twenty in history."""
    async def cast(number: int, uow: SqlUnitOfWork) -> None:
        async with uow:
            await uow.ballots.cast(Ballot(world.motion.id, world.cio.id, world.environment.id,
                                          CHOICES[number % 3], NOW + timedelta(seconds=number)))
            await uow.commit()

    await asyncio.gather(*(retrying(migrated_db.uow, partial(cast, n))
                           for n in range(20)))

    current = await read(migrated_db, lambda uow: uow.ballots.current(world.motion.id))
    history = await read(migrated_db, lambda uow: uow.ballots.history(world.motion.id))
    assert len(current) == 1
    assert len(history) == 20
    assert sum(ballot.current for ballot in history) == 1


async def test_casts_racing_a_close_are_stored_or_refused(migrated_db: Database,
                                                          world: World) -> None:
    """Each vote racing the close is either stored or refused as closed, nothing in between."""
    async def cast(number: int, uow: SqlUnitOfWork) -> bool:
        async with uow:
            await uow.ballots.cast(Ballot(world.motion.id, world.cio.id, world.environment.id,
                                          CHOICES[number % 3], NOW))
            await uow.commit()
        return True

    async def close(uow: SqlUnitOfWork) -> bool:
        async with uow:
            await uow.motions.update(replace(world.motion, state=MotionState.CLOSED,
                                             closed_at=NOW))
            await uow.commit()
        return False

    works: list[Callable[[SqlUnitOfWork], Awaitable[bool]]] = [partial(cast, n) for n in range(10)]
    works.insert(5, close)
    outcomes = await asyncio.gather(*(retrying(migrated_db.uow, work) for work in works),
                                    return_exceptions=True)

    stored = [outcome for outcome in outcomes if outcome is True]
    refused = [outcome for outcome in outcomes if isinstance(outcome, VotingClosed)]
    assert len(stored) + len(refused) == 10
    history = await read(migrated_db, lambda uow: uow.ballots.history(world.motion.id))
    assert len(history) == len(stored)


async def test_concurrent_attendance_puts_keep_one_record(migrated_db: Database,
                                                          world: World) -> None:
    """Racing first records of one department's attendance converge on a single row."""
    async def put(status: AttendanceStatus, uow: SqlUnitOfWork) -> None:
        async with uow:
            await uow.attendance.put(Attendance(world.meeting.id, world.market.id, status))
            await uow.commit()

    statuses = list(AttendanceStatus) * 3
    await asyncio.gather(*(retrying(migrated_db.uow, partial(put, s))
                           for s in statuses))

    assert len(await read(migrated_db, lambda uow: uow.attendance.list(world.meeting.id))) == 1


async def test_concurrent_audit_appends_form_one_chain(migrated_db: Database,
                                                       world: World) -> None:
    """Simultaneous appends to one council's log never fork it: one chain, no gaps."""
    async def append(number: int, uow: SqlUnitOfWork) -> None:
        async with uow:
            await uow.audit.append(AuditEntry(world.council.id, "tg:1", "note.add",
                                              {"n": number}, NOW))
            await uow.commit()

    await asyncio.gather(*(retrying(migrated_db.uow, partial(append, n))
                           for n in range(12)))

    events = await read(migrated_db, lambda uow: uow.audit.list(world.council.id))
    assert [event.seq for event in events] == list(range(1, 13))
    assert verify(events) == []


async def test_retrying_reruns_only_races() -> None:
    """A lost race is run again on a fresh unit of work; any other error surfaces at once."""
    calls: list[object] = []

    async def flaky(uow: object) -> str:
        calls.append(uow)
        if len(calls) < 3:
            raise Conflict("lost a race")
        return "done"

    async def broken(uow: object) -> str:
        calls.append(uow)
        raise VotingClosed("closed")

    assert await retrying(object, flaky) == "done"
    assert len(set(map(id, calls))) == 3
    calls.clear()
    with pytest.raises(VotingClosed):
        await retrying(object, broken)
    assert len(calls) == 1
