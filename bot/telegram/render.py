"""Chat text for domain values, in a given language and time zone.

Every function here takes the language (and, where it writes a time, the council's time zone) and
plain values, never the request: the reminder worker and the live counts render without one, and
nothing in `bot.telegram` sits below this module.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot.i18n import N_, translate
from bot.i18n.words import (
    date_text,
    days,
    label,
    local_datetime_text,
    moved_reason,
    role_in_sentence,
)
from meetings.domain.actions import OpenActions
from meetings.domain.agenda import Agenda
from meetings.domain.model import (
    ActionItem,
    AgendaItem,
    Attendance,
    AttendanceStatus,
    Choice,
    Council,
    Department,
    MajorityBase,
    MajorityRule,
    Meeting,
    MeetingState,
    Member,
    MotionKind,
    MotionState,
    Role,
    meeting_ref,
)
from meetings.domain.proceedings import roll_call_state
from meetings.domain.reminders import agenda_deadline, short_notice
from meetings.domain.rules import BASES, quorum_of
from meetings.domain.scheduling import KeptBecause, SeriesChange, to_local
from meetings.domain.votes import Presence
from meetings.usecases.councils import RoleChange
from meetings.usecases.meeting import Ended, RollCall
from meetings.usecases.voting import Count

TELEGRAM_TEXT_LIMIT = 4096
TELEGRAM_CAPTION_LIMIT = 1024
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


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
    return local_datetime_text(language, meeting.starts_at, timezone)


def meeting_line(language: str, timezone: str, meeting: Meeting) -> str:
    """`S12 Thu 14 Jan 2027, 14:30 — title (moved from ...)` with its state when not plain."""
    parts = [f"{meeting_ref(meeting.id)} {when(language, timezone, meeting)}"]
    if meeting.title:
        parts.append(f"— {meeting.title}")
    if meeting.state is MeetingState.CANCELLED:
        parts.append(translate(language, "(cancelled)"))
    elif meeting.moved_reason:
        parts.append(f"({moved_reason(language, meeting.moved_reason)})")
    return " ".join(parts)


_KEPT_BECAUSE = {
    KeptBecause.MOVED_BY_HAND: N_("moved by hand"),
    KeptBecause.AGENDA_CLOSED: N_("its final agenda has been posted"),
    KeptBecause.ATTENDANCE: N_("apologies or proxies are recorded for it"),
    KeptBecause.NO_SUCCESSOR: N_("it holds agenda items and no later meeting could take them"),
}


def series_meetings(change: SeriesChange) -> list[Meeting]:
    """The new series' meetings ahead: the new ones and the earlier ones it took over."""
    return sorted([*change.planned, *(after for _, after in change.updated), *change.unchanged],
                  key=lambda m: (m.starts_at, m.id))


def series_change_lines(language: str, timezone: str, change: SeriesChange) -> list[str]:
    """What a new series did to the earlier meetings, each named: which took the new time,
    which were removed, which were kept as they are and why, where agenda items went, and
    which days of the new series already held a meeting. Nothing when nothing was there."""
    def line(meeting: Meeting) -> str:
        return meeting_line(language, timezone, meeting)

    lines: list[str] = []
    if change.unchanged:
        lines.append(translate(language, "Already at the new series' time, unchanged: {ids}.",
                               ids=", ".join(meeting_ref(m.id) for m in change.unchanged)))
    if change.updated:
        lines.append(translate(language, "Moved to the new series' time, keeping their id and "
                                         "agenda:"))
        lines.extend("• " + translate(language, "{meeting} (was {before})", meeting=line(after),
                                      before=when(language, timezone, before))
                     for before, after in change.updated)
    if change.removed:
        lines.append(translate(language, "Removed, as the new series has no meeting on their "
                                         "dates:"))
        lines.extend(f"• {line(meeting)}" for meeting in change.removed)
    if change.kept:
        lines.append(translate(language, "Kept as they are:"))
        lines.extend("• " + translate(language, "{meeting}: {why}", meeting=line(kept.meeting),
                                      why=translate(language, _KEPT_BECAUSE[kept.because]))
                     for kept in change.kept)
    for move in change.moves:
        lines.append(translate(
            language, "Agenda #{id} ({state}) moved from meeting {source} to meeting {target} "
                      "({when}).", id=move.item.id,
            state=label(language, move.item.state),
            source=meeting_ref(move.source.id), target=meeting_ref(move.target.id),
            when=when(language, timezone, move.target)))
    for skipped in change.skipped:
        holder = skipped.holder
        message = (N_("No new meeting for {day}: meeting {meeting} was cancelled on that date.")
                   if holder.state is MeetingState.CANCELLED else
                   N_("No new meeting on {day}: meeting {meeting} is already on that day."))
        if holder.state is not MeetingState.CANCELLED and (
                to_local(holder.starts_at, timezone).date() != skipped.day):
            message = N_("No new meeting on {day}: meeting {meeting} stands for it ({when}).")
        lines.append(translate(language, message, day=date_text(language, skipped.day),
                               meeting=meeting_ref(holder.id),
                               when=when(language, timezone, holder)))
    return lines


