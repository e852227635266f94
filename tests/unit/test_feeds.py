"""Calendar feeds: what they hold, as three independent parsers read them back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
import vobject

from meetings import usecases
from meetings.domain import feeds
from meetings.domain.errors import Duplicate, NotAllowed, UnknownFeed
from meetings.domain.model import (
    AgendaItem,
    AgendaState,
    AuditEvent,
    Choice,
    Council,
    Meeting,
    MeetingKind,
    Member,
    MotionKind,
    Role,
)
from meetings.exports.ics import feed_bytes
from tests.unit import icsread
from tests.unit.fakes import FakeUnitOfWork

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
CLI = usecases.common.Operator()
BERLIN = "Europe/Berlin"


async def _berlin(uow: FakeUnitOfWork) -> tuple[Council, dict[str, Member]]:
    """A council in a zone with daylight saving, departments EPB and MSB, and its people."""
    council = await usecases.councils.create_council(
        uow, name="Rhine CIO Council", actor=CLI, now=NOW - timedelta(days=30),
        timezone=BERLIN, holiday_country="DE")
    for code in ("EPB", "MSB"):
        await usecases.councils.add_department(uow, council.id, code=code, name=code, actor=CLI,
                                               now=NOW)
    people: dict[str, Member] = {}
    for key, role, department in [("chair", Role.CHAIR, None), ("EPB", Role.CIO, "EPB"),
                                  ("MSB", Role.CIO, "MSB"), ("expert", Role.EXPERT, None)]:
        people[key] = await usecases.councils.add_member(
            uow, council.id, name=key, role=role, actor=CLI, now=NOW, department=department,
            telegram_id=len(people) + 10)
    return council, people


async def _feed(uow: FakeUnitOfWork, token: str) -> bytes:
    access = await usecases.calendar.resolve(uow, token, now=NOW)
    return await usecases.calendar.feed(uow, access, now=NOW)


async def test_the_council_feed_holds_every_meeting_at_its_local_time_across_dst() -> None:
    """Meetings before and after the DST change read back at their wall-clock times in all
    three parsers, with VTIMEZONE, calendar name, zone and refresh interval, no calendar UID."""
    uow = FakeUnitOfWork()
    council, _ = await _berlin(uow)
    for start in ("2027-03-25 10:00", "2027-04-01 10:00", "2027-11-04 14:30"):
        await usecases.schedule.schedule_meeting(uow, council.id, local_start=start, actor=CLI,
                                                 now=NOW, location="Room 3")
    data = await usecases.calendar.council_feed(uow, council.id, now=NOW)
    local_starts = sorted(start for _, start in icsread.agreed(data, BERLIN))
    assert local_starts == ["2027-03-25T10:00:00", "2027-04-01T10:00:00", "2027-11-04T14:30:00"]
    calendar = icalendar.Calendar.from_ical(data)
    assert "UID" not in calendar
    assert str(calendar["X-WR-TIMEZONE"]) == BERLIN
    assert str(calendar["X-WR-CALNAME"]) == "Rhine CIO Council"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == [BERLIN]
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in data
    assert b"ATTENDEE" not in data
    assert data == await usecases.calendar.council_feed(uow, council.id, now=NOW)


async def test_moves_and_cancellations_keep_the_uid_and_raise_the_sequence() -> None:
    """A moved meeting keeps its UID with a higher SEQUENCE and the reason; a cancelled one stays
    as CANCELLED for a year after it was due, then leaves."""
    uow = FakeUnitOfWork()
    council, _ = await _berlin(uow)
    moved = await usecases.schedule.schedule_meeting(uow, council.id,
                                                     local_start="2027-04-01 10:00", actor=CLI,
                                                     now=NOW)
    dropped = await usecases.schedule.schedule_meeting(uow, council.id,
                                                       local_start="2027-05-12 10:00",
                                                       actor=CLI, now=NOW)
    before = icsread.events(await usecases.calendar.council_feed(uow, council.id, now=NOW))
    await usecases.schedule.reschedule_meeting(uow, council.id, moved.id,
                                               local_start="2027-04-08 11:00", actor=CLI,
                                               now=NOW, reason="Easter week")
    await usecases.schedule.cancel_meeting(uow, council.id, dropped.id, actor=CLI, now=NOW)
    data = await usecases.calendar.council_feed(uow, council.id, now=NOW)
    after = icsread.events(data)
    uid_moved, uid_dropped = feeds.meeting_uid(moved), feeds.meeting_uid(dropped)
    assert set(before) == set(after)
    assert icsread.sequence(after[uid_moved]) > icsread.sequence(before[uid_moved])
    assert icsread.sequence(after[uid_dropped]) > icsread.sequence(before[uid_dropped])
    assert str(after[uid_dropped]["STATUS"]) == "CANCELLED"
    assert "Moved: Easter week" in str(after[uid_moved]["DESCRIPTION"])
    assert (uid_moved, "2027-04-08T11:00:00") in icsread.agreed(data, BERLIN)
    a_year_on = datetime(2028, 5, 13, 9, 0, tzinfo=UTC)
    later = icsread.events(await usecases.calendar.council_feed(uow, council.id, now=a_year_on))
    assert {uid_moved} == set(later)


async def test_the_description_lists_the_agenda_with_majors_first_and_the_place() -> None:
    """Accepted items in order (majors marked and first), proposals after them, and the place."""
    uow = FakeUnitOfWork()
    council, people = await _berlin(uow)
    meeting = await usecases.schedule.schedule_meeting(
        uow, council.id, local_start="2027-04-01 10:00", actor=CLI, now=NOW,
        location="Town hall, room 3")
    titles = ["Budget", "Cloud strategy", "Open data"]
    items = [(await usecases.agenda.propose_item(uow, council.id, title=t, description="",
                                                 actor=people["EPB"], now=NOW)).item
             for t in titles]
    await usecases.agenda.decide_item(uow, council.id, items[0].id, state=AgendaState.ACCEPTED,
                                      actor=people["chair"], now=NOW)
    await usecases.agenda.mark_major_item(uow, council.id, items[1].id, actor=people["chair"],
                                          now=NOW)
    data = await usecases.calendar.council_feed(uow, council.id, now=NOW)
    description = str(icsread.events(data)[feeds.meeting_uid(meeting)]["DESCRIPTION"])
    assert (f"Agenda:\n- [MAJOR] Cloud strategy (#{items[1].id})\n- Budget (#{items[0].id})\n"
            f"Proposed:\n- Open data (#{items[2].id})\nPlace: Town hall, room 3") == description


async def test_a_personal_feed_holds_only_the_members_own_deadlines() -> None:
    """EPB's CIO sees EPB's action items (all-day), each open meeting's proposal deadline and the
    close of a circular vote EPB has not voted on; never MSB's items; the vote leaves once EPB
    votes; an expert sees the meetings only."""
    uow = FakeUnitOfWork()
    council, people = await _berlin(uow)
    meeting = await usecases.schedule.schedule_meeting(
        uow, council.id, local_start="2027-04-01 10:00", actor=CLI, now=NOW)
    epb, _ = await usecases.actions.assign_action(uow, council.id, code="EPB", due="2027-03-20",
                                                  text="Inventory of servers", actor=CLI, now=NOW)
    msb, _ = await usecases.actions.assign_action(uow, council.id, code="MSB", due="2027-03-21",
                                                  text="MSB secret plan", actor=CLI, now=NOW)
    opened = await usecases.voting.open_motion(
        uow, council.id, kind=MotionKind.CIRCULAR, text="Adopt the open-source policy",
        actor=people["chair"], now=NOW, closes_local="2027-03-10 18:00")
    token = await usecases.calendar.issue_token(uow, council.id, actor=people["EPB"], now=NOW,
                                                member_id=people["EPB"].id)
    data = await _feed(uow, token)
    found = icsread.agreed(data, BERLIN)
    motion_id = opened.count.motion.id
    assert {
        (feeds.meeting_uid(meeting), "2027-04-01T10:00:00"),
        (f"deadline-{meeting.id}-council-{council.id}.cio-council", "2027-03-29T10:00:00"),
        (f"action-{epb.id}-council-{council.id}.cio-council", "2027-03-20"),
        (f"vote-{motion_id}-council-{council.id}.cio-council", "2027-03-10T18:00:00"),
    } == found
    assert b"MSB secret plan" not in data
    assert f"action-{msb.id}" not in data.decode()
    await usecases.voting.cast_vote(uow, council.id, motion_id, choice=Choice.YES,
                                    actor=people["EPB"], now=NOW)
    assert not any(uid.startswith("vote-") for uid, _ in icsread.agreed(await _feed(uow, token),
                                                                       BERLIN))
    expert = await usecases.calendar.issue_token(uow, council.id, actor=people["expert"],
                                                 now=NOW, member_id=people["expert"].id)
    assert {(feeds.meeting_uid(meeting), "2027-04-01T10:00:00")} == icsread.agreed(
        await _feed(uow, expert), BERLIN)


async def test_a_chinese_councils_feed_speaks_chinese() -> None:
    """A council that works in Chinese gets its calendar in Chinese: the meeting's title, the
    agenda, the place, its action items, deadlines and categories, as vobject reads them."""
    uow = FakeUnitOfWork()
    council = await usecases.councils.create_council(
        uow, name="滨江区首席信息官委员会", actor=CLI, now=NOW - timedelta(days=30),
        language="zh")
    await usecases.councils.add_department(uow, council.id, code="EPB", name="生态环境局",
                                           actor=CLI, now=NOW)
    cio = await usecases.councils.add_member(uow, council.id, name="李娜", role=Role.CIO,
                                             actor=CLI, now=NOW, department="EPB", telegram_id=7)
    meeting = await usecases.schedule.schedule_meeting(
        uow, council.id, local_start="2027-04-01 10:00", actor=CLI, now=NOW, location="三楼会议室")
    item = (await usecases.agenda.propose_item(uow, council.id, title="数据共享", description="",
                                               actor=cio, now=NOW)).item
    await usecases.agenda.mark_major_item(uow, council.id, item.id, actor=CLI, now=NOW)
    action, _ = await usecases.actions.assign_action(uow, council.id, code="EPB", due="2027-03-20",
                                                     text="清点服务器", actor=CLI, now=NOW)
    token = await usecases.calendar.issue_token(uow, council.id, actor=cio, now=NOW,
                                                member_id=cio.id)
    data = await _feed(uow, token)
    read = {str(e.uid.value): e for e in vobject.readOne(data.decode()).vevent_list}

    event = read[feeds.meeting_uid(meeting)]
    assert event.summary.value == "滨江区首席信息官委员会临时会议"  # scheduled one by one
    assert f"议程：\n- 【重大】数据共享 (#{item.id})\n地点：三楼会议室" == event.description.value
    assert event.categories.value == ["会议", "临时会议"]
    due = read[f"action-{action.id}-council-{council.id}.cio-council"]
    assert ("到期：清点服务器", f"工作事项 A{action.id}") == (due.summary.value,
                                                           due.description.value)
    deadline = read[f"deadline-{meeting.id}-council-{council.id}.cio-council"]
    assert deadline.summary.value == "议题征集截止：滨江区首席信息官委员会临时会议"


async def test_tokens_are_hashed_revocable_and_shown_once() -> None:
    """A token is stored only as its SHA-256; asking again without reset is refused; a reset
    revokes the old token; wrong and malformed tokens open nothing; the council feed is the
    office's."""
    uow = FakeUnitOfWork()
    council, people = await _berlin(uow)
    epb = people["EPB"]
    first = await usecases.calendar.issue_token(uow, council.id, actor=epb, now=NOW,
                                                member_id=epb.id)
    assert len(first) >= 22  # >= 128 bits in base64url
    assert [usecases.calendar.hash_token(first)] == [t.token_hash for t in uow.rows("feed_tokens")]
    assert all(first not in e.payload for e in uow.rows("audit"))
    with pytest.raises(Duplicate):
        await usecases.calendar.issue_token(uow, council.id, actor=epb, now=NOW, member_id=epb.id)
    second = await usecases.calendar.issue_token(uow, council.id, actor=epb, now=NOW,
                                                 member_id=epb.id, reset=True)
    assert epb == (await usecases.calendar.resolve(uow, second, now=NOW)).member
    for wrong in (first, second[:-1] + ("A" if second[-1] != "A" else "B"), "../../etc",
                  "", "x" * 10_000, second + "="):
        with pytest.raises(UnknownFeed):
            await usecases.calendar.resolve(uow, wrong, now=NOW)
    with pytest.raises(NotAllowed):
        await usecases.calendar.issue_token(uow, council.id, actor=epb, now=NOW)
    with pytest.raises(NotAllowed):
        await usecases.calendar.issue_token(uow, council.id, actor=epb, now=NOW,
                                            member_id=people["MSB"].id)
    shared = await usecases.calendar.issue_token(uow, council.id, actor=people["chair"], now=NOW)
    assert (await usecases.calendar.resolve(uow, shared, now=NOW)).member is None


