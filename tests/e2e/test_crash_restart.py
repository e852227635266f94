"""The bot SIGKILLed at twenty random points of a scripted meeting, and started again each time:
no acknowledged agenda item, note, decision, action, attendance or ballot is lost or doubled.

The bot is the real `cio-council serve`, a separate OS process on the system clock, polling the
sandbox Bot API that runs in the test process (so updates wait there while the bot is down, as
at Telegram). People act through the sandbox: 54 steps of proposals, a roll call, notes,
decisions, three named votes with changed votes, and action items. A step is acknowledged once
its answer (the bot's reply, or its answer to a button press) has reached the sandbox. Nobody
re-sends after a crash: the restarted bot must finish what it accepted. Someone whose button
message never came (its command was not answered) uses the command instead.

Kills land between steps, right after an update was sent, once the bot has stored it, at a
random moment of its handling, and just as its answer reaches the Bot API (see `Kill`). The
seed is printed; set COUNCIL_CRASH_SEED to replay a run.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.clock import FixedClock
from bot.i18n.words import date_text
from bot.sandbox import Chat, Message, SandboxServer, User
from bot.telegram.app import build_application
from bot.telegram.context import BotEnv, Defaults
from bot.web.intake import UpdateIntake
from meetings import usecases
from meetings.domain.model import Meeting, MeetingKind, Role
from storage import Database
from storage.db import make_sync_engine
from tests.e2e.crash import CrashingSandbox, ServeProcess

SEED_VARIABLE = "COUNCIL_CRASH_SEED"
KILLS = 20
ANSWER_WITHIN = 10.0  # seconds; a live bot answers in milliseconds
READY_WITHIN = 30.0  # a start takes ~1.5 s
CODES = ["EPB", "MSB", "EDU", "HLTH", "FIN", "TRN"]  # TRN's CIO never comes: absent at the end
ZONE = ZoneInfo("Asia/Shanghai")


# --- what a step does to the council's records ---------------------------------------------------

@dataclass(frozen=True)
class Proposed:
    title: str


@dataclass(frozen=True)
class Noted:
    kind: str
    text: str


@dataclass(frozen=True)
class Agreed:
    text: str


@dataclass(frozen=True)
class Assigned:
    code: str
    text: str


@dataclass(frozen=True)
class Present:
    person: str


@dataclass(frozen=True)
class Opened:
    text: str


@dataclass(frozen=True)
class Voted:
    motion: str  # the motion's text
    person: str
    choice: str  # yes, no, abstain


@dataclass(frozen=True)
class Closed:
    motion: str


@dataclass(frozen=True)
class Started:
    pass


@dataclass(frozen=True)
class Ended:
    pass


Effect = (Proposed | Noted | Agreed | Assigned | Present | Opened | Voted | Closed | Started
          | Ended)


@dataclass(frozen=True)
class Step:
    person: str
    text: str  # a command (without @bot), or a button's label when `on` is set
    expect: str  # the answer it must get, as a regex; group `id` names the record created
    effect: Effect
    on: str | None = None  # the message (named by `shows`) whose button is pressed
    fallback: str | None = None  # the same act as a command, for when that message never came
    fallback_expect: str | None = None
    shows: str | None = None  # names the reply, for later presses


# --- the script --------------------------------------------------------------------------------

HERE_PRESSED = r"^You are (already )?marked present\.$"
HERE_SAID = (r"^(CIO [A-Z]+|Zhou Min) is present\.\n"
             r"\d+ of \d+ departments present; quorum \d+: (not )?quorate$")


def voted(choice: str) -> str:
    label = choice.capitalize()
    return (rf"^(Your vote on M(?P<id>\d+): {label}\."
            rf"|Your vote on M(?P<again>\d+) is now {label} \(it was \w+\)\."
            r"|Your vote was already counted\.)$")


def say(person: str, text: str, expect: str, effect: Effect, *,
        shows: str | None = None) -> Step:
    return Step(person, text, expect, effect, shows=shows)


def roll_call(person: str) -> Step:
    return Step(person, "✋ Here", HERE_PRESSED, Present(person), on="roll call",
                fallback="/here", fallback_expect=HERE_SAID)


def press_vote(person: str, motion: str, choice: str) -> Step:
    return Step(person, choice.capitalize(), voted(choice), Voted(motion, person, choice),
                on=motion, fallback=f"/vote {choice}", fallback_expect=voted(choice))


def vote(person: str, motion: str, choice: str) -> Step:
    return say(person, f"/vote {choice}", voted(choice), Voted(motion, person, choice))


def note(person: str, kind: str, text: str) -> Step:
    return say(person, f"/{kind} {text}", rf"^Noted \({kind} (?P<id>\d+)\)\.$", Noted(kind, text))


def propose(person: str, title: str, description: str = "") -> Step:
    text = f"/propose {title} | {description}" if description else f"/propose {title}"
    return say(person, text, r"^Agenda #(?P<id>\d+) proposed for the meeting", Proposed(title))


def agreed(text: str) -> Step:
    return say("chair", f"/agreed {text}", rf"^Decision D(?P<id>\d+) recorded: {re.escape(text)}$",
               Agreed(text))


def action(code: str, due: str, text: str) -> Step:
    return say("secretary", f"/action {code} {due} {text}",
               rf"^Action A(?P<id>\d+) for {code}, due "
               rf"{date_text('en', date.fromisoformat(due))}: {re.escape(text)}$",
               Assigned(code, text))


def motion(text: str) -> Step:
    return say("chair", f"/motion {text}", rf"^🗳 Motion M(?P<id>\d+): {re.escape(text)}\n",
               Opened(text), shows=text)


def close(text: str) -> Step:
    return say("chair", "/close", rf"^(✅|❌) M(?P<id>\d+) [^:]+: {re.escape(text)}\n",
               Closed(text))


def script(meeting_id: int, due: str) -> list[Step]:
    cloud, fund, pilot = ("Adopt the cloud-first policy", "Fund the shared data exchange",
                          "Approve the hospital records pilot")
    return [
        propose("EPB", "Shared data exchange platform", "sensors, permits, registries"),
        propose("MSB", "Unified e-licence system"),
        propose("EDU", "Campus network upgrade"),
        propose("HLTH", "Health records interoperability"),
        say("chair", f"/startmeeting {meeting_id}", rf"^🏛 Meeting S{meeting_id} is open",
            Started(), shows="roll call"),
        roll_call("EPB"),
        roll_call("MSB"),
        say("EDU", "/here", HERE_SAID, Present("EDU")),
        roll_call("expert"),
        say("HLTH", "/here", HERE_SAID, Present("HLTH")),
        roll_call("FIN"),
        note("secretary", "info", "The 2027 budget for shared infrastructure is approved"),
        note("expert", "idea", "Use the provincial cloud for disaster recovery"),
        note("EPB", "info", "EPB sensors report every five minutes"),
        agreed("Departments publish their open data quarterly"),
        motion(cloud),
        press_vote("EPB", cloud, "yes"),
        press_vote("MSB", cloud, "no"),
        press_vote("EDU", cloud, "yes"),
        press_vote("HLTH", cloud, "abstain"),
        press_vote("MSB", cloud, "yes"),  # changes their vote
        vote("FIN", cloud, "yes"),
        press_vote("EPB", cloud, "no"),  # changes their vote
        close(cloud),
        action("EPB", due, "Publish the sensor data catalogue"),
        note("MSB", "idea", "Merge the licence and permit portals"),
        agreed("The data office reports to the council monthly"),
        motion(fund),
        press_vote("FIN", fund, "yes"),
        press_vote("EDU", fund, "no"),
        vote("HLTH", fund, "no"),
        press_vote("EPB", fund, "abstain"),
        press_vote("EDU", fund, "yes"),  # changes their vote
        vote("MSB", fund, "yes"),
        press_vote("HLTH", fund, "yes"),  # changes their vote
        close(fund),
        action("FIN", due, "Draft the funding plan for the exchange"),
        action("MSB", due, "Merge the licence and permit portals"),
        note("EDU", "info", "Schools need 2 Gbit/s uplinks"),
        note("HLTH", "idea", "Pilot the records exchange in two hospitals"),
        agreed("The hospital pilot starts in January"),
        motion(pilot),
        press_vote("HLTH", pilot, "yes"),
        press_vote("EDU", pilot, "abstain"),
        press_vote("FIN", pilot, "no"),
        vote("EPB", pilot, "yes"),
        press_vote("FIN", pilot, "yes"),  # changes their vote
        press_vote("MSB", pilot, "no"),
        vote("EDU", pilot, "yes"),  # changes their vote
        close(pilot),
        action("HLTH", due, "Sign the data sharing agreement with both hospitals"),
        note("expert", "info", "The national standard for records exchange is out in March"),
        note("FIN", "idea", "Share one procurement framework for cloud services"),
        say("chair", "/endmeeting", rf"^🏁 Meeting S{meeting_id} has ended\.", Ended()),
    ]


# --- the run -----------------------------------------------------------------------------------

@dataclass
class Done:
    """What happened to one step."""

    step: Step
    sent_as: str  # the command or button label actually used
    kill: str | None = None  # how the bot was killed at this step
    message: Message | None = None  # the person's message (commands)
    query: str | None = None  # the callback query id (presses)
    answer: str | None = None  # None: never acknowledged

    @property
    def expect(self) -> str:
        if self.step.on is not None and self.message is not None:
            assert self.step.fallback_expect is not None
            return self.step.fallback_expect
        return self.step.expect


@dataclass
class Council:
    sandbox: CrashingSandbox
    group: Chat
    people: dict[str, User]
    serve: ServeProcess
    meeting_id: int
    probes: int = 0
    restarts: list[float] = field(default_factory=list)  # seconds from kill to ready
    latencies: list[float] = field(default_factory=list)  # seconds from a step to its answer
    shown: dict[str, Message] = field(default_factory=dict)

    async def ready(self) -> None:
        """A /help round trip: the bot runs, and since it handles updates in order, everything
        sent before has been handled. Each probe is someone new, in a private chat of their
        own, so the answer to a replayed earlier probe is not taken for this one's."""
        control = self.sandbox.control
        self.probes += 1
        probe = control.create_user(f"Probe {self.probes}")
        asked = control.send_text(probe.id, probe.id, "/help")
        await self.serve.alive_while(control.next_bot_message(
            probe.id, after=asked, timeout=READY_WITHIN))

    async def restart(self) -> None:
        began = time.monotonic()
        await self.serve.kill()
        await self.serve.start()
        await self.ready()
        self.restarts.append(time.monotonic() - began)

    def act(self, step: Step) -> Done:
        """Sends the step as its person would: a button press if the message with the button
        is there, else the command."""
        control = self.sandbox.control
        person = self.people[step.person]
        if step.on is not None and step.on in self.shown:
            target = self.shown[step.on]
            query = control.press_button(person.id, self.group.id, target.message_id,
                                         text=step.text)
            return Done(step, step.text, query=query)
        text = step.fallback if step.on is not None else step.text
        assert text is not None
        name, _, rest = text.partition(" ")
        sent = control.send_text(person.id, self.group.id,
                                 f"{name}@{self.sandbox.bot.username} {rest}".rstrip())
        return Done(step, text, message=sent)

    async def answered(self, done: Done) -> None:
        """Waits for the answer of a step the bot was alive for."""
        control = self.sandbox.control
        if done.query is not None:
            answer = await self.serve.alive_while(control.answer_to(done.query,
                                                                    timeout=ANSWER_WITHIN))
            done.answer = answer.text or ""
        else:
            assert done.message is not None
            reply = await self.serve.alive_while(control.next_bot_message(
                self.group.id, after=done.message, timeout=ANSWER_WITHIN))
            done.answer = first_text(reply)
            self._remember(done, reply)

    def look(self, done: Done) -> None:
        """After a crash and restart: the step's answer, if it came at all."""
        control = self.sandbox.control
        if done.query is not None:
            done.answer = next((a.text or "" for a in control.callback_answers()
                                if a.callback_query_id == done.query), None)
            return
        assert done.message is not None
        reply = next((m for m in control.bot_messages(self.group.id)
                      if m.message_id > done.message.message_id), None)
        if reply is not None:
            done.answer = first_text(reply)
            self._remember(done, reply)

    def _remember(self, done: Done, reply: Message) -> None:
        if done.step.shows is not None:
            self.shown[done.step.shows] = reply


