"""A claimed reminder is worded in the shell, in its council's language and time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.reminders import reminder_text
from meetings.domain.model import (
    ActionItem,
    Council,
    Department,
    MajorityRule,
    Meeting,
    MeetingKind,
    Motion,
    MotionKind,
)
from meetings.domain.reminders import ReminderKind
from meetings.usecases.outbox import Delivery

STARTS = datetime(2025, 6, 12, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai


def test_a_meeting_reminder_reads_in_chinese_at_local_time() -> None:
    """The hour-before notice of a Chinese council gives the start in Shanghai time."""
    council = Council(name="河畔 CIO 委员会", language="zh", id=1)
    meeting = Meeting(council_id=1, kind=MeetingKind.REGULAR, starts_at=STARTS, id=3)

    text = reminder_text(Delivery(job_id=1, attempts=1, chat_id=12, kind=ReminderKind.HOUR_BEFORE,
                                  council=council, meeting=meeting))

    assert text == "🔔 河畔 CIO 委员会会议将于一小时内开始（2025年6月12日 周四 14:30）。"


def test_an_action_notice_names_the_item_its_department_and_due_date() -> None:
    """The owning CIO reads `A7 of EPB`, the due day and the item's text."""
    council = Council(name="Riverside", id=1)
    item = ActionItem(council_id=1, department_id=2, text="Publish the data",
                      due=date(2026, 12, 10), created_at=STARTS, id=7)
    epb = Department(council_id=1, code="EPB", name="Environment", id=2)

    text = reminder_text(Delivery(job_id=1, attempts=1, chat_id=12, kind=ReminderKind.ACTION_DUE,
                                  council=council, action=item, department=epb))

    assert text == ("⏳ Riverside: action A7 of EPB is due on Thu 10 Dec 2026: Publish the data\n"
                    "Send /done A7 when it is done.")


def test_a_vote_reminder_gives_the_deadline_in_the_councils_zone() -> None:
    """A council in Berlin reads the deadline of 02:00 UTC as 03:00."""
    council = Council(name="Riverside", timezone="Europe/Berlin", id=1)
    motion = Motion(council_id=1, kind=MotionKind.CIRCULAR, text="Adopt the cloud",
                    rule=MajorityRule.SIMPLE, quorum=0.5, opened_at=STARTS,
                    closes_at=datetime(2026, 11, 30, 2, 0, tzinfo=UTC), id=4)

    text = reminder_text(Delivery(job_id=1, attempts=1, chat_id=12, kind=ReminderKind.VOTE_REMINDER,
                                  council=council, motion=motion))

    assert text == ("🗳 Riverside: your department has not voted on circular vote M4 yet: "
                    "Adopt the cloud\nIt closes at Mon 30 Nov 2026, 03:00. "
                    "Send /vote M4 yes|no|abstain.")
