"""SQL implementations of the repositories in ``meetings.ports``.

All of them work inside the caller's transaction and never commit. They flush after each write so
constraint violations surface here, translated into domain errors, rather than at commit time.
Lists come in insertion (id) order, meetings in start order, the audit log in sequence order, as
the in-memory fakes of the unit tests do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar, Generic

from sqlalchemy import ColumnElement, case, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from meetings.domain import model
from meetings.domain.audit import seal
from meetings.domain.errors import (
    AlreadyVoted,
    Duplicate,
    NotFound,
    UnknownCouncil,
    UnknownDepartment,
    UnknownMeeting,
    UnknownMember,
    UnknownMotion,
)
from meetings.domain.minutes import MinutesRevision, MinutesTemplate
from meetings.ports import AuditEntry
from storage.db import insert_unless_present
from storage.errors import Conflict, translated
from storage.mapping import ROW_TYPES, V, copy_into, to_domain, to_row
from storage.tables import (
    ActionItemRow,
    AgendaItemRow,
    AttendanceRow,
    AuditEventRow,
    BallotBoxRow,
    BallotRow,
    ChatPersonRow,
    CouncilRow,
    DecisionRow,
    DepartmentRow,
    FeedTokenRow,
    GuestRow,
    MeetingRow,
    MemberRow,
    MinutesRevisionRow,
    MinutesTemplateRow,
    MotionRow,
    NoteRow,
    SecretVoteRow,
    SeriesRow,
)


class _Repository(Generic[V]):
    """Plumbing shared by every repository: one domain value type stored in one table."""

    value_type: ClassVar[type[Any]]
    missing: ClassVar[type[NotFound]] = NotFound
    missing_template: ClassVar[str] = "record {id} does not exist"

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._row_type = ROW_TYPES[self.value_type]

    async def add(self, value: V) -> V:
        return await self._insert(value)

    async def get(self, value_id: int) -> V | None:
        row = await self._session.get(self._row_type, value_id)
        return None if row is None else self._domain(row)

    async def update(self, value: V) -> V:
        row = await self._session.get(self._row_type, value.id)
        if row is None:
            raise self.missing(self.missing_template, id=value.id)
        return await self._overwrite(row, value)

    def _duplicate(self, value: V) -> Exception:
        """What it means to the user when ``value`` breaks a unique constraint."""
        return Duplicate("this is already recorded")

    def _domain(self, row: Any) -> V:
        value: V = to_domain(row, self.value_type)
        return value

    async def _insert(self, value: V, *, race: str | None = None) -> V:
        """Stores ``value``; with ``race``, a unique violation is a lost race (`Conflict`)."""
        row = to_row(value)
        self._session.add(row)
        with translated(duplicate=Conflict(race) if race else self._duplicate(value)):
            await self._session.flush()
        return self._domain(row)

    async def _put(self, value: V, *key: ColumnElement[bool]) -> V:
        """Inserts ``value`` or overwrites the row matching ``key``."""
        row = (await self._session.exec(select(self._row_type).where(*key))).first()
        if row is None:
            # Losing the insert to a concurrent put is a race, not a duplicate: a rerun finds
            # the winner's row and overwrites it.
            return await self._insert(value, race="a concurrent write stored it first")
        return await self._overwrite(row, value)

    async def _overwrite(self, row: Any, value: V) -> V:
        copy_into(row, value)
        with translated(duplicate=self._duplicate(value)):
            await self._session.flush()
        return self._domain(row)

    async def _first(self, *where: ColumnElement[bool], order_by: Sequence[Any] = ()) -> V | None:
        found = await self._all(*where, order_by=order_by, limit=1)
        return found[0] if found else None

    async def _all(self, *where: ColumnElement[bool], order_by: Sequence[Any] = (),
                   limit: int | None = None) -> list[V]:
        ordering = (*order_by, self._row_type.id)  # type: ignore[attr-defined]  # every table has an id
        statement = select(self._row_type).where(*where).order_by(*ordering).limit(limit)
        return [self._domain(row) for row in await self._session.exec(statement)]


class SqlCouncils(_Repository[model.Council]):
    value_type = model.Council
    missing = UnknownCouncil
    missing_template = "no council {id}"

    def _duplicate(self, council: model.Council) -> Exception:
        return Duplicate("a council named {name} or bound to this chat already exists",
                         name=council.name)

    async def by_name(self, name: str) -> model.Council | None:
        return await self._first(col(CouncilRow.name) == name)

    async def by_chat(self, chat_id: int) -> model.Council | None:
        return await self._first(col(CouncilRow.chat_id) == chat_id)

    async def list(self) -> Sequence[model.Council]:
        return await self._all()


class SqlDepartments(_Repository[model.Department]):
    value_type = model.Department
    missing = UnknownDepartment
    missing_template = "no department {id}"

    def _duplicate(self, department: model.Department) -> Exception:
        return Duplicate("department code {code} already exists", code=department.code)

    async def by_code(self, council_id: int, code: str) -> model.Department | None:
        return await self._first(col(DepartmentRow.council_id) == council_id,
                                 col(DepartmentRow.code) == code)

    async def list(self, council_id: int) -> Sequence[model.Department]:
        return await self._all(col(DepartmentRow.council_id) == council_id)


class SqlMembers(_Repository[model.Member]):
    value_type = model.Member
    missing = UnknownMember
    missing_template = "no member {id} in this council"

    def _duplicate(self, member: model.Member) -> Exception:
        if member.role is model.Role.CHAIR:
            return Duplicate("the council already has a chair: hand the chair over instead "
                             "(/role <user> chair)")
        if member.telegram_id is None:
            return Duplicate("this department already has a CIO")
        return Duplicate("Telegram user {telegram_id} is already a member of this council, "
                         "or the department already has a CIO", telegram_id=member.telegram_id)

    async def by_telegram(self, council_id: int, telegram_id: int) -> model.Member | None:
        return await self._first(col(MemberRow.council_id) == council_id,
                                 col(MemberRow.telegram_id) == telegram_id)

    async def by_username(self, council_id: int, username: str) -> model.Member | None:
        # Telegram usernames are case-insensitive.
        return await self._first(col(MemberRow.council_id) == council_id,
                                 func.lower(col(MemberRow.username)) == username.lower())

    async def list(self, council_id: int) -> Sequence[model.Member]:
        return await self._all(col(MemberRow.council_id) == council_id)

    async def memberships(self, telegram_id: int) -> Sequence[model.Member]:
        return await self._all(col(MemberRow.telegram_id) == telegram_id)


class SqlPeople(_Repository[model.ChatPerson]):
    value_type = model.ChatPerson

    async def get(self, council_id: int, telegram_id: int  # type: ignore[override]  # by key
                  ) -> model.ChatPerson | None:
        return await self._first(col(ChatPersonRow.council_id) == council_id,
                                 col(ChatPersonRow.telegram_id) == telegram_id)

    async def by_username(self, council_id: int, username: str) -> model.ChatPerson | None:
        # Telegram usernames are case-insensitive; the one seen last holds it now.
        return await self._first(col(ChatPersonRow.council_id) == council_id,
                                 func.lower(col(ChatPersonRow.username)) == username.lower(),
                                 order_by=[col(ChatPersonRow.id).desc()])

    async def put(self, person: model.ChatPerson) -> model.ChatPerson:
        return await self._put(person, col(ChatPersonRow.council_id) == person.council_id,
                               col(ChatPersonRow.telegram_id) == person.telegram_id)


class SqlJoinRequests(_Repository[model.JoinRequest]):
    value_type = model.JoinRequest
    missing = NotFound
    missing_template = "no join request {id}"

    def _duplicate(self, request: model.JoinRequest) -> Exception:
        return Duplicate("your request to join is already waiting for the chair")


class SqlSeries(_Repository[model.Series]):
    value_type = model.Series

    async def get(self, council_id: int) -> model.Series | None:  # by council: one series each
        return await self._first(col(SeriesRow.council_id) == council_id)

    async def put(self, series: model.Series) -> model.Series:
        return await self._put(series, col(SeriesRow.council_id) == series.council_id)


class SqlMeetings(_Repository[model.Meeting]):
    value_type = model.Meeting
    missing = UnknownMeeting
    missing_template = "no meeting {id} in this council"

    def _duplicate(self, meeting: model.Meeting) -> Exception:
        return Duplicate("the regular meeting of {date} already exists", date=meeting.occurrence)

    async def list(self, council_id: int, *, since: datetime | None = None,
                   until: datetime | None = None) -> Sequence[model.Meeting]:
        where = [col(MeetingRow.council_id) == council_id]
        if since is not None:
            where.append(col(MeetingRow.starts_at) >= since)
        if until is not None:
            where.append(col(MeetingRow.starts_at) < until)
        return await self._all(*where, order_by=[MeetingRow.starts_at])

    async def lock(self, meeting_id: int) -> model.Meeting | None:
        """The meeting, its row locked until commit (PostgreSQL; SQLite's BEGIN IMMEDIATE
        already serialises writers). A note's insert only takes a key-share lock on it, so
        holding the meeting serialises record numbering without blocking anything else."""
        row = (await self._session.exec(select(MeetingRow).where(col(MeetingRow.id) == meeting_id)
                                        .with_for_update(key_share=True))).first()
        return None if row is None else self._domain(row)

    async def delete(self, meeting_id: int) -> None:
        await self._session.exec(delete(MeetingRow).where(col(MeetingRow.id) == meeting_id))


class SqlAgenda(_Repository[model.AgendaItem]):
    value_type = model.AgendaItem

    async def list(self, meeting_id: int) -> Sequence[model.AgendaItem]:
        return await self._all(col(AgendaItemRow.meeting_id) == meeting_id)


class SqlAttendance(_Repository[model.Attendance]):
    value_type = model.Attendance

    async def put(self, attendance: model.Attendance) -> model.Attendance:
        who = (col(AttendanceRow.department_id) == attendance.department_id
               if attendance.department_id is not None
               else (col(AttendanceRow.department_id).is_(None)
                     & (col(AttendanceRow.member_id) == attendance.member_id)))
        return await self._put(attendance, col(AttendanceRow.meeting_id) == attendance.meeting_id,
                               who)

    async def list(self, meeting_id: int) -> Sequence[model.Attendance]:
        return await self._all(col(AttendanceRow.meeting_id) == meeting_id)

    async def of_department(self, meeting_id: int, department_id: int
                            ) -> model.Attendance | None:
        return await self._first(col(AttendanceRow.meeting_id) == meeting_id,
                                 col(AttendanceRow.department_id) == department_id)


_NUMBER_TAKEN = "a concurrent record of this meeting took this number"


class SqlNotes(_Repository[model.Note]):
    value_type = model.Note

    async def add(self, note: model.Note) -> model.Note:
        return await self._insert(note, race=_NUMBER_TAKEN)

    async def list(self, meeting_id: int) -> Sequence[model.Note]:
        return await self._all(col(NoteRow.meeting_id) == meeting_id)

    async def delete(self, note_id: int) -> None:
        await self._session.exec(delete(NoteRow).where(col(NoteRow.id) == note_id))


class SqlGuests(_Repository[model.Guest]):
    value_type = model.Guest

    async def add(self, guest: model.Guest) -> model.Guest:
        return await self._insert(guest, race=_NUMBER_TAKEN)

    async def list(self, meeting_id: int) -> Sequence[model.Guest]:
        return await self._all(col(GuestRow.meeting_id) == meeting_id)

    async def delete(self, guest_id: int) -> None:
        await self._session.exec(delete(GuestRow).where(col(GuestRow.id) == guest_id))


class SqlDecisions(_Repository[model.Decision]):
    value_type = model.Decision

    async def add(self, decision: model.Decision) -> model.Decision:
        return await self._insert(decision, race=_NUMBER_TAKEN)

    async def list(self, council_id: int) -> Sequence[model.Decision]:
        return await self._all(col(DecisionRow.council_id) == council_id)

    async def delete(self, decision_id: int) -> None:
        await self._session.exec(delete(DecisionRow).where(col(DecisionRow.id) == decision_id))


class SqlMinutes(_Repository[MinutesRevision]):
    value_type = MinutesRevision

    def _duplicate(self, revision: MinutesRevision) -> Exception:
        return Duplicate("revision {revision} of these minutes was stored by someone else first",
                         revision=revision.revision)

    async def latest(self, meeting_id: int) -> MinutesRevision | None:
        return await self._first(col(MinutesRevisionRow.meeting_id) == meeting_id,
                                 order_by=[col(MinutesRevisionRow.revision).desc()])

    async def get(self, meeting_id: int, revision: int) -> MinutesRevision | None:  # type: ignore[override]  # a revision is named by its meeting and number
        return await self._first(col(MinutesRevisionRow.meeting_id) == meeting_id,
                                 col(MinutesRevisionRow.revision) == revision)

    async def list(self, meeting_id: int) -> Sequence[MinutesRevision]:
        return await self._all(col(MinutesRevisionRow.meeting_id) == meeting_id,
                               order_by=[col(MinutesRevisionRow.revision)])

    async def template(self, council_id: int) -> MinutesTemplate | None:
        row = (await self._session.exec(select(MinutesTemplateRow).where(
            col(MinutesTemplateRow.council_id) == council_id))).first()
        return None if row is None else to_domain(row, MinutesTemplate)

    async def set_template(self, template: MinutesTemplate) -> MinutesTemplate:
        found = (await self._session.exec(select(MinutesTemplateRow).where(
            col(MinutesTemplateRow.council_id) == template.council_id))).first()
        row = to_row(template) if found is None else found
        if found is None:
            self._session.add(row)
        else:
            copy_into(row, replace(template, id=found.id or 0))
        with translated(duplicate=Conflict("a concurrent write stored a template first")):
            await self._session.flush()
        return to_domain(row, MinutesTemplate)

    async def reset_template(self, council_id: int) -> bool:
        result = await self._session.exec(delete(MinutesTemplateRow).where(
            col(MinutesTemplateRow.council_id) == council_id))
        return bool(result.rowcount)


class SqlMotions(_Repository[model.Motion]):
    value_type = model.Motion
    missing = UnknownMotion
    missing_template = "no motion M{id}"

    async def list(self, council_id: int, *, open_only: bool = False
                   ) -> Sequence[model.Motion]:
        where = [col(MotionRow.council_id) == council_id]
        if open_only:
            where.append(col(MotionRow.state) == model.MotionState.OPEN)
        return await self._all(*where)

    async def lock(self, motion_id: int) -> model.Motion | None:
        """The motion, its row locked until commit (PostgreSQL): casting takes the same lock,
        so a close and a cast never interleave."""
        row = (await self._session.exec(select(MotionRow).where(col(MotionRow.id) == motion_id)
                                        .with_for_update(key_share=True))).first()
        return None if row is None else self._domain(row)


_CURRENT = col(BallotRow.current).is_(True)


class SqlBallots(_Repository[model.Ballot]):
    value_type = model.Ballot

    async def cast(self, ballot: model.Ballot) -> model.Ballot:
        # Casts on one motion queue on its row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already
        # serialises writers), so concurrent casts wait rather than fail the unique index and
        # retry. The lock is the one closing the motion takes, so a cast never slips past a close.
        await self._session.exec(select(MotionRow.id)
                                 .where(col(MotionRow.id) == ballot.motion_id)
                                 .with_for_update(key_share=True))
        await self._session.exec(
            update(BallotRow)
            .where(col(BallotRow.motion_id) == ballot.motion_id, _CURRENT,
                   or_(col(BallotRow.department_id) == ballot.department_id,
                       col(BallotRow.member_id) == ballot.member_id))
            .values(current=False))
        return await self._insert(replace(ballot, current=True, id=model.NEW),
                                  race="a concurrent ballot took the current place")

    async def add_superseded(self, ballot: model.Ballot) -> model.Ballot:
        return await self._insert(replace(ballot, current=False, id=model.NEW))

    async def current(self, motion_id: int) -> Sequence[model.Ballot]:
        return await self._all(col(BallotRow.motion_id) == motion_id, _CURRENT)

    async def current_of(self, motion_id: int, department_id: int) -> model.Ballot | None:
        return await self._first(col(BallotRow.motion_id) == motion_id, _CURRENT,
                                 col(BallotRow.department_id) == department_id)

    async def history(self, motion_id: int) -> Sequence[model.Ballot]:
        return await self._all(col(BallotRow.motion_id) == motion_id)


class SqlSecretBallots:
    """Secret ballots as a has-voted row per department and a ballot box of counts. A cast
    rewrites every box row of its motion (all in the same statement, in the same order), so on
    PostgreSQL all of them carry the latest cast's transaction id (xmin) and new row versions
    in an order that does not depend on the choice; SQLite updates them in place. The box
    has no id, time or voter to join on."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def cast(self, vote: model.SecretVote, choice: model.Choice) -> None:
        # As SqlBallots.cast: casts queue on the motion's row lock, which a close takes too.
        await self._session.exec(select(MotionRow.id)
                                 .where(col(MotionRow.id) == vote.motion_id)
                                 .with_for_update(key_share=True))
        with translated():
            voted = await insert_unless_present(self._session, SecretVoteRow, {
                "motion_id": vote.motion_id, "department_id": vote.department_id,
                "member_id": vote.member_id, "voted_at": vote.voted_at})
        if not voted:
            raise AlreadyVoted("your secret vote on M{id} is already in the ballot box; a "
                               "secret vote is final", id=vote.motion_id)
        for each in model.Choice:
            await insert_unless_present(self._session, BallotBoxRow, {
                "motion_id": vote.motion_id, "choice": each, "ballots": 0})
        with translated():
            await self._session.exec(
                update(BallotBoxRow)
                .where(col(BallotBoxRow.motion_id) == vote.motion_id)
                .values(ballots=col(BallotBoxRow.ballots)
                        + case((col(BallotBoxRow.choice) == choice, 1), else_=0)))

    async def voted(self, motion_id: int, department_id: int) -> model.SecretVote | None:
        row = await self._session.get(SecretVoteRow, (motion_id, department_id))
        return None if row is None else _secret_vote(row)

    async def voters(self, motion_id: int) -> Sequence[model.SecretVote]:
        rows = await self._session.exec(
            select(SecretVoteRow).where(col(SecretVoteRow.motion_id) == motion_id)
            .order_by(col(SecretVoteRow.department_id)))
        return [_secret_vote(row) for row in rows]

    async def box(self, motion_id: int) -> Mapping[model.Choice, int]:
        rows = await self._session.exec(
            select(BallotBoxRow).where(col(BallotBoxRow.motion_id) == motion_id))
        counts = dict.fromkeys(model.Choice, 0)
        for row in rows:
            counts[model.Choice(row.choice)] = row.ballots
        return counts


