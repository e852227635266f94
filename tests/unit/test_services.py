"""Use cases against the in-memory unit of work: authorisation, validation, audit, atomicity."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypedDict

import pytest

from meetings import usecases
from meetings.domain.audit import verify
from meetings.domain.errors import (
    Duplicate,
    InvalidInput,
    InvalidSchedule,
    NotAllowed,
    UnknownCouncil,
    UnknownDepartment,
)
from meetings.domain.model import Council, MeetingKind, MeetingState, Member, Role
from tests.unit.fakes import FakeUnitOfWork

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CLI = usecases.common.Operator()


@pytest.fixture
async def council(uow: FakeUnitOfWork) -> Council:
    created = await usecases.councils.create_council(
        uow, name="Riverside CIO Council", actor=CLI, now=NOW
    )
    for code, name in [("EPB", "Environmental Protection"), ("MSB", "Market Supervision")]:
        await usecases.councils.add_department(
            uow, created.id, code=code, name=name, actor=CLI, now=NOW
        )
    return created


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


async def test_every_change_is_audited_in_one_chain(uow: FakeUnitOfWork, council: Council) -> None:
    """Creating a council and two departments leaves three linked audit events."""
    events = uow.rows("audit")
    assert [e.action for e in events] == ["council.create", "department.add", "department.add"]
    assert verify(events) == []


async def test_duplicate_names_and_codes_are_refused(uow: FakeUnitOfWork, council: Council) -> None:
    """A second council of the same name or a second EPB is refused and nothing is stored."""
    before = uow.commits
    with pytest.raises(Duplicate):
        await usecases.councils.create_council(
            uow, name="Riverside CIO Council", actor=CLI, now=NOW
        )
    with pytest.raises(Duplicate):
        await usecases.councils.add_department(
            uow, council.id, code="epb", name="x", actor=CLI, now=NOW
        )
    assert uow.commits == before
    assert len(uow.rows("departments")) == 2


class CouncilSettings(TypedDict, total=False):
    """The settings of `create_council` a case overrides."""

    timezone: str
    language: str
    holiday_country: str


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"timezone": "Nowhere/City"}, InvalidInput, "unknown time zone"),
        ({"language": "fr"}, InvalidInput, "not supported"),
        ({"holiday_country": "QQ"}, InvalidInput, "QQ"),
    ],
)
async def test_council_settings_are_validated(
    uow: FakeUnitOfWork, kwargs: CouncilSettings, error: type[Exception], match: str
) -> None:
    """A council with an unknown zone, language or holiday country is refused before storing."""
    with pytest.raises(error, match=match):
        await usecases.councils.create_council(uow, name="X", actor=CLI, now=NOW, **kwargs)
    assert uow.rows("councils") == []


async def test_one_cio_per_department(uow: FakeUnitOfWork, council: Council) -> None:
    """A department has one CIO; a second is refused, and a CIO must name a department."""
    await usecases.councils.add_member(
        uow,
        council.id,
        name="Li Na",
        role=Role.CIO,
        actor=CLI,
        now=NOW,
        department="EPB",
        telegram_id=11,
    )
    with pytest.raises(Duplicate, match="EPB already has a CIO: Li Na"):
        await usecases.councils.add_member(
            uow, council.id, name="Zhao", role=Role.CIO, actor=CLI, now=NOW, department="EPB"
        )
    with pytest.raises(InvalidInput, match="needs a department"):
        await usecases.councils.add_member(
            uow, council.id, name="Zhao", role=Role.CIO, actor=CLI, now=NOW
        )
    with pytest.raises(UnknownDepartment, match="'XYZ'"):
        await usecases.councils.add_member(
            uow, council.id, name="Zhao", role=Role.CIO, actor=CLI, now=NOW, department="XYZ"
        )


async def test_role_change_by_username(uow: FakeUnitOfWork, council: Council) -> None:
    """The chair can make an observer the CIO of a department, found by @username."""
    await usecases.councils.add_member(
        uow, council.id, name="Guest", role=Role.OBSERVER, actor=CLI, now=NOW, username="@guest"
    )
    changed = (await usecases.councils.set_role(
        uow, council.id, member_ref="@Guest", role=Role.CIO, actor=CLI, now=NOW, department="MSB"
    )).member
    msb = next(d for d in uow.rows("departments") if d.code == "MSB")
    assert (changed.role, changed.department_id) == (Role.CIO, msb.id)
    again = (await usecases.councils.set_role(
        uow, council.id, member_ref="@guest", role=Role.CIO, actor=CLI, now=NOW, department="MSB"
    )).member
    assert again == changed


async def test_members_act_only_within_their_role(uow: FakeUnitOfWork, council: Council) -> None:
    """A CIO may not add departments or schedule; nothing changes when refused."""
    cio = await usecases.councils.add_member(
        uow, council.id, name="Li", role=Role.CIO, actor=CLI, now=NOW, department="EPB"
    )
    secretary = await usecases.councils.add_member(
        uow, council.id, name="Sec", role=Role.SECRETARY, actor=CLI, now=NOW
    )
    with pytest.raises(NotAllowed):
        await usecases.councils.add_department(
            uow, council.id, code="EDU", name="e", actor=cio, now=NOW
        )
    with pytest.raises(NotAllowed):
        await usecases.schedule.schedule_meeting(
            uow, council.id, local_start="2027-01-14 14:30", actor=cio, now=NOW
        )
    with pytest.raises(NotAllowed):
        await usecases.councils.set_role(
            uow, council.id, member_ref=str(cio.id), role=Role.CHAIR, actor=secretary, now=NOW
        )
    added = await usecases.councils.add_department(
        uow, council.id, code="EDU", name="Education", actor=secretary, now=NOW
    )
    assert isinstance(secretary, Member)
    assert added.code == "EDU"


async def test_series_plans_a_year_of_bimonthly_meetings(
    uow: FakeUnitOfWork, council: Council
) -> None:
    """A bimonthly series yields six meetings in the next twelve months, none on a holiday."""
    _, planned = await usecases.schedule.set_series(
        uow, council.id, spec="bimonthly 2TH 14:30 120", actor=CLI, now=NOW
    )
    assert len(planned) == 6
    assert {m.kind for m in planned} == {MeetingKind.REGULAR}
    again = await usecases.schedule.extend_series(uow, council.id, now=NOW)
    assert again == []


async def test_resetting_the_series_replaces_untouched_meetings(
    uow: FakeUnitOfWork, council: Council
) -> None:
    """Setting a new cadence replaces the old series' future meetings instead of adding to them."""
    await usecases.schedule.set_series(
        uow, council.id, spec="bimonthly 2TH 14:30", actor=CLI, now=NOW
    )
    await usecases.schedule.set_series(
        uow, council.id, spec="bimonthly 3TU 09:00", actor=CLI, now=NOW
    )
    meetings = await usecases.schedule.list_meetings(uow, council.id)
    assert len(meetings) == 6
    assert {m.starts_at.hour for m in meetings} == {1}  # 09:00 in Shanghai is 01:00 UTC


