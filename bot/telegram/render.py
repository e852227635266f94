"""Chat text for domain values, in a given language and time zone.

Every function here takes the language (and, where it writes a time, the council's time zone) and
plain values, never the request: the reminder worker and the live counts render without one, and
nothing in `bot.telegram` sits below this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from babel.dates import format_datetime
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot.i18n import N_, translate
from meetings.domain.actions import OpenActions
from meetings.domain.agenda import Agenda
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    AgendaState,
    Attendance,
    AttendanceStatus,
    Choice,
    Council,
    Department,
    MajorityRule,
    Meeting,
    MeetingState,
    Member,
    MotionKind,
    MotionState,
    Role,
)
from meetings.domain.reminders import agenda_deadline
from meetings.domain.scheduling import local_text, to_local
from meetings.domain.votes import quorum_needed
from meetings.usecases.councils import RoleChange
from meetings.usecases.meeting import Ended, RollCall
from meetings.usecases.voting import Count

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_PATTERN = {"en": "EEE d MMM yyyy, HH:mm", "zh": "yyyy年M月d日 EEE HH:mm"}
_LOCALE = {"en": "en_GB", "zh": "zh_Hans_CN"}


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Text in pieces that fit one Telegram message, cut at line breaks where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n")
    return [*pieces, text] if text else pieces or ["…"]


def when(language: str, timezone: str, meeting: Meeting) -> str:
    """The meeting's start in the time zone, as people say it: `Thu 14 Jan 2027, 14:30`."""
    local = to_local(meeting.starts_at, timezone)
    language = language if language in _PATTERN else "en"
    return format_datetime(local, _PATTERN[language], locale=_LOCALE[language])


def meeting_line(language: str, timezone: str, meeting: Meeting) -> str:
    """`#12 Thu 14 Jan 2027, 14:30 — title (moved from ...)` with its state when not plain."""
    parts = [f"#{meeting.id} {when(language, timezone, meeting)}"]
    if meeting.title:
        parts.append(f"— {meeting.title}")
    if meeting.state is MeetingState.CANCELLED:
        parts.append(translate(language, "(cancelled)"))
    elif meeting.moved_reason:
        parts.append(f"({meeting.moved_reason})")
    return " ".join(parts)


_ROLE_ORDER = [Role.CHAIR, Role.SECRETARY, Role.CIO, Role.EXPERT, Role.OBSERVER]
ROLE_NAMES = {Role.CHAIR: N_("chair"), Role.SECRETARY: N_("secretary"), Role.CIO: N_("cio"),
              Role.EXPERT: N_("expert"), Role.OBSERVER: N_("observer")}


def role_name(language: str, role: Role) -> str:
    return translate(language, ROLE_NAMES[role])


def roster(language: str, council: Council, members: Sequence[Member],
           departments: Sequence[Department]) -> str:
    names = {d.id: d for d in departments}
    lines = [translate(language, "Members of {council}:", council=council.name)]
    for member in sorted(members, key=lambda m: (_ROLE_ORDER.index(m.role), m.name)):
        handle = f" @{member.username}" if member.username else ""
        department = names.get(member.department_id or 0)
        where = f" — {department.code} {department.name}" if department else ""
        lines.append(f"• {member.name}{handle}: {role_name(language, member.role)}{where}")
    without_cio = [d.code for d in departments
                   if not any(m.department_id == d.id and m.role is Role.CIO for m in members)]
    if without_cio:
        lines.append(translate(language, "Departments without a CIO: {codes}",
                               codes=", ".join(without_cio)))
    unreachable = [m.name for m in sorted(members, key=lambda m: (_ROLE_ORDER.index(m.role),
                                                                  m.name))
                   if not m.private_chat]
    if unreachable:
        lines.append(translate(
            language, "I cannot write privately to: {names}. They need to press Start in a "
            "private chat with me (for secret ballots, reminders and calendar links).",
            names=", ".join(unreachable)))
    return "\n".join(lines)