def _secret_vote(row: SecretVoteRow) -> model.SecretVote:
    return model.SecretVote(row.motion_id, row.member_id, row.department_id, row.voted_at)


class SqlActions(_Repository[model.ActionItem]):
    value_type = model.ActionItem

    async def list(self, council_id: int) -> Sequence[model.ActionItem]:
        return await self._all(col(ActionItemRow.council_id) == council_id)


class SqlAuditLog(_Repository[model.AuditEvent]):
    value_type = model.AuditEvent

    async def append(self, entry: AuditEntry) -> model.AuditEvent:
        # Extending the chain is read-last-then-insert: queue writers on the council's row
        # (PostgreSQL) so they do not all pick the same next seq; UNIQUE(council_id, seq) is the
        # guarantee behind it, and a Conflict there means "retry".
        await self._session.exec(select(CouncilRow.id)
                                 .where(col(CouncilRow.id) == entry.council_id)
                                 .with_for_update(key_share=True))
        previous = await self._first(col(AuditEventRow.council_id) == entry.council_id,
                                     order_by=[col(AuditEventRow.seq).desc()])
        event = seal(previous, council_id=entry.council_id, at=entry.at, actor=entry.actor,
                     action=entry.action, payload=entry.payload)
        return await self._insert(event, race="a concurrent event took this sequence number")

    async def list(self, council_id: int) -> Sequence[model.AuditEvent]:
        return await self._all(col(AuditEventRow.council_id) == council_id,
                               order_by=[AuditEventRow.seq])

    async def last(self, council_id: int) -> model.AuditEvent | None:
        return await self._first(col(AuditEventRow.council_id) == council_id,
                                 order_by=[col(AuditEventRow.seq).desc()])


class SqlFeedTokens(_Repository[model.FeedToken]):
    value_type = model.FeedToken

    def _duplicate(self, value: model.FeedToken) -> Exception:
        return Duplicate("a calendar link exists already; reset it to get a new one")

    async def by_hash(self, token_hash: str) -> model.FeedToken | None:
        return await self._first(col(FeedTokenRow.token_hash) == token_hash)

    async def live(self, council_id: int, member_id: int | None) -> model.FeedToken | None:
        member = (col(FeedTokenRow.member_id).is_(None) if member_id is None
                  else col(FeedTokenRow.member_id) == member_id)
        return await self._first(col(FeedTokenRow.council_id) == council_id, member,
                                 col(FeedTokenRow.revoked_at).is_(None))
