"""Appraisal use cases against the in-memory unit of work: the office's table per person, a CIO's
own card and nothing else, and the council's weights."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from meetings import usecases
from meetings.domain.appraisal import Weights
from meetings.domain.errors import InvalidInput, NotAllowed
from meetings.domain.model import (
    Attendance,
    AttendanceStatus,
    Council,
    Meeting,
    MeetingKind,
    MeetingState,
    Member,
    Role,
)
from tests.unit.fakes import FakeUnitOfWork

NOW = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
FIRST = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)
HANDOVER = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
SECOND = datetime(2026, 12, 17, 2, 0, tzinfo=UTC)
CLI = usecases.common.Operator()


@pytest.fixture
async def history(uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> Member:
    """Two held meetings in December; EPB's CIO hands over to Zhao between them; the new CIO."""
    async with uow:
        first = await uow.meetings.add(Meeting(council.id, MeetingKind.REGULAR, FIRST,
                                               state=MeetingState.ENDED))
        second = await uow.meetings.add(Meeting(council.id, MeetingKind.REGULAR, SECOND,
                                                state=MeetingState.MINUTES_APPROVED))
        epb = people["EPB"].department_id
        await uow.attendance.put(Attendance(first.id, epb, AttendanceStatus.PRESENT,
                                            people["EPB"].id))
        await uow.commit()
    await usecases.councils.set_role(uow, council.id, member_ref=str(people["EPB"].id),
                                     role=Role.EXPERT,
                                     actor=CLI, now=HANDOVER)
    successor = await usecases.councils.add_member(
        uow, council.id, name="Zhao", role=Role.CIO, actor=CLI, now=HANDOVER, department="EPB",
        telegram_id=99)
    async with uow:
        await uow.attendance.put(Attendance(second.id, epb, AttendanceStatus.PROXY,
                                            successor.id, proxy_name="Deputy"))
        await uow.commit()
    return successor


async def test_the_table_has_one_row_per_person(uow: FakeUnitOfWork, council: Council,
                                                people: dict[str, Member],
                                                history: Member) -> None:
    """EPB's first CIO answers for the first meeting only, Zhao for the second; MSB for both."""
    table = await usecases.appraisal.council_table(uow, council.id, period="2026",
                                                   actor=people["secretary"], now=NOW)
    expected = [("EPB", "EPB", 1, 1, 0, 0, 66.7), ("EPB", "Zhao", 1, 0, 1, 0, 0.0),
                ("MSB", "MSB", 2, 0, 0, 2, 0.0)]
    assert expected == [
        (r.department_code, r.member_name, r.tally.held, r.tally.present, r.tally.proxy,
         r.tally.absent, r.score) for r in table.rows]
    zhao_span = (date(2026, 12, 10), date(2026, 12, 31))
    assert zhao_span == (table.rows[1].since, table.rows[1].until)


async def test_a_cio_gets_only_their_own_card(uow: FakeUnitOfWork, council: Council,
                                              people: dict[str, Member], history: Member) -> None:
    """Zhao's card holds Zhao's figures with the meeting behind each, not the predecessor's."""
    zhao = await _member(uow, history.id)
    [card] = await usecases.appraisal.explain(uow, council.id, period="2026-Q4", actor=zhao,
                                              now=NOW)
    assert (card.row.member_name, card.row.tally.held) == ("Zhao", 1)
    assert [SECOND.date()] == [ref.day for ref in card.evidence["proxy"]]


@pytest.mark.parametrize(("who", "code"), [("MSB", "EPB"), ("expert", "EPB")])
async def test_others_cards_are_refused_and_nothing_changes(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], history: Member,
        who: str, code: str) -> None:
    """Another department's CIO or an expert asking for EPB's card is refused; no commit."""
    commits = uow.commits
    with pytest.raises(NotAllowed):
        await usecases.appraisal.explain(uow, council.id, period="2026", actor=people[who],
                                         now=NOW, code=code)
    assert commits == uow.commits


async def test_a_cio_may_not_see_the_council_table(uow: FakeUnitOfWork, council: Council,
                                                   people: dict[str, Member]) -> None:
    """The table is the office's."""
    with pytest.raises(NotAllowed):
        await usecases.appraisal.council_table(uow, council.id, period="2026",
                                               actor=people["MSB"], now=NOW)


async def test_the_chair_sets_the_weights(uow: FakeUnitOfWork, council: Council,
                                          people: dict[str, Member]) -> None:
    """Changed parts are stored, the rest kept; audited; the secretary and bad values refused."""
    stored = await usecases.appraisal.set_weights(uow, council.id, actor=people["chair"],
                                                  now=NOW, attendance=50, excused="absent")
    assert Weights(50, 20, 20, 20, excused_neutral=False) == stored
    assert Weights(50, 20, 20, 20, excused_neutral=False) == (
        await usecases.appraisal.weights(uow, council.id))
    assert uow.rows("audit")[-1].action == "appraisal.weights"
    with pytest.raises(NotAllowed):
        await usecases.appraisal.set_weights(uow, council.id, actor=people["secretary"],
                                             now=NOW, votes=0)
    with pytest.raises(InvalidInput):
        await usecases.appraisal.set_weights(uow, council.id, actor=CLI, now=NOW, votes=101)
    with pytest.raises(InvalidInput):
        await usecases.appraisal.set_weights(uow, council.id, actor=CLI, now=NOW, excused="x")


async def _member(uow: FakeUnitOfWork, member_id: int) -> Member:
    async with uow:
        found = await uow.members.get(member_id)
    assert found is not None
    return found