def first_text(message: Message) -> str:
    """What the bot said at first: a motion's message is later edited to its count; a file's
    caption (the minutes at /endmeeting) is what it said with it."""
    said = message.history[0] if message.history else message.text
    return said or str(message.content.get("caption") or "")


@dataclass(frozen=True)
class Kill:
    """A crash at one step: ``between`` steps (before it is sent), right after it is ``sent``
    (usually before the bot fetched it), once the bot ``stored`` it (it confirmed the update to
    the Bot API after committing it to its inbox), at a random moment of its ``handling`` (up
    to `HANDLING` after it was stored), or when its answer is on the way (``answering``: the
    work is committed, the answer never arrives)."""

    kind: str
    delay: float = 0.0  # seconds after it was stored (handling)

    def __str__(self) -> str:
        return f"{self.kind} +{self.delay * 1000:.0f} ms" if self.kind == "handling" else self.kind


HANDLING = 0.06  # seconds; answers take ~50 ms (median) after the update is sent


def kill_plan(rng: random.Random, steps: int) -> dict[int, Kill]:
    """Twenty steps to crash at, four of each kind."""
    kinds = ["between", "sent", "stored", "handling", "answering"] * (KILLS // 5)
    rng.shuffle(kinds)
    at = sorted(rng.sample(range(steps), KILLS))
    return {index: Kill(kind, rng.uniform(0, HANDLING) if kind == "handling" else 0.0)
            for index, kind in zip(at, kinds, strict=True)}


async def play(council: Council, steps: Sequence[Step], plan: dict[int, Kill]) -> list[Done]:
    control = council.sandbox.control
    log: list[Done] = []
    for index, step in enumerate(steps):
        kill = plan.get(index)
        kind = kill.kind if kill is not None else None
        if kind == "between":
            await council.restart()
        elif kind == "answering":
            council.sandbox.kill_at_next_answer(council.serve.kill_now)
        done = council.act(step)
        done.kill = str(kill) if kill is not None else None
        if kind == "answering":
            await council.sandbox.killed(ANSWER_WITHIN)
        elif kill is not None and kind in ("stored", "handling"):
            # getUpdates with the next offset: the bot stored the update and confirmed it.
            await council.serve.alive_while(control.wait_until(
                lambda: not control.pending_updates(), timeout=ANSWER_WITHIN))
            # Not a wait for something: the crash lands at a random moment of the handling.
            await asyncio.sleep(kill.delay)
        if kind in (None, "between"):
            began = time.monotonic()
            await council.answered(done)
            council.latencies.append(time.monotonic() - began)
        else:
            await council.restart()
            council.look(done)
        log.append(done)
    return log


def final_answers(council: Council, log: list[Done]) -> None:
    """Re-reads every answer at the end (a late one still counts as acknowledged) and insists
    that no command got two replies. (A press cannot: the Bot API takes one answer.)"""
    control = council.sandbox.control
    replies = control.bot_messages(council.group.id)
    sent_ids = [d.message.message_id for d in log if d.message is not None]
    answers = {a.callback_query_id: a.text or "" for a in control.callback_answers()}
    for done in log:
        if done.query is not None:
            done.answer = answers.get(done.query)
            continue
        assert done.message is not None
        start = done.message.message_id
        end = min((i for i in sent_ids if i > start), default=None)
        mine = [m for m in replies if m.message_id > start and (end is None or m.message_id < end)]
        assert len(mine) <= 1, f"{done.sent_as!r} got {len(mine)} replies: {[m.text for m in mine]}"
        done.answer = first_text(mine[0]) if mine else None


# --- the records at the end --------------------------------------------------------------------

@dataclass
class Records:
    members: dict[str, int]  # person -> member id
    departments: dict[str, int]  # code -> department id
    agenda: dict[int, str]  # id -> title
    notes: dict[int, tuple[str, str]]  # id -> kind, text
    decisions: dict[int, tuple[str, int | None]]  # id -> text, motion
    actions: dict[int, tuple[int, str]]  # id -> department, text
    motions: dict[int, tuple[str, str, int | None, int | None, int | None, bool | None]]
    ballots: list[tuple[int, int, int, str, bool]]  # id, motion, member, choice, current
    attendance: dict[int, tuple[int | None, int | None, str]]  # id -> department, member, status
    meeting_state: str
    unhandled_updates: int

    def motion_id(self, text: str) -> int | None:
        return next((i for i, m in self.motions.items() if m[0] == text), None)


def read_records(url: str, council: Council) -> Records:
    engine = make_sync_engine(url)
    try:
        with engine.connect() as db:
            def rows(query: str, **values: object) -> list[tuple[Any, ...]]:
                return [tuple(row) for row in db.execute(sa.text(query), values)]

            meeting = {"meeting": council.meeting_id}
            by_telegram = dict(rows("SELECT telegram_id, id FROM members"))
            return Records(
                members={p: by_telegram[u.id] for p, u in council.people.items()},
                departments=dict(rows("SELECT code, id FROM departments")),
                agenda=dict(rows("SELECT id, title FROM agenda_items")),
                notes={r[0]: (r[1], r[2]) for r in rows(
                    "SELECT id, kind, text FROM notes WHERE meeting_id = :meeting", **meeting)},
                decisions={r[0]: (r[1], r[2]) for r in rows(
                    "SELECT id, text, motion_id FROM decisions")},
                actions={r[0]: (r[1], r[2]) for r in rows(
                    "SELECT id, department_id, text FROM action_items")},
                motions={r[0]: (r[1], r[2], r[3], r[4], r[5],
                                None if r[6] is None else bool(r[6]))
                         for r in rows("SELECT id, text, state, yes, no, abstain, passed "
                                       "FROM motions")},
                ballots=[(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows(
                    "SELECT id, motion_id, member_id, choice, current FROM ballots ORDER BY id")],
                attendance={r[0]: (r[1], r[2], r[3]) for r in rows(
                    "SELECT id, department_id, member_id, status FROM attendance "
                    "WHERE meeting_id = :meeting", **meeting)},
                meeting_state=rows("SELECT state FROM meetings WHERE id = :meeting",
                                   **meeting)[0][0],
                unhandled_updates=rows("SELECT count(*) FROM update_inbox "
                                       "WHERE handled_at IS NULL")[0][0],
            )
    finally:
        engine.dispose()


def stored_as(effect: Effect, records: Records) -> list[int]:
    """The ids of the records a step's effect left: one if it was applied once."""
    match effect:
        case Proposed(title):
            return [i for i, t in records.agenda.items() if t == title]
        case Noted(kind, text):
            return [i for i, n in records.notes.items() if n == (kind, text)]
        case Agreed(text):
            return [i for i, d in records.decisions.items() if d == (text, None)]
        case Assigned(code, text):
            department = records.departments[code]
            return [i for i, a in records.actions.items() if a == (department, text)]
        case Present(person):
            member = records.members[person]
            return [i for i, (_, m, status) in records.attendance.items()
                    if m == member and status == "present"]
        case Opened(text):
            return [i for i, m in records.motions.items() if m[0] == text]
        case Voted(motion_text, person, choice):
            motion_id, member = records.motion_id(motion_text), records.members[person]
            return [b[0] for b in records.ballots if b[1:4] == (motion_id, member, choice)]
        case Closed(motion_text):
            return [i for i, m in records.motions.items()
                    if m[0] == motion_text and m[1] == "closed"]
        case Started():
            return [1] if records.meeting_state in ("in_progress", "ended") else []
        case Ended():
            return [1] if records.meeting_state == "ended" else []


def named_id(done: Done, found: re.Match[str], records: Records) -> tuple[int, list[int]] | None:
    """The id the answer names and the ids it may name, for answers that name a record."""
    named = found.groupdict().get("id") or found.groupdict().get("again")
    if named is None:
        return None
    effect = done.step.effect
    if isinstance(effect, Voted | Closed):
        motion_id = records.motion_id(effect.motion)
        return int(named), [] if motion_id is None else [motion_id]
    return int(named), stored_as(effect, records)


def problems_with(log: list[Done], records: Records) -> list[str]:
    """Every way the records differ from what the people were told and what they sent."""
    problems: list[str] = []
    for number, done in enumerate(log, 1):
        where = f"step {number} ({done.step.person}: {done.sent_as!r}, kill {done.kill})"
        ids = stored_as(done.step.effect, records)
        if done.answer is not None:
            found = re.search(done.expect, done.answer)
            if found is None:
                problems.append(f"{where}: answered {done.answer!r}")
            elif (named := named_id(done, found, records)) and named[0] not in named[1]:
                problems.append(f"{where}: the answer names #{named[0]}, stored as {named[1]}")
            if len(ids) != 1:
                problems.append(f"{where}: acknowledged, stored {len(ids)} times")
        elif len(ids) > 1:
            problems.append(f"{where}: unacknowledged, stored {len(ids)} times")
        elif not ids:
            # Allowed by the contract for an unacknowledged step, but this intake is durable:
            # an update the Bot API handed over is handled once it has been stored.
            problems.append(f"{where}: sent, never applied")
    problems += unaccounted(log, records)
    return problems


def unaccounted(log: list[Done], records: Records) -> list[str]:
    """Records no step explains (a doubled write that matched nothing), ballots out of order,
    tallies that the ballots do not reproduce."""
    problems: list[str] = []
    explained: dict[type, set[int]] = {}
    for done in log:
        explained.setdefault(type(done.step.effect), set()).update(
            stored_as(done.step.effect, records))
    passed = {i for i, m in records.motions.items() if m[5]}
    tables: list[tuple[str, set[int], set[int]]] = [
        ("agenda items", set(records.agenda), explained.get(Proposed, set())),
        ("notes", set(records.notes), explained.get(Noted, set())),
        ("actions", set(records.actions), explained.get(Assigned, set())),
        ("motions", set(records.motions), explained.get(Opened, set())),
        ("decisions", set(records.decisions), explained.get(Agreed, set()) | {
            i for i, d in records.decisions.items() if d[1] in passed}),
        ("ballots", {b[0] for b in records.ballots}, explained.get(Voted, set())),
        ("attendance in person", {i for i, a in records.attendance.items() if a[2] == "present"},
         explained.get(Present, set()))]
    for kind, stored, expected in tables:
        if stored != expected:
            problems.append(f"{kind}: stored {sorted(stored)}, explained {sorted(expected)}")
    carried = Counter(d[1] for d in records.decisions.values() if d[1] is not None)
    if carried != Counter(passed):
        problems.append(f"decisions of carried motions: {dict(carried)}, carried {passed}")
    # Each department's ballots, oldest first, are its votes in the order cast; the last counts.
    votes: dict[tuple[int | None, int], list[str]] = {}
    for done in log:
        if isinstance(effect := done.step.effect, Voted):
            key = (records.motion_id(effect.motion), records.members[effect.person])
            votes.setdefault(key, []).append(effect.choice)
    history: dict[tuple[int | None, int], list[tuple[str, bool]]] = {}
    for _, motion_id, member, choice, is_current in records.ballots:
        history.setdefault((motion_id, member), []).append((choice, is_current))
    for key, choices in votes.items():
        expected_history = [(c, i == len(choices) - 1) for i, c in enumerate(choices)]
        if history.get(key) != expected_history:
            problems.append(f"ballots of member {key[1]} on M{key[0]}: {history.get(key)}, "
                            f"cast {choices}")
    for motion_id, (text, state, yes, no, abstain, _) in records.motions.items():
        tally = Counter(b[3] for b in records.ballots if b[1] == motion_id and b[4])
        if state == "closed" and (yes, no, abstain) != (
                tally["yes"], tally["no"], tally["abstain"]):
            problems.append(f"M{motion_id} {text!r}: declared {(yes, no, abstain)}, "
                            f"ballots say {dict(tally)}")
    absent = sorted(a[0] or 0 for a in records.attendance.values() if a[2] == "absent")
    if records.meeting_state == "ended" and absent != [records.departments["TRN"]]:
        problems.append(f"absent departments {absent}, expected only TRN")
    if records.unhandled_updates:
        problems.append(f"{records.unhandled_updates} stored updates were never handled")
    return problems


# --- setting the council up --------------------------------------------------------------------

def cast(sandbox: SandboxServer) -> tuple[Chat, dict[str, User]]:
    control = sandbox.control
    people = {"chair": control.create_user("Wang Lei", username="wang_lei"),
              "secretary": control.create_user("Chen Jing", username="chen_jing"),
              "expert": control.create_user("Zhou Min", username="zhou_min")}
    people |= {code: control.create_user(f"CIO {code}", username=f"cio_{code.lower()}")
               for code in CODES}
    group = control.create_group("CIO Council", creator=people["chair"].id,
                                 admins=[people["chair"].id],
                                 members=[u.id for p, u in people.items() if p != "chair"])
    return group, people


async def seed(url: str, group: Chat, people: dict[str, User], now: datetime) -> int:
    """The council, its departments and members, and a meeting that began five minutes ago
    (and a later one to take proposals); returns the first meeting's id."""
    database = Database(url)
    operator = usecases.common.Operator("crash drill")
    roles = {"chair": Role.CHAIR, "secretary": Role.SECRETARY, "expert": Role.EXPERT}
    try:
        council = await usecases.councils.create_council(database.uow(), name="Riverside Council",
                                                         actor=operator, now=now, chat_id=group.id)
        for code in CODES:
            await usecases.councils.add_department(database.uow(), council.id, code=code,
                                                   name=f"{code} Bureau", actor=operator, now=now)
        for person, user in people.items():
            await usecases.councils.add_member(
                database.uow(), council.id, name=user.first_name,
                role=roles.get(person, Role.CIO), actor=operator, now=now, telegram_id=user.id,
                username=user.username, department=None if person in roles else person)
        async with database.uow() as uow:
            running = await uow.meetings.add(Meeting(
                council.id, MeetingKind.EXTRAORDINARY, now - timedelta(minutes=5), 120,
                title="Data governance"))
            await uow.meetings.add(Meeting(council.id, MeetingKind.EXTRAORDINARY,
                                           now + timedelta(days=60), 120))
            await uow.commit()
        return running.id
    finally:
        await database.dispose()



def crash_seed() -> int:
    given = os.environ.get(SEED_VARIABLE)
    return int(given) if given else random.SystemRandom().randrange(2**32)


async def test_sigkill_at_twenty_points_loses_and_doubles_nothing(
        crashing_sandbox: CrashingSandbox, migrated_url: str, tmp_path: Path) -> None:
    """Twenty SIGKILLs of `cio-council serve` during a meeting, each followed by a restart:
    every acknowledged item, note, decision, action, attendance and ballot is stored exactly
    once, every accepted update is applied once, and the results follow from the ballots."""
    sandbox = crashing_sandbox
    seed_value = crash_seed()
    rng = random.Random(seed_value)
    group, people = cast(sandbox)
    now = datetime.now(UTC)
    meeting_id = await seed(migrated_url, group, people, now)
    due = (now.astimezone(ZONE) + timedelta(days=60)).date().isoformat()
    steps = script(meeting_id, due)
    plan = kill_plan(rng, len(steps))
    print(f"{SEED_VARIABLE}={seed_value}; kills at steps "
          f"{', '.join(f'{i + 1}: {k}' for i, k in sorted(plan.items()))}")

    serve = ServeProcess({
        "COUNCIL_BOT_TOKEN": sandbox.token, "COUNCIL_BOT_API_URL": sandbox.base_url,
        "COUNCIL_DATABASE_URL": migrated_url, "COUNCIL_DATA_DIR": str(tmp_path / "data"),
        "COUNCIL_WEB_HOST": "127.0.0.1", "COUNCIL_WEB_PORT": "0"},
        cwd=tmp_path, log=tmp_path / "serve.log")
    council = Council(sandbox, group, people, serve, meeting_id)
    try:
        await serve.start()
        await council.ready()
        log = await play(council, steps, plan)
        await council.ready()
        assert await serve.stop() == 0, serve.log_tail()
    finally:
        await serve.cleanup()

    final_answers(council, log)
    records = read_records(migrated_url, council)
    database = Database(migrated_url)
    try:
        _, breaks = await usecases.councils.verify_audit(database.uow())
    finally:
        await database.dispose()
    unacknowledged = [d for d in log if d.answer is None]
    print(f"{len(log)} steps, {serve.starts} starts, {len(unacknowledged)} unacknowledged: "
          f"{[(d.step.person, d.sent_as, d.kill) for d in unacknowledged]}; restart (kill to "
          f"ready) median {statistics.median(council.restarts):.2f} s, max "
          f"{max(council.restarts):.2f} s; answer median "
          f"{statistics.median(council.latencies) * 1000:.0f} ms, max "
          f"{max(council.latencies) * 1000:.0f} ms")
    assert serve.starts == KILLS + 1
    problems = problems_with(log, records)
    assert not problems, "\n".join([f"{SEED_VARIABLE}={seed_value}", *problems])
    assert breaks == []
    # The script really ran: everything it did is there.
    assert records.meeting_state == "ended"
    assert len(records.ballots) == sum(isinstance(s.effect, Voted) for s in steps)


async def test_a_new_poller_first_takes_over_what_a_dead_one_stored(
        sandbox: SandboxServer, clock: FixedClock, migrated_db: Database) -> None:
    """Updates a killed poller stored and never handled are handled as the next one starts,
    before anything sent since, not a minute later by the sweep after newer updates (a vote
    pressed before the crash would then replace the newer vote its voter was told about)."""
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id])
    bot = sandbox.bot.username
    control.send_text(chair.id, group.id, f"/setup@{bot} Riverside Council")
    async with intake_of(sandbox, migrated_db, clock, handling=False) as intake:
        stop = asyncio.Event()
        polling = asyncio.create_task(intake.poll(stop, timeout=1))
        await control.wait_until(lambda: not control.pending_updates())  # stored, confirmed
        stop.set()
        await polling
    control.send_text(chair.id, group.id, f"/department@{bot} EPB Environmental Bureau")

    async with intake_of(sandbox, migrated_db, clock, handling=True) as intake:
        assert await intake.replay() == 0  # none is stale yet: the sweep leaves them for now
        # The bot joining the group, the group's creation message, and the /setup.
        assert await intake.take_over() == 3
        stop = asyncio.Event()
        polling = asyncio.create_task(intake.poll(stop, timeout=1))
        await control.wait_until(lambda: len(control.bot_messages(group.id)) == 3)
        stop.set()
        await polling
    assert [(m.text or "").split(".")[0] for m in control.bot_messages(group.id)] == [
        "Hello! A group admin can make this group a council with /setup <council name>",
        "This group is now the council Riverside Council",
        "Department EPB added: Environmental Bureau"]


@asynccontextmanager
async def intake_of(sandbox: SandboxServer, database: Database, clock: FixedClock, *,
                    handling: bool) -> AsyncIterator[UpdateIntake]:
    """One bot's durable intake; without ``handling`` it stores updates and dies before
    handling them."""
    application = build_application(sandbox.token, BotEnv(database, clock, Defaults()),
                                    base_url=sandbox.base_url, durable_intake=True,
                                    rate_limit=False)
    intake = UpdateIntake(database, application, clock)
    intake.register()
    async with application:
        if handling:
            await application.start()
        try:
            yield intake
        finally:
            if handling:
                await application.stop()
