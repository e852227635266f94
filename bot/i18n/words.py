"""The words messages are made of, in each language: the domain's values by name, dates in one
style per language, and the domain's error fragments as whole sentences.

A domain error carries its values as they are (an enum, a date, a `Word` naming a field); they
become words here, in the reader's language, so no English state or field name reaches a Chinese
council and no message shows a date in a second style.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum

from babel.dates import format_date, format_datetime

from bot.i18n import N_, translate
from meetings.domain.errors import CouncilError, Word
from meetings.domain.model import (
    AgendaState,
    AttendanceStatus,
    Choice,
    JoinState,
    MajorityBase,
    MajorityRule,
    MeetingKind,
    MeetingState,
    MotionState,
    Role,
)
from meetings.domain.scheduling import to_local

_LOCALE = {"en": "en_GB", "zh": "zh_Hans_CN"}
# `Thu 12 Feb 2026, 14:30` and `2026年2月12日 周四 14:30`: the weekday helps people place a date.
_DATETIME = {"en": "EEE d MMM yyyy, HH:mm", "zh": "yyyy年M月d日 EEE HH:mm"}
_DATE = {"en": "EEE d MMM yyyy", "zh": "yyyy年M月d日 EEE"}

LABELS: dict[Enum, str] = {
    Role.CHAIR: N_("chair"), Role.SECRETARY: N_("secretary"), Role.CIO: N_("CIO"),
    Role.EXPERT: N_("expert"), Role.OBSERVER: N_("observer"),
    MeetingState.SCHEDULED: N_("scheduled"), MeetingState.AGENDA_OPEN: N_("taking proposals"),
    MeetingState.AGENDA_CLOSED: N_("agenda closed"), MeetingState.IN_PROGRESS: N_("in progress"),
    MeetingState.ENDED: N_("ended"), MeetingState.MINUTES_APPROVED: N_("minutes approved"),
    MeetingState.CANCELLED: N_("cancelled"),
    MeetingKind.REGULAR: N_("regular"), MeetingKind.EXTRAORDINARY: N_("extraordinary"),
    AgendaState.PROPOSED: N_("proposed"), AgendaState.ACCEPTED: N_("accepted"),
    AgendaState.DEFERRED: N_("deferred"), AgendaState.REJECTED: N_("rejected"),
    AttendanceStatus.PRESENT: N_("present"), AttendanceStatus.PROXY: N_("proxy"),
    AttendanceStatus.EXCUSED: N_("excused"), AttendanceStatus.ABSENT: N_("absent"),
    MotionState.OPEN: N_("open for votes"), MotionState.CLOSED: N_("closed"),
    JoinState.PENDING: N_("pending"), JoinState.APPROVED: N_("approved"),
    JoinState.DENIED: N_("denied"),
    Choice.YES: N_("yes"), Choice.NO: N_("no"), Choice.ABSTAIN: N_("abstain"),
    MajorityRule.SIMPLE: N_("simple majority"), MajorityRule.ABSOLUTE: N_("absolute majority"),
    MajorityRule.TWO_THIRDS: N_("two-thirds majority"),
    MajorityBase.CAST: N_("the votes cast"), MajorityBase.MEMBERS: N_("the member departments"),
}
# "Li Na is now an expert": English wants the article a role takes in a sentence.
_ROLE_IN_SENTENCE = {
    Role.CHAIR: N_("the chair"), Role.SECRETARY: N_("the secretary"), Role.CIO: N_("a CIO"),
    Role.EXPERT: N_("an expert"), Role.OBSERVER: N_("an observer"),
}


def label(language: str, value: Enum) -> str:
    """A domain value by name: `in progress`, `进行中`."""
    return translate(language, LABELS[value])


def role_in_sentence(language: str, role: Role) -> str:
    """The role as a sentence names it: `an expert`, `the chair`; in Chinese the plain name."""
    return translate(language, _ROLE_IN_SENTENCE[role])


def days(language: str, count: int) -> str:
    """`1 day`, `3 days`; `3 天`."""
    return translate(language, N_("{count} day") if count == 1 else N_("{count} days"),
                     count=count)


def datetime_text(language: str, moment: datetime) -> str:
    """A wall-clock moment (convert to the council's zone first): `Thu 12 Feb 2026, 14:30`."""
    language = language if language in _DATETIME else "en"
    return format_datetime(moment, _DATETIME[language], tzinfo=moment.tzinfo,
                           locale=_LOCALE[language])


def local_datetime_text(language: str, instant: datetime, timezone: str) -> str:
    """An instant on the council's wall clock: `Thu 12 Feb 2026, 14:30`."""
    return datetime_text(language, to_local(instant, timezone))


def date_text(language: str, day: date) -> str:
    """A day: `Thu 12 Feb 2026`, `2026年2月12日 周四`."""
    language = language if language in _DATE else "en"
    return format_date(day, _DATE[language], locale=_LOCALE[language])


def field(language: str, value: object) -> object:
    """A value for a message's field in ``language``: enums and our own words by name (a role
    with its article: `an expert`), dates in the language's style; anything else (user text,
    numbers, codes) as it is."""
    if isinstance(value, Word):
        return translate(language, str(value))
    if isinstance(value, Role):
        return role_in_sentence(language, value)
    if isinstance(value, Enum) and value in LABELS:
        return label(language, value)
    if isinstance(value, datetime):
        return datetime_text(language, value)
    if isinstance(value, date):
        return date_text(language, value)
    return value


# The reasons scheduling stores for a move, in English (`meetings.domain.scheduling`); a reason
# the office typed is shown as typed.
_RESCHEDULED = re.compile(r"rescheduled from (\d{4}-\d{2}-\d{2} \d{2}:\d{2})")
_HOLIDAY_MOVE = re.compile(r"moved from (\d{4}-\d{2}-\d{2}) \((.*)\)")


def moved_reason(language: str, reason: str) -> str:
    """Why a meeting is not where its series put it, in the reader's language."""
    if found := _RESCHEDULED.fullmatch(reason):
        return translate(language, "rescheduled from {when}", when=datetime_text(
            language, datetime.fromisoformat(found.group(1))))
    if found := _HOLIDAY_MOVE.fullmatch(reason):
        # The holiday's own name, or one of our words for a day off (`Word("weekend")`).
        return translate(language, "moved from {day} ({why})",
                         why=translate(language, found.group(2)),
                         day=date_text(language, date.fromisoformat(found.group(1))))
    return reason


_ENDS_A_SENTENCE = re.compile(r"[.!?。！？…:：]$")


def sentence(language: str, text: str, *, stop: bool = True) -> str:
    """A domain error's fragment (`no meeting S12`, as the command line prints it) as a chat
    reply: a capital and a full stop in English, a full stop in Chinese."""
    text = text.strip()
    if not text:
        return text
    if language == "en" and text[0].islower():
        text = text[0].upper() + text[1:]
    if stop and not _ENDS_A_SENTENCE.search(text):
        text += "。" if language == "zh" else "."
    return text


def explain(language: str, error: CouncilError) -> str:
    """A domain error as a chat reply in the council's language, its values in words."""
    values = {name: field(language, value) for name, value in error.params.items()}
    text = translate(language, error.template, **values)
    # A usage line ends in what to type; a full stop there would be copied with it.
    return sentence(language, text, stop=not error.template.startswith("usage:"))