def start_link(bot_username: str, council_id: int) -> str:
    """The deep link that opens a private chat with the bot; pressing Start there sends
    `/start c<council id>`."""
    return f"https://t.me/{bot_username}?start=c{council_id}"


def start_request(language: str, name: str, link: str) -> str:
    """Asks someone who cannot be written to privately yet to press Start."""
    return translate(language, "{name}: please open {link} and press Start, so that I can send "
                               "you secret ballots, reminders and calendar links privately.",
                     name=name, link=link)


def role_text(language: str, change: RoleChange, link: str) -> str:
    """What /role did: the new role, a hand-over of the chair (who the chair is now), a
    department left without its CIO, and the Start link for someone the bot cannot write to."""
    member = change.member
    if change.former_chair is not None:
        lines = [translate(language, "{name} is now the chair; {former} is now {role}.",
                           name=member.name, former=change.former_chair.name,
                           role=role_name(language, change.former_chair.role))]
    else:
        lines = [translate(language, "{name} is now {role}.", name=member.name,
                           role=role_name(language, member.role))]
    if change.vacated is not None:
        lines.append(translate(language, "{code} has no CIO now.", code=change.vacated.code))
    if not member.private_chat:
        lines.append(start_request(language, member.name, link))
    return "\n".join(lines)


AGENDA_STATES = {AgendaState.PROPOSED: N_("proposed"), AgendaState.ACCEPTED: N_("accepted"),
                 AgendaState.DEFERRED: N_("deferred"), AgendaState.REJECTED: N_("rejected")}
MAJOR = "★"


def proposals_line(language: str, council: Council, meeting: Meeting) -> str | None:
    """When proposals close (by the council's rule, in its time zone), or that they have;
    nothing once the meeting is under way."""
    if meeting.state in (MeetingState.SCHEDULED, MeetingState.AGENDA_OPEN):
        deadline = local_text(agenda_deadline(meeting, council), council.timezone)
        return translate(language, "Proposals close {deadline}.", deadline=deadline)
    if meeting.state is MeetingState.AGENDA_CLOSED:
        return translate(language, "The agenda is closed.")
    return None


def agenda_text(language: str, council: Council, agenda: Agenda) -> str:
    """/agenda: every item with its id, department, state and description, then the review."""
    meeting = agenda.meeting
    lines = [translate(language, "Agenda of meeting {meeting}",
                       meeting=meeting_line(language, council.timezone, meeting))]
    if state := proposals_line(language, council, meeting):
        lines.append(state)
    for item in agenda.items:
        state = translate(language, AGENDA_STATES[item.state])
        if item.major:
            state = translate(language, "{state}, major issue", state=state)
        lines.append(f"{_item_title(agenda, item)} — {state}")
        lines.extend(f"    {line}" for line in item.description.splitlines() if line.strip())
    if not agenda.items:
        lines.append(translate(language, "No items proposed yet."))
    lines.extend(review_lines(language, agenda))
    return "\n".join(lines)


def final_agenda_text(language: str, council_name: str, when_text: str, agenda: Agenda) -> str:
    """The agenda posted in the group when proposals close: accepted items, majors first, and
    the standing review of open action items last."""
    lines = [translate(language, "📋 {council}: the final agenda of the meeting on {when}",
                       council=council_name, when=when_text)]
    final = agenda.final()
    lines.extend(f"{number}. {_item_title(agenda, item)}"
                 for number, item in enumerate(final, start=1))
    if not final:
        lines.append(translate(language, "No items were accepted."))
    standing, *actions = review_lines(language, agenda)
    lines.append(f"{len(final) + 1}. {standing}")
    lines.extend(actions)
    return "\n".join(lines)


def _item_title(agenda: Agenda, item: AgendaItem) -> str:
    """`#5 ★ Open data platform (EPB)`."""
    code = agenda.code(item.department_id)
    return " ".join(part for part in (f"#{item.id}", MAJOR if item.major else "", item.title,
                                      f"({code})" if code else "") if part)