async def test_a_member_who_left_loses_the_feed() -> None:
    """Once the member's row is gone (they left the council), their token opens nothing."""
    uow = FakeUnitOfWork()
    council, people = await _berlin(uow)
    token = await usecases.calendar.issue_token(uow, council.id, actor=CLI, now=NOW,
                                                member_id=people["MSB"].id)
    del uow.committed.table("members")[people["MSB"].id]
    with pytest.raises(UnknownFeed):
        await usecases.calendar.resolve(uow, token, now=NOW)


HOSTILE = [
    "Line one\nLine two\r\nBEGIN:VEVENT\nUID:evil\nEND:VEVENT",
    "END:VCALENDAR\r\nBEGIN:VCALENDAR",
    "commas, semicolons; backslashes \\ and colons: all kept",
    "DESCRIPTION;X=1:injected\\n",
    "中文议题：数据共享；云平台，安全",
    "x" * 100_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: t[:20])
def test_hostile_text_round_trips_exactly_and_injects_nothing(text: str) -> None:
    """Titles, places and agenda items with line breaks, iCalendar syntax, commas, semicolons or
    100 KB come back exactly in every parser, and the feed still holds one event."""
    council = Council("Council; with, commas\nBEGIN:VEVENT", timezone=BERLIN, id=1)
    stored = text.replace("\r\n", "\n")  # iCalendar text knows one line break, as we store it
    meeting = Meeting(1, MeetingKind.EXTRAORDINARY, datetime(2027, 4, 1, 8, tzinfo=UTC),
                      title=text, location=text, moved_reason=text, id=7)
    item = AgendaItem(7, text, 1, None, NOW, state=AgendaState.ACCEPTED, major=True, id=3)
    value = feeds.council_feed(council, [meeting], {7: [item]}, {}, created=NOW, now=NOW)
    data = feed_bytes(value)
    [expected] = value.events
    description = expected.description.replace("\r\n", "\n")
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert (stored, stored, description) == (
        str(event["SUMMARY"]), str(event["LOCATION"]), str(event["DESCRIPTION"]))
    parsed = vobject.readOne(data.decode())
    [vevent] = parsed.contents["vevent"]
    assert (stored, stored, description) == (
        vevent.summary.value, vevent.location.value, vevent.description.value)
    assert [council.name] * 2 == [parsed.contents[name][0].value
                                  for name in ("name", "x-wr-calname")]
    assert data.count(b"\r\nBEGIN:VEVENT\r\n") == 1
    assert {(feeds.meeting_uid(meeting), "2027-04-01T10:00:00")} == icsread.agreed(data, BERLIN)


