"""People and groups: commands as clients mark them, privacy mode, membership, migration."""

from __future__ import annotations

import pytest
import telegram
from telegram.error import BadRequest, Forbidden

from bot.sandbox import BotSpec, Chat, Control, ManualClock, SandboxServer, User
from tests.present import present


@pytest.fixture
def alice(control: Control) -> User:
    return control.create_user("Alice", username="alice")


@pytest.fixture
def council(control: Control, alice: User) -> Chat:
    """A basic group Alice created with the bot (privacy on, not admin) in it."""
    return control.create_group("CIO Council", creator=alice.id)


def _texts(updates: tuple[telegram.Update, ...]) -> list[str | None]:
    return [u.message.text for u in updates if u.message is not None]


async def _fresh(bot: telegram.Bot) -> None:
    """Confirm everything so far, so the next getUpdates shows only what follows."""
    updates = await bot.get_updates()
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1)


@pytest.mark.parametrize("prefix", ["😀👍🏽 ", "مرحبا بكم ", "第三次会议 "])
async def test_command_entities_count_utf16_units_after_emoji_and_rtl(
        bot: telegram.Bot, control: Control, alice: User, prefix: str) -> None:
    """The bot_command entity's offset and length are UTF-16 units; PTB slices it exactly."""
    control.start_bot(alice.id)
    text = f"{prefix}/vote@council_bot M12 赞成"
    control.send_text(alice.id, alice.id, text)
    message = present((await bot.get_updates())[-1].message)
    [entity] = message.entities
    assert entity.offset == len(prefix.encode("utf-16-le")) // 2
    assert entity.length == len("/vote@council_bot")
    assert message.parse_entity(entity) == "/vote@council_bot"


async def test_a_leading_command_with_arguments(
        bot: telegram.Bot, control: Control, alice: User, council: Chat) -> None:
    """`/cmd@bot args` at the start is one bot_command entity at offset 0, args excluded."""
    control.send_text(alice.id, council.id, "/vote@council_bot M12 yes @bob_cio")
    message = present((await bot.get_updates())[-1].message)
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bot_command", 0, 17), ("mention", 26, 8)]


async def test_privacy_mode_lets_through_commands_replies_and_service_messages(
        bot: telegram.Bot, control: Control, alice: User, council: Chat) -> None:
    """In a group a privacy-mode bot misses chatter and other bots' commands."""
    posted = await bot.send_message(council.id, "Which department?")
    await _fresh(bot)
    control.send_text(alice.id, council.id, "just chatting")
    control.send_text(alice.id, council.id, "/agenda")
    control.send_text(alice.id, council.id, "/agenda@council_bot")
    control.send_text(alice.id, council.id, "/agenda@other_bot")
    control.send_text(alice.id, council.id, "EPB", reply_to=posted.message_id)
    bob = control.create_user("Bob")
    control.add_member(council.id, bob.id)
    updates = await bot.get_updates()
    assert _texts(updates) == ["/agenda", "/agenda@council_bot", "EPB", None]
    assert present(updates[-1].message).new_chat_members[0].id == bob.id


async def test_privacy_off_or_admin_rights_let_the_bot_read_everything(
        bot: telegram.Bot, control: Control, alice: User, council: Chat) -> None:
    """Turning privacy off, or making the bot an admin, delivers plain messages too."""
    await _fresh(bot)
    control.set_privacy(False)
    control.send_text(alice.id, council.id, "one")
    control.set_privacy(True)
    control.promote(council.id, (await bot.get_me()).id)
    control.send_text(alice.id, council.id, "two")
    assert _texts(await bot.get_updates()) == ["one", "two"]
    assert (await bot.get_me()).can_read_all_group_messages is False


async def test_group_membership_tells_the_bot_about_itself(
        bot: telegram.Bot, control: Control, alice: User, council: Chat) -> None:
    """Creation: my_chat_member then group_chat_created; removal: my_chat_member, left notice."""
    created = await bot.get_updates()
    assert present(created[0].my_chat_member).new_chat_member.status == "member"
    assert present(created[0].my_chat_member).from_user.id == alice.id
    assert present(created[1].message).group_chat_created
    await _fresh(bot)
    me = await bot.get_me()
    control.remove_member(council.id, me.id)
    removed = await bot.get_updates()
    assert present(removed[0].my_chat_member).new_chat_member.status == "left"
    assert present(present(removed[1].message).left_chat_member).id == me.id
    with pytest.raises(Forbidden, match="bot is not a member of the group chat"):
        await bot.send_message(council.id, "still here?")
    control.add_member(council.id, me.id)
    assert (await bot.send_message(council.id, "back")).chat.id == council.id


async def test_leaving_a_chat(bot: telegram.Bot, control: Control, council: Chat) -> None:
    """leaveChat removes the bot, which hears of it and can no longer write there."""
    await _fresh(bot)
    assert await bot.leave_chat(council.id)
    [update] = await bot.get_updates(allowed_updates=["my_chat_member"])
    assert present(update.my_chat_member).new_chat_member.status == "left"
    assert control.transcript(council.id)[-1].content["left_chat_member"]["is_bot"] is True
    with pytest.raises(Forbidden):
        await bot.send_message(council.id, "hello?")