def review_lines(language: str, agenda: Agenda) -> list[str]:
    """The standing item: the council's open action items, overdue ones first."""
    lines = [translate(language, "Standing item: review of open action items")]
    lines.extend(f"• {action_line(language, agenda, action)}" for action in agenda.review)
    if not agenda.review:
        lines.append("• " + translate(language, "none"))
    return lines


def action_line(language: str, agenda: Agenda | OpenActions, action: ActionItem) -> str:
    message = (N_("A{id} {code}, due {due}, overdue: {text}") if agenda.overdue(action)
               else N_("A{id} {code}, due {due}: {text}"))
    return translate(language, message, id=action.id, code=agenda.code(action.department_id),
                     due=action.due.isoformat(), text=action.text)


def actions_text(language: str, found: OpenActions) -> str:
    """/actions: open items, overdue first, one line each (the same line as the review's)."""
    if not found.items:
        return translate(language, "No open action items.")
    lines = [translate(language, "Open action items:")]
    lines.extend(f"• {action_line(language, found, item)}" for item in found.items)
    return "\n".join(lines)


# --- the meeting and its votes ------------------------------------------------------------------

CHOICES = {Choice.YES: N_("Yes"), Choice.NO: N_("No"), Choice.ABSTAIN: N_("Abstain")}
_MOTION_KINDS = {MotionKind.NAMED: N_("Motion"), MotionKind.SECRET: N_("Secret ballot"),
                 MotionKind.CIRCULAR: N_("Circular vote")}
_RULES = {MajorityRule.SIMPLE: N_("simple majority"),
          MajorityRule.ABSOLUTE: N_("absolute majority"),
          MajorityRule.TWO_THIRDS: N_("two-thirds majority")}
_ATTENDANCE = {AttendanceStatus.PRESENT: N_("present"), AttendanceStatus.PROXY: N_("proxy"),
               AttendanceStatus.EXCUSED: N_("excused"), AttendanceStatus.ABSENT: N_("absent")}
_CHOICE_KEYS = {Choice.YES: "y", Choice.NO: "n", Choice.ABSTAIN: "a"}
CHOICE_OF_KEY = {key: choice for choice, key in _CHOICE_KEYS.items()}


def vote_keyboard(language: str, motion_id: int) -> InlineKeyboardMarkup:
    """Yes / No / Abstain; the callback data names the motion so a press is self-contained."""
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(translate(language, CHOICES[choice]),
                             callback_data=f"v:{motion_id}:{_CHOICE_KEYS[choice]}")
        for choice in Choice]])


def _tally_line(language: str, count: Count) -> str:
    return translate(language, "Yes {yes} · No {no} · Abstain {abstain}",
                     yes=count.of(Choice.YES), no=count.of(Choice.NO),
                     abstain=count.of(Choice.ABSTAIN))


def motion_text(language: str, count: Count, closes: str = "") -> str:
    """The motion's group message: what is voted on and, while open, the live count (a secret
    ballot shows only how many have voted); once closed, the result."""
    motion = count.motion
    if motion.state is MotionState.CLOSED:
        return result_text(language, count)
    lines = [f"🗳 {translate(language, _MOTION_KINDS[motion.kind])} M{motion.id}: {motion.text}"]
    if closes:
        lines.append(translate(language, "Closes at {when}.", when=closes))
    if motion.kind is not MotionKind.SECRET:
        lines.append(_tally_line(language, count))
    lines.append(translate(language, "{cast} of {eligible} voted.", cast=count.cast,
                           eligible=count.eligible))
    if motion.kind is MotionKind.SECRET:
        lines.append(translate(language, "CIOs vote in their private chat with me, or send me "
                                         "/vote M{id} yes|no|abstain there.", id=motion.id))
    else:
        lines.append(translate(language, "Department CIOs: press to vote (or /vote M{id} "
                                         "yes|no|abstain); a new vote replaces your earlier one.",
                               id=motion.id))
    return "\n".join(lines)