def test_revisions_count_what_each_audit_event_touched() -> None:
    """Agenda events count for the meeting an item is on and the one it left; action and motion
    events for their own ids; junk payloads count for nothing."""
    def event(seq: int, action: str, payload: str) -> AuditEvent:
        return AuditEvent(1, seq, NOW + timedelta(minutes=seq), "cli", action, payload,
                                "", "")

    found = feeds.revisions([
        event(1, "meeting.schedule", '{"meeting": 4}'),
        event(2, "agenda.deferred", '{"item": 9, "meeting": 5, "was": 4}'),
        event(3, "action.assign", '{"item": 9, "meeting": null}'),
        event(4, "vote.cast", '{"motion": 2}'),
        event(5, "meeting.cancel", "not json"),
        event(6, "meeting.cancel", '{"meeting": true}'),
    ])
    assert {("meeting", 4): feeds.Revision(2, NOW + timedelta(minutes=2)),
            ("meeting", 5): feeds.Revision(1, NOW + timedelta(minutes=2)),
            ("action", 9): feeds.Revision(1, NOW + timedelta(minutes=3)),
            ("motion", 2): feeds.Revision(1, NOW + timedelta(minutes=4))} == found


def test_identical_data_gives_identical_bytes_whatever_the_input_order() -> None:
    """The events are ordered by UID, so the same meetings in another order give the same bytes."""
    council = Council("C", timezone=BERLIN, id=1)
    meetings = [Meeting(1, MeetingKind.REGULAR, datetime(2027, 1, d, 9, tzinfo=UTC), id=d)
                for d in range(1, 20)]
    def build(ms: list[Meeting]) -> bytes:
        return feed_bytes(feeds.council_feed(council, ms, {}, {}, created=NOW, now=NOW))

    assert build(meetings) == build(list(reversed(meetings)))
    assert build(meetings) != build([replace(meetings[0], duration_minutes=60), *meetings[1:]])