_ROLE_ORDER = [Role.CHAIR, Role.SECRETARY, Role.CIO, Role.EXPERT, Role.OBSERVER]


def role_name(language: str, role: Role) -> str:
    return label(language, role)


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
                           role=role_in_sentence(language, change.former_chair.role))]
    else:
        lines = [translate(language, "{name} is now {role}.", name=member.name,
                           role=role_in_sentence(language, member.role))]
    if change.vacated is not None:
        lines.append(translate(language, "{code} has no CIO now.", code=change.vacated.code))
    if not member.private_chat:
        lines.append(start_request(language, member.name, link))
    return "\n".join(lines)


MAJOR = "★"
URGENT = "⚡"


def proposals_line(language: str, council: Council, meeting: Meeting,
                   now: datetime) -> str | None:
    """When proposals close (by the council's rule, in its time zone), or that they have; never
    a closing moment already past (a meeting scheduled at short notice had its deadline pass
    before it existed); nothing once the meeting is under way."""
    if meeting.state in (MeetingState.SCHEDULED, MeetingState.AGENDA_OPEN):
        closes = agenda_deadline(meeting, council)
        deadline = local_datetime_text(language, closes, council.timezone)
        if closes <= now:
            return translate(language, "Proposals for this meeting are closed (the deadline was "
                                       "{deadline}): new proposals go to the following meeting.",
                             deadline=deadline)
        return translate(language, "Proposals close {deadline}.", deadline=deadline)
    if meeting.state is MeetingState.AGENDA_CLOSED:
        return translate(language, "The agenda is closed.")
    return None


def short_notice_line(language: str, council: Council, meeting: Meeting) -> str | None:
    """For a meeting announced at short notice, that its proposals close later than the
    council's deadline, and when; None for any other meeting."""
    if not short_notice(meeting, council):
        return None
    return translate(language, "Short notice: CIOs' proposals are taken until {deadline}, "
                               "halfway to the meeting, instead of {days} before it.",
                     deadline=local_datetime_text(language, agenda_deadline(meeting, council),
                                                  council.timezone),
                     days=days(language, council.agenda_deadline_days))