def motion_message(language: str, timezone: str,
                   count: Count) -> tuple[str, InlineKeyboardMarkup | None]:
    """The motion's group message as it should read now, and its buttons: Yes / No / Abstain
    while open, except for a secret ballot (voted in private chats)."""
    motion = count.motion
    closes = local_text(motion.closes_at, timezone) if motion.closes_at else ""
    buttons = motion.state is MotionState.OPEN and motion.kind is not MotionKind.SECRET
    return (motion_text(language, count, closes),
            vote_keyboard(language, motion.id) if buttons else None)


def result_text(language: str, count: Count) -> str:
    """The declared result: verdict, tally, quorum, who voted what (named votes only), the rule
    and the short hash of the ballot set, so anyone can check a recount."""
    motion = count.motion
    needed = quorum_needed(motion.quorum, count.eligible)
    if count.cast < needed:
        verdict = N_("❌ M{id} failed: quorum not met")
    elif motion.passed:
        verdict = N_("✅ M{id} carried")
    else:
        verdict = N_("❌ M{id} not carried")
    lines = [f"{translate(language, verdict, id=motion.id)}: {motion.text}",
             _tally_line(language, count),
             translate(language, "{cast} of {eligible} eligible voted; quorum {needed}.",
                       cast=count.cast, eligible=count.eligible, needed=needed)]
    if motion.kind is not MotionKind.SECRET:
        lines.extend(f"{translate(language, CHOICES[choice])}: {', '.join(voters)}"
                     for choice in Choice if (voters := count.voters(choice)))
    lines.append(translate(language, "Rule: {rule}. Ballot set #{digest}.",
                           rule=translate(language, _RULES[motion.rule]), digest=motion.digest))
    return "\n".join(lines)


def roll_call_text(language: str, timezone: str, call: RollCall) -> str:
    """The roll call, with the proxies and apologies the office recorded before the start, so
    nobody presses for a department already answered for."""
    lines = [
        translate(language, "🏛 Meeting #{id} is open ({when}).", id=call.meeting.id,
                  when=when(language, timezone, call.meeting)),
        translate(language, "Roll call: CIOs and experts, press Here or send /here. A CIO must "
                            "attend in person to vote."),
    ]
    if call.attendance:
        lines.append(translate(language, "Recorded beforehand:"))
        lines.extend(attendance_lines(language, call.attendance, call.departments, call.members))
    return "\n".join(lines)


def attendance_lines(language: str, attendance: Sequence[Attendance],
                     departments: Sequence[Department], members: Sequence[Member]) -> list[str]:
    """One line per department (and per expert who came): its code and how it attended."""
    codes = {d.id: d.code for d in departments}
    names = {m.id: m.name for m in members}
    lines = []
    for record in sorted(attendance, key=lambda a: (a.department_id is None,
                                                    codes.get(a.department_id or 0, ""))):
        who = (codes.get(record.department_id, "?") if record.department_id is not None
               else names.get(record.member_id or 0, "?"))
        status = translate(language, _ATTENDANCE[record.status])
        detail = record.proxy_name or record.reason
        lines.append(f"• {who}: {status}" + (f" ({detail})" if detail else ""))
    return lines


def ended_text(language: str, ended: Ended, departments: Sequence[Department],
               members: Sequence[Member]) -> str:
    counts = Counter(a.status for a in ended.attendance if a.department_id is not None)
    return "\n".join([
        translate(language, "🏁 Meeting #{id} has ended.", id=ended.meeting.id),
        translate(language, "Departments: {present} present in person, {proxy} by proxy, "
                            "{excused} excused, {absent} absent.",
                  present=counts[AttendanceStatus.PRESENT], proxy=counts[AttendanceStatus.PROXY],
                  excused=counts[AttendanceStatus.EXCUSED], absent=counts[AttendanceStatus.ABSENT]),
        *attendance_lines(language, ended.attendance, departments, members),
        translate(language, "Recorded: {notes} notes, {decisions} decisions, {motions} votes. The "
                            "secretariat drafts the minutes from here.", notes=ended.notes,
                  decisions=ended.decisions, motions=ended.motions),
    ])