def test_an_all_day_action_ends_the_next_day_and_is_free_time() -> None:
    """RFC 5545: an all-day DTEND is exclusive, and a due date does not block anyone's time."""
    event = feeds.FeedEvent(uid="a@x", summary="Due", sequence=0, stamp=NOW, day=date(2027, 3, 20))
    data = feed_bytes(feeds.Feed("C", BERLIN, (event,)))
    [parsed] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert (date(2027, 3, 20), date(2027, 3, 21), "TRANSPARENT") == (
        parsed.decoded("DTSTART"), parsed.decoded("DTEND"), str(parsed["TRANSP"]))


def test_every_meeting_links_back_to_the_council() -> None:
    """With a link (the bot's t.me address), each meeting carries it as URL and in its text."""
    council = Council("C", timezone=BERLIN, id=1)
    meeting = Meeting(1, MeetingKind.REGULAR, datetime(2027, 1, 5, 9, tzinfo=UTC), id=2)
    data = feed_bytes(feeds.council_feed(council, [meeting], {}, {}, created=NOW, now=NOW,
                                         link="https://t.me/council_bot"))
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert str(event["URL"]) == "https://t.me/council_bot"
    assert str(event["DESCRIPTION"]).endswith("In the council's chat: https://t.me/council_bot")
    assert icsread.agreed(data, BERLIN) == {(feeds.meeting_uid(meeting), "2027-01-05T10:00:00")}
