"""The secret-ballot cast and count on in-memory fakes (issue 12): a has-voted row and a ballot
box of counts, nothing linking them; the raw update scrubbed in the same unit of work, refused
or not; final votes; a result and digest recounted from the box."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import translate
from bot.telegram.voting import cast_text
from meetings import usecases
from meetings.domain import votes
from meetings.domain.errors import AlreadyVoted, InvalidInput, NotEligible, VotingClosed
from meetings.domain.model import (
    Choice,
    Council,
    MajorityBase,
    MajorityRule,
    Meeting,
    Member,
    Motion,
    MotionKind,
)
from tests.unit.conftest import SET_UP_AT
from tests.unit.fakes import FakeUnitOfWork

CLI = usecases.common.Operator()
START = datetime(2026, 12, 10, 6, 20, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


@pytest.fixture
async def present(uow: FakeUnitOfWork, council: Council, people: dict[str, Member]) -> Meeting:
    """Today's meeting, running, with the CIOs of EPB and MSB there in person."""
    await usecases.schedule.schedule_meeting(uow, council.id, local_start="2026-12-10 14:30",
                                             actor=CLI, now=SET_UP_AT)
    call = await usecases.meeting.start_meeting(uow, council.id, actor=people["secretary"],
                                                now=START)
    for code in ("EPB", "MSB"):
        await usecases.meeting.mark_here(uow, council.id, actor=people[code], now=START)
    return call.meeting


async def secret_motion(uow: FakeUnitOfWork, council: Council,
                        people: dict[str, Member]) -> Motion:
    opened = await usecases.voting.open_motion(uow, council.id, kind=MotionKind.SECRET,
                                               text="Name EPB the lead", actor=people["chair"],
                                               now=at(1))
    return opened.count.motion


async def cast(uow: FakeUnitOfWork, council: Council, people: dict[str, Member], motion: Motion,
               code: str, choice: Choice, *, update_id: int, in_group: bool = False
               ) -> usecases.voting.Cast:
    return await usecases.voting.cast_vote(uow, council.id, motion.id, choice=choice,
                                           actor=people[code], now=at(2), in_group=in_group,
                                           update_id=update_id)


async def test_a_secret_vote_is_a_has_voted_row_and_a_count_in_the_box(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        present: Meeting) -> None:
    """A cast stores who voted and adds one to its choice's count, no ballot naming either; the
    update it came in is scrubbed and the audit entry says only that it was cast, all in the
    one commit of the cast."""
    motion = await secret_motion(uow, council, people)
    commits = uow.commits
    done = await cast(uow, council, people, motion, "EPB", Choice.NO, update_id=501)
    assert uow.commits == commits + 1
    epb = people["EPB"]
    assert [(v.motion_id, v.department_id, v.member_id) for v in uow.rows("secret_votes")] == [
        (motion.id, epb.department_id, epb.id)]
    assert uow.rows("ballot_box") == [{Choice.YES: 0, Choice.NO: 1, Choice.ABSTAIN: 0}]
    assert uow.rows("ballots") == []
    assert uow.rows("scrubbed") == [501]
    (entry,) = [e for e in uow.rows("audit") if e.action == "vote.cast"]
    assert json.loads(entry.payload) == {"motion": motion.id, "secret": True}
    assert done.replaced is None
    assert done.overtaken_by is None


async def test_a_secret_vote_is_final_and_a_refused_press_is_scrubbed_too(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        present: Meeting) -> None:
    """A second vote by the same department is refused and leaves the box as it was; the
    refused press (which named a choice as well) is scrubbed, in the group or in private."""
    motion = await secret_motion(uow, council, people)
    await cast(uow, council, people, motion, "EPB", Choice.YES, update_id=601)
    with pytest.raises(AlreadyVoted, match="final"):
        await cast(uow, council, people, motion, "EPB", Choice.NO, update_id=602)
    with pytest.raises(InvalidInput, match="private chat"):
        await cast(uow, council, people, motion, "MSB", Choice.NO, update_id=603, in_group=True)
    assert uow.rows("ballot_box") == [{Choice.YES: 1, Choice.NO: 0, Choice.ABSTAIN: 0}]
    assert len(uow.rows("secret_votes")) == 1
    assert sorted(uow.rows("scrubbed")) == [601, 602, 603]
    assert len([e for e in uow.rows("audit") if e.action == "vote.cast"]) == 1


