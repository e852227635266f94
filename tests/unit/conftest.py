"""A council in the in-memory unit of work, shared by the use-case tests of the chat commands."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from meetings import usecases
from meetings.domain.model import Council, Member, Role
from tests.unit.fakes import FakeUnitOfWork

SET_UP_AT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
COUNCIL_CHAT = -100777


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
async def council(uow: FakeUnitOfWork) -> Council:
    """A council bound to a group chat, with departments EPB and MSB."""
    operator = usecases.common.Operator()
    created = await usecases.councils.create_council(
        uow, name="Riverside CIO Council", actor=operator, now=SET_UP_AT, chat_id=COUNCIL_CHAT
    )
    for code in ("EPB", "MSB"):
        await usecases.councils.add_department(
            uow, created.id, code=code, name=code, actor=operator, now=SET_UP_AT
        )
    return created


@pytest.fixture
async def people(uow: FakeUnitOfWork, council: Council) -> dict[str, Member]:
    """Its chair, secretary, the CIOs of EPB and MSB, and an expert, keyed by role or code."""
    made: dict[str, Member] = {}
    for key, role, department in [
        ("chair", Role.CHAIR, None),
        ("secretary", Role.SECRETARY, None),
        ("EPB", Role.CIO, "EPB"),
        ("MSB", Role.CIO, "MSB"),
        ("expert", Role.EXPERT, None),
    ]:
        made[key] = await usecases.councils.add_member(
            uow,
            council.id,
            name=key,
            role=role,
            actor=usecases.common.Operator(),
            now=SET_UP_AT,
            department=department,
            telegram_id=len(made) + 10,
        )
    return made