async def test_bad_series_changes_nothing(uow: FakeUnitOfWork, council: Council) -> None:
    """A bad RRULE is refused with a specific error and stores no series and no meeting."""
    with pytest.raises(InvalidSchedule):
        await usecases.schedule.set_series(
            uow, council.id, spec="FREQ=SOMETIMES", actor=CLI, now=NOW
        )
    assert uow.rows("series") == []
    assert uow.rows("meetings") == []


async def test_schedule_move_and_cancel_one_meeting(uow: FakeUnitOfWork, council: Council) -> None:
    """An extraordinary meeting can be scheduled, moved and cancelled, each step audited."""
    meeting = await usecases.schedule.schedule_meeting(
        uow, council.id, local_start="2027-01-14 14:30", actor=CLI, now=NOW, title="Data platform"
    )
    assert meeting.starts_at == datetime(2027, 1, 14, 6, 30, tzinfo=UTC)
    moved = await usecases.schedule.reschedule_meeting(
        uow, council.id, meeting.id, local_start="2027-01-21 09:00", actor=CLI, now=NOW
    )
    assert moved.starts_at == datetime(2027, 1, 21, 1, 0, tzinfo=UTC)
    cancelled = await usecases.schedule.cancel_meeting(
        uow, council.id, meeting.id, actor=CLI, now=NOW
    )
    assert cancelled.state is MeetingState.CANCELLED
    assert [e.action for e in uow.rows("audit")][-3:] == [
        "meeting.schedule",
        "meeting.reschedule",
        "meeting.cancel",
    ]


@pytest.mark.parametrize(
    "start", ["2027-02-30 14:30", "2027-13-01 10:00", "tomorrow", "2020-01-09 14:30"]
)
async def test_impossible_or_past_dates_are_refused(
    uow: FakeUnitOfWork, council: Council, start: str
) -> None:
    """Impossible or past dates get a scheduling error and no meeting is stored."""
    with pytest.raises(InvalidSchedule):
        await usecases.schedule.schedule_meeting(
            uow, council.id, local_start=start, actor=CLI, now=NOW
        )
    assert uow.rows("meetings") == []


async def test_council_lookup(uow: FakeUnitOfWork) -> None:
    """With one council it is the default; with none or several the error says what to do."""
    with pytest.raises(UnknownCouncil, match="no council exists yet"):
        async with uow:
            await usecases.common.council_by_ref(uow, None)
    first = await usecases.councils.create_council(uow, name="A", actor=CLI, now=NOW)
    async with uow:
        assert await usecases.common.council_by_ref(uow, None) == first
    await usecases.councils.create_council(uow, name="B", actor=CLI, now=NOW)
    async with uow:
        with pytest.raises(UnknownCouncil, match="--council"):
            await usecases.common.council_by_ref(uow, None)
        assert await usecases.common.council_by_ref(uow, str(first.id)) == first
        assert (await usecases.common.council_by_ref(uow, "B")).name == "B"