async def test_migration_to_a_supergroup(
        bot: telegram.Bot, control: Control, alice: User, council: Chat) -> None:
    """Both service messages arrive; the old id is refused and the new one works."""
    await _fresh(bot)
    supergroup = control.migrate(council.id)
    assert str(supergroup.id).startswith("-100")
    updates = await bot.get_updates()
    assert present(updates[0].message).migrate_to_chat_id == supergroup.id
    assert present(updates[0].message).chat.id == council.id
    assert present(updates[1].my_chat_member).chat.id == supergroup.id
    assert present(updates[2].message).migrate_from_chat_id == council.id
    assert present(present(updates[2].message).sender_chat).id == supergroup.id
    with pytest.raises(telegram.error.ChatMigrated):
        await bot.get_chat(council.id)
    assert (await bot.get_chat(supergroup.id)).type == "supergroup"
    assert (await bot.get_chat_member(supergroup.id, alice.id)).status == "creator"


async def test_chat_information(
        bot: telegram.Bot, control: Control, alice: User, council: Chat) -> None:
    """getChat, getChatMember, getChatAdministrators and getChatMemberCount agree."""
    bob = control.create_user("Bob")
    carol = control.create_user("Carol")
    control.add_member(council.id, bob.id)
    control.promote(council.id, bob.id)
    control.add_member(council.id, carol.id)
    control.remove_member(council.id, carol.id, by=carol.id)
    info = await bot.get_chat(council.id)
    assert (info.id, info.type, info.title) == (council.id, "group", "CIO Council")
    admins = await bot.get_chat_administrators(council.id)
    assert [(a.user.id, a.status) for a in admins] == [
        (alice.id, "creator"), (bob.id, "administrator")]
    assert (await bot.get_chat_member(council.id, carol.id)).status == "left"
    assert await bot.get_chat_member_count(council.id) == 3  # Alice, Bob and the bot
    with pytest.raises(BadRequest, match=r"(?i)user not found"):
        await bot.get_chat_member(council.id, 42)


async def test_pinning_needs_admin_rights_in_groups(
        bot: telegram.Bot, control: Control, council: Chat) -> None:
    """A plain member bot may not pin; an admin bot may, and getChat shows the pin."""
    notice = await bot.send_message(council.id, "Meeting on Thursday")
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.pin_chat_message(council.id, notice.message_id)
    control.promote(council.id, (await bot.get_me()).id)
    assert await bot.pin_chat_message(council.id, notice.message_id)
    assert present((await bot.get_chat(council.id)).pinned_message).text == "Meeting on Thursday"
    assert control.transcript(council.id)[-1].content["pinned_message"]["message_id"] == (
        notice.message_id)
    assert await bot.unpin_chat_message(council.id)
    assert (await bot.get_chat(council.id)).pinned_message is None


async def test_edits_and_blocks_reach_the_bot(
        bot: telegram.Bot, control: Control, alice: User) -> None:
    """A person's edit is an edited_message; blocking and unblocking are my_chat_member."""
    control.start_bot(alice.id)
    said = control.send_text(alice.id, alice.id, "/minutes 3")
    control.edit_text(alice.id, alice.id, said.message_id, "/minutes 4")
    control.block_bot(alice.id)
    control.start_bot(alice.id)
    updates = await bot.get_updates()
    edited = present(updates[2].edited_message)
    assert (edited.message_id, edited.text) == (said.message_id, "/minutes 4")
    assert edited.edit_date is not None
    assert [present(u.my_chat_member).new_chat_member.status for u in updates[3:5]] == [
        "kicked", "member"]
    assert present(updates[5].message).text == "/start"


async def test_transcript_keeps_everyone_in_order(
        bot: telegram.Bot, control: Control, alice: User, clock: ManualClock) -> None:
    """People's and the bot's messages, in order, with keyboards and deletions."""
    control.start_bot(alice.id)
    keyboard = telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton("Yes", callback_data="v:M1:y")]])
    clock.advance(5)
    vote = await bot.send_message(alice.id, "Approve M1?", reply_markup=keyboard)
    await bot.delete_message(alice.id, (await bot.send_message(alice.id, "typo")).message_id)
    transcript = control.transcript(alice.id)
    assert [(m.sender.first_name, m.text, m.deleted) for m in transcript] == [
        ("Alice", "/start", False), ("CIO Council", "Approve M1?", False),
        ("CIO Council", "typo", True)]
    assert transcript[1].buttons() == [{"text": "Yes", "callback_data": "v:M1:y"}]
    assert transcript[1].date == transcript[0].date + 5 == int(vote.date.timestamp())
    assert [m.text for m in control.bot_messages(alice.id)] == ["Approve M1?"]


async def test_two_bots_keep_separate_private_chats() -> None:
    """With several bots, each has its own private chat with a person and its own queue."""
    second = BotSpec(token="7000000002:SECOND", username="minutes_bot", first_name="Minutes")
    async with SandboxServer(bots=[BotSpec(), second]) as sandbox:
        control = sandbox.control
        alice = control.create_user("Alice")
        control.start_bot(alice.id, bot="minutes_bot")
        control.send_text(alice.id, alice.id, "hello minutes", bot="@minutes_bot")
        group = control.create_group("Both", creator=alice.id, bots=["council_bot", "minutes_bot"])
        control.send_text(alice.id, group.id, "/agenda@minutes_bot")
        async with telegram.Bot(second.token, base_url=sandbox.base_url) as minutes:
            texts = [u.message.text for u in await minutes.get_updates() if u.message]
        assert texts == ["/start", "hello minutes", None, "/agenda@minutes_bot"]
        assert [m.text for m in control.transcript(alice.id)] == []
        assert [u.get("message", {}).get("text") for u in control.pending_updates()] == [
            None, None]  # council_bot: its my_chat_member and the creation notice only