async def test_a_secret_vote_checks_eligibility_and_the_motion(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        present: Meeting) -> None:
    """Only a CIO present in person votes, and not after the close."""
    motion = await secret_motion(uow, council, people)
    await usecases.meeting.record_excused(uow, council.id, code="MSB", reason="away",
                                          actor=people["secretary"], now=at(1))
    with pytest.raises(NotEligible):
        await cast(uow, council, people, motion, "MSB", Choice.YES, update_id=701)
    await usecases.voting.close_motion(uow, council.id, motion.id, actor=people["chair"],
                                       now=at(3))
    with pytest.raises(VotingClosed):
        await cast(uow, council, people, motion, "EPB", Choice.YES, update_id=702)
    assert uow.rows("secret_votes") == []


async def test_the_result_and_its_digest_are_a_recount_of_the_box(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member],
        present: Meeting) -> None:
    """Closing declares the box's counts and its digest; the declared result read back later
    is the same recount."""
    motion = await secret_motion(uow, council, people)
    await cast(uow, council, people, motion, "EPB", Choice.YES, update_id=801)
    await cast(uow, council, people, motion, "MSB", Choice.ABSTAIN, update_id=802)
    result = await usecases.voting.close_motion(uow, council.id, motion.id,
                                                actor=people["chair"], now=at(3))
    box = votes.SecretBox(motion.id, frozenset({people["EPB"].department_id or 0,
                                                people["MSB"].department_id or 0}),
                          {Choice.YES: 1, Choice.NO: 0, Choice.ABSTAIN: 1})
    assert (result.outcome.yes, result.outcome.no, result.outcome.abstain) == (1, 0, 1)
    assert result.outcome.digest == votes.box_digest(box)
    assert result.count.motion.digest == votes.box_digest(box)
    assert result.count.cast == 2
    assert result.count.voters(Choice.YES) == []  # nothing knows who
    async with uow:
        again = await usecases.voting.declared_result(uow, motion.id)
    assert again is not None
    assert again.outcome == result.outcome


def test_the_digest_of_a_secret_ballot_cannot_be_matched_to_who_chose_what() -> None:
    """Every way of handing the same counts to the same departments gives one digest: trying
    each combination of choices against a posted digest tells nothing more than the tally."""
    departments = [3, 5, 8]
    digests = set()
    for choices in itertools.permutations([Choice.YES, Choice.YES, Choice.NO]):
        counts = {c: choices.count(c) for c in Choice}
        digests.add(votes.box_digest(votes.SecretBox(1, frozenset(departments), counts)))
    assert len(digests) == 1
    other = votes.box_digest(votes.SecretBox(1, frozenset(departments),
                                             {Choice.YES: 1, Choice.NO: 2, Choice.ABSTAIN: 0}))
    assert other not in digests  # a different tally is a different digest


def test_a_box_that_disagrees_with_who_voted_is_not_counted() -> None:
    """A box holding more ballots than departments voted raises instead of declaring."""
    box = votes.SecretBox(1, frozenset({3}), {Choice.YES: 2, Choice.NO: 0, Choice.ABSTAIN: 0})
    with pytest.raises(ValueError, match="2 ballots in the box, 1 departments voted"):
        votes.tally_box(box, votes.Basis(MajorityRule.SIMPLE, MajorityBase.CAST, 2, 2), eligible=2)


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_the_answer_to_a_secret_vote_names_no_choice(
        uow: FakeUnitOfWork, council: Council, people: dict[str, Member], present: Meeting,
        language: str) -> None:
    """The voter is told their vote is in the box and final, in their council's language,
    without the choice (it would pass through the Bot API call and its log line)."""
    motion = await secret_motion(uow, council, people)
    done = await cast(uow, council, people, motion, "EPB", Choice.ABSTAIN, update_id=901)
    text = cast_text(language, done)
    assert text == translate(language, "🗳 Your secret vote on M{id} is in the ballot box. "
                                       "Secret votes are final.", id=motion.id)
    assert not any(word in text.lower() for word in ("abstain", "弃权", "yes", "no ", "赞成"))
    assert ("最终" in text or "不能更改" in text) if language == "zh" else "final" in text
