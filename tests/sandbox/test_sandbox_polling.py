"""getUpdates: real long polling, offsets, limits, allowed_updates and competing pollers."""

from __future__ import annotations

import asyncio

import pytest
import telegram
from telegram.error import Conflict

from bot.sandbox import Control, SandboxServer
from tests.present import present


async def test_long_poll_returns_as_soon_as_an_update_arrives(
        sandbox: SandboxServer, bot: telegram.Bot, control: Control) -> None:
    """A poll waiting up to 30 s answers with the update the moment a person writes."""
    alice = control.create_user("Alice")
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await control.wait_until(lambda: sandbox.bot.poll_generation == 1)
    control.start_bot(alice.id)
    updates = await asyncio.wait_for(poll, timeout=5)
    assert [present(u.message).text for u in updates] == ["/start"]


async def test_an_empty_short_poll_answers_an_empty_list(bot: telegram.Bot) -> None:
    """timeout=0 returns at once."""
    assert await bot.get_updates(timeout=0) == ()


async def test_offset_confirms_and_drops_earlier_updates(
        bot: telegram.Bot, control: Control) -> None:
    """Updates stay until a later offset confirms them; ids increase by one."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    for text in ("one", "two", "three"):
        control.send_text(alice.id, alice.id, text)
    first = await bot.get_updates()
    again = await bot.get_updates()
    ids = [u.update_id for u in first]
    assert ids == [u.update_id for u in again] == list(range(ids[0], ids[0] + 4))
    rest = await bot.get_updates(offset=ids[2])
    assert [present(u.message).text for u in rest] == ["two", "three"]
    assert await bot.get_updates(offset=ids[-1] + 1) == ()


async def test_negative_offset_and_limit(bot: telegram.Bot, control: Control) -> None:
    """offset=-1 keeps only the newest update; limit caps how many come back."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    for n in range(4):
        control.send_text(alice.id, alice.id, f"message {n}")
    assert [present(u.message).text for u in await bot.get_updates(limit=2)] == [
        "/start", "message 0"]
    assert [present(u.message).text for u in await bot.get_updates(offset=-1)] == ["message 3"]
    assert [present(u.message).text for u in await bot.get_updates()] == ["message 3"]


async def test_allowed_updates_selects_kinds_and_chat_member_is_opt_in(
        bot: telegram.Bot, control: Control) -> None:
    """By default chat_member is left out; an admin bot that asks for it gets it."""
    alice = control.create_user("Alice")
    bob = control.create_user("Bob")
    group = control.create_group("Council", creator=alice.id, bot_admin=True)
    control.add_member(group.id, bob.id)
    assert _kinds(control) == ["my_chat_member", "message", "message"]
    last = (await bot.get_updates())[-1].update_id
    await bot.get_updates(offset=last + 1, allowed_updates=["chat_member", "message"])
    control.remove_member(group.id, bob.id)
    assert _kinds(control) == ["chat_member", "message"]


def _kinds(control: Control) -> list[str]:
    return [next(key for key in u if key != "update_id") for u in control.pending_updates()]


async def test_a_newer_poll_ends_an_older_one_with_conflict(
        sandbox: SandboxServer, bot: telegram.Bot) -> None:
    """Two pollers for one bot: the earlier gets 409, as with two running instances."""
    older = asyncio.create_task(bot.get_updates(timeout=30))
    await sandbox.control.wait_until(lambda: sandbox.bot.poll_generation == 1)
    async with telegram.Bot(sandbox.token, base_url=sandbox.base_url) as second_instance:
        assert await second_instance.get_updates(timeout=0) == ()
    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(older, timeout=5)


async def test_update_ids_can_restart_like_telegram_after_idling(
        bot: telegram.Bot, control: Control) -> None:
    """The next update id is settable, to test dedupe that must not rely on a high-water mark."""
    alice = control.create_user("Alice")
    control.set_next_update_id(5)
    control.start_bot(alice.id)
    assert [u.update_id for u in await bot.get_updates()] == [5]


async def test_stopping_the_server_answers_waiting_polls(
        sandbox: SandboxServer, bot: telegram.Bot) -> None:
    """Shutting down does not wait out a long poll's timeout."""
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await sandbox.control.wait_until(lambda: sandbox.bot.poll_generation == 1)
    await sandbox.stop()
    assert await asyncio.wait_for(poll, timeout=5) == ()