def agenda_text(language: str, council: Council, agenda: Agenda, now: datetime) -> str:
    """/agenda: every item with its id, department, state and description, then the review."""
    meeting = agenda.meeting
    lines = [translate(language, "Agenda of meeting {meeting}",
                       meeting=meeting_line(language, council.timezone, meeting))]
    if state := proposals_line(language, council, meeting, now):
        lines.append(state)
    for item in agenda.items:
        state = label(language, item.state)
        if item.major:
            state = translate(language, "{state}, major issue", state=state)
        if item.urgent:
            state = translate(language, "{state}, urgent business", state=state)
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
    """`#5 ★ Open data platform (EPB)`; `#9 ⚡ Flood response` for urgent business."""
    code = agenda.code(item.department_id)
    return " ".join(part for part in (f"#{item.id}", MAJOR if item.major else "",
                                      URGENT if item.urgent else "", item.title,
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
                     due=date_text(language, action.due), text=action.text)


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
_RULES = {(MajorityRule.SIMPLE, MajorityBase.CAST): N_("simple majority of the votes cast"),
          (MajorityRule.ABSOLUTE, MajorityBase.MEMBERS):
              N_("absolute majority of the member departments"),
          (MajorityRule.TWO_THIRDS, MajorityBase.CAST): N_("two-thirds majority of the votes cast"),
          (MajorityRule.TWO_THIRDS, MajorityBase.MEMBERS):
              N_("two-thirds majority of the member departments")}


def rule_name(language: str, rule: MajorityRule, base: MajorityBase) -> str:
    """The majority rule with its base: `simple majority of the votes cast`."""
    return translate(language, _RULES.get((rule, base), _RULES[rule, BASES[rule][0]]))


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
    closes = (local_datetime_text(language, motion.closes_at, timezone) if motion.closes_at
              else "")
    buttons = motion.state is MotionState.OPEN and motion.kind is not MotionKind.SECRET
    return (motion_text(language, count, closes),
            vote_keyboard(language, motion.id) if buttons else None)


def result_text(language: str, count: Count) -> str:
    """The declared result: verdict, tally, the quorum of the membership and who voted what
    (named votes only), the rule with its base, and the short hash of the ballot set, so anyone
    can check a recount. Everything comes from what the motion stored when it opened."""
    motion = count.motion
    quorate = count.cast >= motion.quorum_needed
    if not quorate:
        verdict = N_("❌ M{id} failed: quorum not met")
    elif motion.passed:
        verdict = N_("✅ M{id} carried")
    else:
        verdict = N_("❌ M{id} not carried")
    quorum = (N_("Quorum {needed} of {membership} member departments; {cast} voted.") if quorate
              else N_("Quorum not met: {cast} voted; {needed} of {membership} member departments "
                      "needed."))
    lines = [translate(language, "{label}: {value}",
                       label=translate(language, verdict, id=motion.id), value=motion.text),
             _tally_line(language, count),
             translate(language, quorum, cast=count.cast, needed=motion.quorum_needed,
                       membership=motion.membership)]
    if motion.kind is not MotionKind.SECRET:
        lines.extend(translate(language, "{label}: {value}",
                               label=translate(language, CHOICES[choice]),
                               value=_codes(language, voters))
                     for choice in Choice if (voters := count.voters(choice)))
    lines.append(translate(language, "Rule: {rule}. Ballot set #{digest}.",
                           rule=rule_name(language, motion.rule, motion.base),
                           digest=motion.digest))
    if count.decision_id is not None:
        lines.append(translate(language, "Recorded as decision D{id}.", id=count.decision_id))
    return "\n".join(lines)


def quorum_line(language: str, presence: Presence) -> str:
    """Whether the meeting is quorate: `7 of 9 departments present; quorum 5: quorate`."""
    message = (N_("{present} of {membership} departments present; quorum {needed}: quorate")
               if presence.quorate else
               N_("{present} of {membership} departments present; quorum {needed}: not quorate"))
    return translate(language, message, present=presence.present,
                     membership=presence.membership, needed=presence.needed)


def quorum_rule_text(language: str, council: Council) -> str:
    """`more than 1/2 of the member departments` (or `at least 2/3 ...`)."""
    quorum = quorum_of(council)
    share = f"{quorum.share.numerator}/{quorum.share.denominator}"
    message = (N_("more than {share} of the member departments") if quorum.over
               else N_("at least {share} of the member departments"))
    return translate(language, message, share=share)


def rules_text(language: str, council: Council) -> str:
    """/rules: the council's rules of procedure, and how the chair changes them."""
    deadline = (translate(language, "{days} before the meeting",
                          days=days(language, council.agenda_deadline_days))
                if council.agenda_deadline_days
                else translate(language, "when the meeting starts"))
    call = (translate(language, "{days} before the meeting",
                      days=days(language, council.agenda_call_days))
            if council.agenda_call_days else translate(language, "none"))
    return "\n".join([
        translate(language, "Rules of procedure of {council}:", council=council.name),
        "• " + translate(language, "Quorum: {quorum}", quorum=quorum_rule_text(language, council)),
        "• " + translate(language, "Majority: {rule}", rule=rule_name(
            language, council.majority_rule, council.majority_base)),
        "• " + translate(language, "Major issues per meeting: at most {count}",
                         count=council.max_major_issues),
        "• " + translate(language, "Proposal deadline: {when}", when=deadline),
        "• " + translate(language, "Agenda call: {when}", when=call),
        translate(language, "The chair changes them: /rules quorum 1/2 (or >=2/3), /rules "
                            "majority simple|absolute|two_thirds [of cast|members], /rules "
                            "majors 2, /rules deadline 3d, /rules call 14d. A change applies to "
                            "votes opened afterwards and to reminders not sent yet."),
    ])


def roll_call_keyboard(language: str, meeting_id: int) -> InlineKeyboardMarkup:
    """The roll call's Here button; its data names the meeting, so an old one is refused."""
    return InlineKeyboardMarkup([[InlineKeyboardButton(translate(language, "✋ Here"),
                                                       callback_data=f"h:{meeting_id}")]])


def roll_call_message(language: str, timezone: str,
                      call: RollCall) -> tuple[str, InlineKeyboardMarkup | None]:
    """The roll call's group message as it should read now, and its Here button while the
    meeting runs."""
    running = call.meeting.state is MeetingState.IN_PROGRESS
    return (roll_call_text(language, timezone, call),
            roll_call_keyboard(language, call.meeting.id) if running else None)


_LIST_SEPARATOR = {"zh": "；"}


def roll_call_text(language: str, timezone: str, call: RollCall) -> str:
    """The roll call, as it stands: who is present of the membership, whom it still awaits,
    proxies and apologies (recorded beforehand or since), and who else attends. The one text
    of the roll call: the message at /startmeeting and every live edit of it."""
    meeting = call.meeting
    if meeting.state is MeetingState.IN_PROGRESS:
        lines = [
            translate(language, "🏛 Meeting S{id} is open ({when}).", id=meeting.id,
                      when=when(language, timezone, meeting)),
            translate(language, "Roll call: CIOs and experts, press Here or send /here. A CIO "
                                "must attend in person to vote."),
        ]
    else:
        lines = [translate(language, "🏛 Meeting S{id} ({when}): the roll call is closed.",
                           id=meeting.id, when=when(language, timezone, meeting))]
    if call.attendance:
        lines.extend(roll_call_lines(language, call))
    lines.append(quorum_line(language, call.presence))
    return "\n".join(lines)


def roll_call_lines(language: str, call: RollCall) -> list[str]:
    """`Present 6 of 9: …; awaiting TRN, HLTH; proxy HRSS; excused CIV`, then the others."""
    state = roll_call_state(call.departments, call.attendance, call.members)
    parts = [translate(language, "Present {count} of {total}: {codes}",
                       count=len(state.present), total=state.expected,
                       codes=_codes(language, state.present))]
    for codes, part in ((state.awaiting, N_("awaiting {codes}")),
                         (state.proxy, N_("proxy {codes}")),
                         (state.excused, N_("excused {codes}")),
                         (state.absent, N_("absent {codes}"))):
        if codes:
            parts.append(translate(language, part, codes=_codes(language, codes)))
    lines = [_LIST_SEPARATOR.get(language, "; ").join(parts)]
    if state.others:
        lines.append(translate(language, "Also present: {people}",
                               people=_people(language, state.others)))
    return lines


def _codes(language: str, codes: Sequence[str]) -> str:
    return ("、" if language == "zh" else ", ").join(codes) or translate(language, "none")


def _people(language: str, people: Sequence[Member]) -> str:
    """`Li Wei (chair), Zhou Min (expert)`."""
    return ("、" if language == "zh" else ", ").join(_person(language, m) for m in people)


def _person(language: str, member: Member | None) -> str:
    """`Zhou Min (expert)`: someone attending for no department, with their role."""
    if member is None:
        return "?"
    if language == "zh":
        return f"{member.name}（{role_name(language, member.role)}）"
    return f"{member.name} ({role_name(language, member.role)})"


def attendance_lines(language: str, attendance: Sequence[Attendance],
                     departments: Sequence[Department], members: Sequence[Member]) -> list[str]:
    """One line per department (and per expert who came): its code and how it attended."""
    codes = {d.id: d.code for d in departments}
    people = {m.id: m for m in members}
    lines = []
    for record in sorted(attendance, key=lambda a: (a.department_id is None,
                                                    codes.get(a.department_id or 0, ""))):
        who = (codes.get(record.department_id, "?") if record.department_id is not None
               else _person(language, people.get(record.member_id or 0)))
        status = label(language, record.status)
        detail = record.proxy_name or record.reason
        lines.append(f"• {who}: {status}" + (f" ({detail})" if detail else ""))
    return lines


def ended_text(language: str, ended: Ended, departments: Sequence[Department],
               members: Sequence[Member]) -> str:
    """/endmeeting: the departments' attendance, then the other attendees apart (experts,
    observers, the office: they answer for no department), what was recorded, and where the
    record can be read."""
    by_department = [a for a in ended.attendance if a.department_id is not None]
    others = [a for a in ended.attendance if a.department_id is None]
    counts = Counter(a.status for a in by_department)
    lines = [
        translate(language, "🏁 Meeting S{id} has ended.", id=ended.meeting.id),
        translate(language, "Departments: {present} present in person, {proxy} by proxy, "
                            "{excused} excused, {absent} absent.",
                  present=counts[AttendanceStatus.PRESENT], proxy=counts[AttendanceStatus.PROXY],
                  excused=counts[AttendanceStatus.EXCUSED], absent=counts[AttendanceStatus.ABSENT]),
        *attendance_lines(language, by_department, departments, members),
    ]
    if others or ended.guests:
        lines.append(translate(language, "Other attendees (no department, no vote): {count}",
                               count=len(others) + len(ended.guests)))
        lines.extend(attendance_lines(language, others, departments, members))
        lines.extend(f"• {guest.name}: " + translate(language, "guest") + (
            f" ({guest.organisation})" if guest.organisation else "") for guest in ended.guests)
    lines += [
        translate(language, "Recorded: notes {notes}, decisions {decisions}, votes {motions}.",
                  notes=ended.notes, decisions=ended.decisions, motions=ended.motions),
        translate(language, "The record: the draft minutes are the Word document below; "
                            "/minutes S{id} sends the latest revision again.",
                  id=ended.meeting.id),
    ]
    return "\n".join(lines)
