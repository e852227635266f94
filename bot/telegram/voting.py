"""Chat commands of votes: /motion, /secret, /circular, /vote and /close.

The buttons (a press is a vote) are handled in `bot.telegram.app` with the other callbacks; both
paths cast through `meetings.conduct.cast_vote`.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import Message

from bot.i18n import N_, translate
from bot.reminders import Outcome, Reminders, worker_id
from bot.telegram.context import ChatRequest, Reply
from bot.telegram.handlers import member_of, parse_id
from bot.telegram.render import CHOICES, motion_message, result_text
from meetings import usecases
from meetings.domain.errors import InvalidInput, Word
from meetings.domain.model import Choice, MotionKind
from meetings.domain.permissions import Act, require
from meetings.domain.votes import parse_choice
from meetings.usecases.voting import Opened, ballot_prefix
from storage import retrying

log = logging.getLogger(__name__)

# The papers of a secret ballot go at once where Telegram's limits allow; one that would have to
# wait (its CIO got a message this very second) is left to the background worker. One at a
# time: a crash then leaves at most one paper in flight whose fate is unknown.
BALLOT_HOLD = timedelta(0)
BALLOT_SENDERS = 1


async def motion(req: ChatRequest) -> Reply:
    """/motion <text>: a named vote in the meeting, with buttons in the group."""
    return await _open(req, MotionKind.NAMED, req.arguments, N_("/motion <text>"))


async def secret(req: ChatRequest) -> Reply:
    """/secret <text>: a secret ballot; each CIO gets the buttons in a private chat."""
    return await _open(req, MotionKind.SECRET, req.arguments, N_("/secret <text>"))


async def circular(req: ChatRequest) -> Reply:
    """/circular <YYYY-MM-DD HH:MM> <text>: a vote between meetings, closing at the deadline."""
    usage = N_("/circular <YYYY-MM-DD HH:MM> <text>")
    day, clock, text = req.args(3, usage=usage)
    return await _open(req, MotionKind.CIRCULAR, text, usage, closes=f"{day} {clock}")


async def _open(req: ChatRequest, kind: MotionKind, text: str, usage: str, *,
                closes: str | None = None) -> Reply:
    if not text.strip():
        raise InvalidInput("usage: {usage}", usage=Word(usage))
    opened = await usecases.voting.open_motion(
        req.uow(),
        req.council.id,
        kind=kind,
        text=text,
        actor=member_of(req),
        now=req.now,
        closes_local=closes,
    )
    motion = opened.count.motion

    async def sent(message: Message) -> None:
        await usecases.voting.attach_message(
            req.env.database.uow(),
            motion.id,
            chat_id=message.chat_id,
            message_id=message.message_id,
        )
        if kind is MotionKind.SECRET:
            await _send_ballots(req, opened, message)

    text, keyboard = motion_message(req.language, req.council.timezone, opened.count)
    return Reply(text, keyboard, sent)


async def _send_ballots(req: ChatRequest, opened: Opened, group_message: Message) -> None:
    """Each CIO's paper was queued with the motion (`usecases.voting.open_motion`); they go out
    now, at the pace Telegram allows, through the outbox worker's sending (a crash before or
    during this leaves them to the background worker, which sends each once). The group hears
    who could not be reached (they never started a chat with the bot) and how they can still
    vote."""
    motion = opened.count.motion
    codes = {d.id: d.code for d in opened.count.departments}
    sender = Reminders(req.env.database, req.update.get_bot(), req.env.clock,
                       worker=worker_id(), hold=BALLOT_HOLD, senders=BALLOT_SENDERS)
    delivered = await sender.deliver(req.env.clock.now(), prefix=ballot_prefix(motion.id),
                                     limit=max(len(opened.voters), 1))
    refused = {d.chat_id for d, outcome in delivered if outcome is Outcome.GIVEN_UP}
    unreachable = [codes.get(voter.department_id or 0, voter.name) for voter in opened.voters
                   if voter.telegram_id is None or voter.telegram_id in refused]
    if unreachable:
        log.info("secret ballot M%s not delivered to %d voters", motion.id, len(unreachable))
        await group_message.reply_text(
            req.t(
                "I could not reach {codes} privately: open a private chat with me and send "
                "/vote M{id} yes|no|abstain there.",
                codes=", ".join(sorted(unreachable)),
                id=motion.id,
            ),
            do_quote=False,
        )


async def vote(req: ChatRequest) -> str:
    """/vote [motion] yes|no|abstain: votes without the buttons."""
    usage = N_("/vote <motion> yes|no|abstain")
    parts = req.args(2, usage=usage, at_least=1)
    motion_id = parse_id(parts[0], usage, letter="M") if len(parts) == 2 else None
    return cast_text(req.language, await cast(req, motion_id, parse_choice(parts[-1])))


async def cast(req: ChatRequest, motion_id: int | None, choice: Choice) -> usecases.voting.Cast:
    """Casts the sender's vote (by /vote or a button), once per update and again when it lost a
    race, and has the motion's live count brought up to date."""
    done = await retrying(
        req.uow,
        lambda uow: usecases.voting.cast_vote(
            uow,
            req.council.id,
            motion_id,
            choice=choice,
            actor=require(req.member, Act.VOTE),
            now=req.now,
            in_group=not req.in_private,
            update_id=req.update.update_id,
        ),
    )
    # Scheduling the edit takes no time; doing it before the answer means that once a voter is
    # answered, `LiveCounts.settle()` covers their vote.
    req.counts.touch(done.motion.id)
    return done


def cast_text(language: str, cast: usecases.voting.Cast) -> str:
    """What the voter is told: their vote, and what it replaced. A secret vote's answer does
    not repeat the choice (the voter just pressed it), so no copy of it passes through the
    Bot API call or a log line of it."""
    if cast.motion.kind is MotionKind.SECRET:
        return translate(language, "🗳 Your secret vote on M{id} is in the ballot box. Secret "
                                   "votes are final.", id=cast.ballot.motion_id)
    choice = translate(language, CHOICES[cast.ballot.choice])
    if cast.overtaken_by is not None:
        return translate(
            language,
            "Your vote {choice} on M{id} was sent before your latest one, which stands: {latest}.",
            id=cast.ballot.motion_id,
            choice=choice,
            latest=translate(language, CHOICES[cast.overtaken_by]),
        )
    if cast.replaced is not None and cast.replaced is not cast.ballot.choice:
        return translate(
            language,
            "Your vote on M{id} is now {choice} (it was {earlier}).",
            id=cast.ballot.motion_id,
            choice=choice,
            earlier=translate(language, CHOICES[cast.replaced]),
        )
    return translate(
        language, "Your vote on M{id}: {choice}.", id=cast.ballot.motion_id, choice=choice
    )


async def close(req: ChatRequest) -> str:
    """/close [motion]: the chair closes a vote; the result goes in the group."""
    usage = N_("/close [motion]")
    given = req.args(1, usage=usage, at_least=0)
    result = await usecases.voting.close_motion(
        req.uow(),
        req.council.id,
        parse_id(given[0], usage, letter="M") if given else None,
        actor=member_of(req),
        now=req.now,
    )
    # The vote's own message loses its buttons and shows the result too.
    req.counts.touch(result.count.motion.id)
    return result_text(req.language, result.count)
