"""A small stored council for storage tests: two departments, their CIOs, a meeting, a motion."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

import pytest

from meetings.domain.model import (
    Council,
    Department,
    MajorityRule,
    Meeting,
    MeetingKind,
    Member,
    Motion,
    MotionKind,
    Role,
)
from storage import Database, SqlUnitOfWork

NOW = datetime(2025, 3, 13, 6, 30, 15, 123456, tzinfo=UTC)

T = TypeVar("T")


async def committed(db: Database, work: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
    """Runs ``work`` in its own unit of work and commits it."""
    async with db.uow() as uow:
        result = await work(uow)
        await uow.commit()
    return result


async def read(db: Database, work: Callable[[SqlUnitOfWork], Awaitable[T]]) -> T:
    """Runs ``work`` in a fresh unit of work, so values come from the database, not a session."""
    async with db.uow() as uow:
        return await work(uow)


@dataclass(frozen=True)
class World:
    council: Council
    environment: Department
    market: Department
    chair: Member
    cio: Member
    other_cio: Member
    meeting: Meeting
    motion: Motion


@pytest.fixture
async def world(migrated_db: Database) -> World:
    async with migrated_db.uow() as uow:
        council = await uow.councils.add(Council(name="District CIO Committee", chat_id=-1001))
        environment = await uow.departments.add(Department(council.id, "EPB", "Environment"))
        market = await uow.departments.add(Department(council.id, "MSB", "Market Supervision"))
        chair = await uow.members.add(Member(council.id, "Chair", Role.CHAIR, telegram_id=1))
        cio = await uow.members.add(
            Member(council.id, "Li", Role.CIO, telegram_id=2, department_id=environment.id))
        other_cio = await uow.members.add(
            Member(council.id, "Wang", Role.CIO, telegram_id=3, department_id=market.id))
        meeting = await uow.meetings.add(
            Meeting(council.id, MeetingKind.REGULAR, NOW, occurrence=date(2025, 3, 13)))
        motion = await uow.motions.add(Motion(council.id, MotionKind.NAMED, "Adopt the plan",
                                              MajorityRule.SIMPLE, 0.5, NOW, meeting_id=meeting.id))
        await uow.commit()
    return World(council, environment, market, chair, cio, other_cio, meeting, motion)
