"""The council lives in its group chat: set-up, membership, roles, scheduling, languages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from meetings.domain.model import Role
from tests.e2e.harness import CouncilChat, council_chat


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=3) as council:
        yield council


async def test_a_council_is_set_up_and_scheduled_in_chat(chat: CouncilChat) -> None:
    """Set-up, departments, approved CIOs and a bimonthly series; /next shows local time."""
    await chat.founded()
    roster = await chat.command(chat.cios["EPB"], "/members")
    assert "CIO EPB @cio_epb: CIO — EPB EPB Bureau" in roster
    assert "Chen Jing @chen_jing: secretary" in roster
    assert "Departments without a CIO: HLTH, PSB, FIN, HRSS, TRN, CIV" in roster

    series = await chat.command(chat.secretary, "/cadence bimonthly 2TH 14:30 120")
    assert "meetings in the next twelve months: 6." in series
    assert "Thu 14 Jan 2027, 14:30" in series

    upcoming = await chat.command(chat.cios["MSB"], "/next")
    assert "Next meeting: S" in upcoming
    assert "Thu 14 Jan 2027, 14:30" in upcoming
    assert "Proposals close Mon 11 Jan 2027, 14:30." in upcoming


async def test_only_a_group_admin_sets_up_and_only_once(chat: CouncilChat) -> None:
    """A member who is not a group admin cannot bind the group; a second /setup is refused."""
    refused = await chat.command(chat.secretary, "/setup Shadow Council")
    assert refused == "Only an administrator of this group may set it up as a council."
    await chat.command(chat.chair, "/setup Riverside District CIO Council")
    again = await chat.command(chat.chair, "/setup Another")
    assert again == "This chat is already the council Riverside District CIO Council."


async def test_only_the_chair_decides_join_requests(chat: CouncilChat) -> None:
    """A CIO pressing Approve on someone's request is told no; the chair's press counts once."""
    await chat.command(chat.chair, "/setup Riverside District CIO Council")
    await chat.command(chat.chair, "/department EPB Environmental Protection Bureau")
    request = await chat.say(chat.cios["EPB"], f"/join@{chat.bot_name} EPB")
    before = request.text
    assert "CIO EPB asks to be the CIO of EPB" in (request.text or "")
    assert await chat.press(chat.stranger, request, "Approve") == (
        "Only council members may do this.")
    assert await chat.press(chat.chair, request, "Approve") == ""
    await chat.sandbox.control.wait_until(lambda: request.text != before)
    assert request.text == (
        "CIO EPB is now the CIO of their department.\n"
        f"CIO EPB: please open https://t.me/{chat.bot_name}?start=c1 and press Start, so that "
        "I can send you secret ballots, reminders and calendar links privately.")
    taken = await chat.say(chat.cios["MSB"], f"/join@{chat.bot_name} EPB")
    assert taken.text == "EPB already has a CIO: CIO EPB."
    await chat.command(chat.chair, "/department MSB Market Supervision Bureau")
    second = await chat.say(chat.cios["MSB"], f"/join@{chat.bot_name} MSB")
    assert await chat.press(chat.cios["EPB"], second, "Approve") == "Only the chair may do this."
    asked = second.text
    assert await chat.press(chat.chair, second, "Deny") == ""
    await chat.sandbox.control.wait_until(lambda: second.text != asked)
    assert second.text == "The request of CIO MSB was declined."


async def test_edited_commands_do_nothing(chat: CouncilChat) -> None:
    """Editing a command message does not run it again."""
    await chat.command(chat.chair, "/setup Riverside District CIO Council")
    sent = chat.sandbox.control.send_text(chat.chair.id, chat.group.id,
                                          f"/department@{chat.bot_name} EPB Environment")
    await chat.sandbox.control.next_bot_message(chat.group.id, after=sent)
    chat.sandbox.control.edit_text(chat.chair.id, chat.group.id, sent.message_id,
                                   f"/department@{chat.bot_name} MSB Market")
    await chat.settle()
    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        codes = [d.code for d in await uow.departments.list(council.id)]
    assert codes == ["EPB"]


async def test_help_lists_what_the_sender_may_use(chat: CouncilChat) -> None:
    """/help shows a CIO no chair commands, and the chair all of them."""
    await chat.founded()
    for_cio = await chat.command(chat.cios["EPB"], "/help")
    for_chair = await chat.command(chat.chair, "/help")
    assert all(f"/{name} " in for_cio for name in ["next", "propose", "agenda"])
    assert all(f"/{name} " not in for_cio for name in ["cadence", "role", "accept", "major"])
    assert all(f"/{name} " in for_chair for name in ["cadence", "role", "lang", "department",
                                                      "agenda", "accept", "defer", "reject",
                                                      "major"])
    assert "/propose " not in for_chair


async def test_the_council_speaks_chinese(chat: CouncilChat) -> None:
    """After /lang zh, replies and errors come in Chinese."""
    await chat.founded()
    assert await chat.command(chat.chair, "/lang zh") == "语言已设置为中文。"
    refused = await chat.command(chat.cios["EPB"], "/cadence bimonthly 2TH 14:30")
    assert refused == "只有主任或秘书处可以执行此操作。"


async def test_the_council_follows_a_supergroup_migration(chat: CouncilChat) -> None:
    """When the group becomes a supergroup, the council answers in the new chat."""
    await chat.founded()
    supergroup = chat.sandbox.control.migrate(chat.group.id, by=chat.chair.id)
    reply = await chat.command(chat.chair, "/members", chat_id=supergroup.id)
    assert "Members of Riverside District CIO Council" in reply


async def test_roles_by_reply(chat: CouncilChat) -> None:
    """The chair can set a role by replying to someone's message, even a newcomer's."""
    await chat.command(chat.chair, "/setup Riverside District CIO Council")
    said = chat.sandbox.control.send_text(chat.stranger.id, chat.group.id, "hello all")
    reply = chat.sandbox.control.send_text(chat.chair.id, chat.group.id,
                                           f"/role@{chat.bot_name} observer",
                                           reply_to=said.message_id)
    answer = await chat.sandbox.control.next_bot_message(chat.group.id, after=reply)
    assert (answer.text or "").startswith("Passer By is now an observer.\nPasser By: please open")
    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        member = await uow.members.by_telegram(council.id, chat.stranger.id)
    assert member is not None
    assert member.role is Role.OBSERVER


async def test_the_bot_notices_being_removed_and_added_back(chat: CouncilChat) -> None:
    """Removed from the group, the council goes quiet (inactive); added back, it is active."""
    await chat.command(chat.chair, "/setup Riverside District CIO Council")
    control, bot_user = chat.sandbox.control, chat.sandbox.bot.user

    async def active() -> bool:
        async with chat.database.uow() as uow:
            council = await uow.councils.by_chat(chat.group.id)
        assert council is not None
        return council.active

    control.remove_member(chat.group.id, bot_user.id, by=chat.chair.id)
    await control.wait_until(lambda: not control.pending_updates())
    await chat.application.update_queue.join()
    assert await active() is False
    control.add_member(chat.group.id, bot_user.id, by=chat.chair.id)
    await chat.settle()
    assert await active() is True


async def test_unknown_commands_point_to_help(chat: CouncilChat) -> None:
    """A command the bot lacks, addressed to it, gets a pointer to /help."""
    reply = await chat.command(chat.cios["EPB"], "/teleport Open data platform")
    assert reply == "I do not know /teleport. /help lists what you can use."


async def test_privacy_mode_still_hears_addressed_commands(chat: CouncilChat) -> None:
    """With privacy mode on, plain chatter is not delivered but /cmd@bot is answered."""
    assert chat.sandbox.bot.privacy is True
    chat.sandbox.control.send_text(chat.cios["EPB"].id, chat.group.id, "just chatting")
    reply = await chat.command(chat.cios["EPB"], "/help")
    assert reply.startswith("Commands you can use:")


async def test_members_can_ask_in_private(chat: CouncilChat) -> None:
    """In a private chat the bot answers for the sender's council; strangers are told why not."""
    await chat.founded()
    await chat.command(chat.chair, "/cadence bimonthly 2TH 14:30 120")
    cio = chat.cios["EPB"]
    private = await chat.command(cio, "/next", chat_id=cio.id)
    assert private.startswith("Next meeting: S")
    stranger = await chat.command(chat.stranger, "/next", chat_id=chat.stranger.id)
    assert stranger == ("You are not a member of a council yet; ask your council's chair, "
                        "or send /join <CODE> in the council's group.")


async def test_answers_in_the_group_are_threaded_to_their_command(chat: CouncilChat) -> None:
    """In the group each answer replies to the command it answers, so two people asking at once
    can tell theirs apart; in a private chat nothing needs threading."""
    await chat.founded()
    control, group = chat.sandbox.control, chat.group.id
    asked = {control.send_text(chat.cios[code].id, group, f"/next@{chat.bot_name}").message_id
             for code in ("EPB", "MSB")}

    def answers() -> list[str]:
        return [m.text or "" for m in control.bot_messages(group)
                if m.reply_to is not None and m.reply_to.message_id in asked]

    await control.wait_until(lambda: len(answers()) == 2)
    assert answers() == ["No meeting is scheduled. The chair can set a series with /cadence."] * 2
    cio = chat.cios["EPB"]
    private = control.send_text(cio.id, cio.id, "/next")
    assert (await control.next_bot_message(cio.id, after=private)).reply_to is None


async def council_id(chat: CouncilChat) -> int:
    async with chat.database.uow() as uow:
        council = await uow.councils.by_chat(chat.group.id)
    assert council is not None
    return council.id


async def chairs(chat: CouncilChat) -> list[str]:
    async with chat.database.uow() as uow:
        members = await uow.members.list(await council_id(chat))
    return [m.name for m in members if m.role is Role.CHAIR]


async def test_the_chair_is_handed_over_in_one_step(chat: CouncilChat) -> None:
    """A reply with /role chair hands the chair over and says who the chair is now (no second
    chair); the former chair can no longer set roles; the only chair cannot be demoted."""
    await chat.founded()
    control = chat.sandbox.control
    said = control.send_text(chat.secretary.id, chat.group.id, f"/next@{chat.bot_name}")
    await control.next_bot_message(chat.group.id, after=said)
    sent = control.send_text(chat.chair.id, chat.group.id, f"/role@{chat.bot_name} chair",
                             reply_to=said.message_id)
    answer = await control.next_bot_message(chat.group.id, after=sent)
    assert (answer.text or "").startswith(
        "Chen Jing is now the chair; Wang Lei is now an observer.")
    assert await chairs(chat) == ["Chen Jing"]
    refused = await chat.command(chat.chair, "/role @zhou_min secretary")
    assert refused == "Only the chair may do this."
    demoted = await chat.command(chat.secretary, "/role @chen_jing secretary")
    assert demoted == ("Chen Jing is the council's chair: a council always has one, so hand "
                       "the chair over to someone else first (/role <user> chair).")
    back = await chat.command(chat.secretary, "/role @wang_lei chair")
    assert back.startswith("Wang Lei is now the chair; Chen Jing is now an observer.")
    assert await chairs(chat) == ["Wang Lei"]


async def test_someone_who_spoke_is_found_by_username(chat: CouncilChat) -> None:
    """After a person sends anything the bot sees (here /help@bot), `/role @username` works for
    them; for someone never seen, the bot says what to do."""
    await chat.command(chat.chair, "/setup Riverside District CIO Council")
    await chat.command(chat.stranger, "/help")
    given = await chat.command(chat.chair, "/role @passer_by expert")
    assert given.startswith("Passer By is now an expert.")
    unknown = await chat.command(chat.chair, "/role @nobody_here expert")
    assert unknown == ("I have not seen '@nobody_here' in the council's chat yet: ask them to "
                       "send any command there (/help is enough), or use their numeric "
                       "Telegram id.")


async def test_members_are_told_to_start_the_private_chat(chat: CouncilChat) -> None:
    """/members names who cannot be written to privately; the deep link's /start greets the
    member and notes the private chat; private /help lists only what works there."""
    await chat.founded()
    roster = await chat.command(chat.chair, "/members")
    assert ("I cannot write privately to: Wang Lei, Chen Jing, CIO EDU, CIO EPB, CIO MSB, "
            "Zhou Min. They need to press Start") in roster
    cio = chat.cios["EPB"]
    started = chat.sandbox.control.start_bot(cio.id, payload=f"c{await council_id(chat)}")
    greeting = await chat.sandbox.control.next_bot_message(cio.id, after=started)
    lines = (greeting.text or "").splitlines()
    assert lines[0] == ("Hello CIO EPB! You are a CIO of Riverside District CIO Council. I can "
                        "now write to you here: secret ballots, reminders and calendar links "
                        "come to this chat.")
    commands = {line.split()[0] for line in lines if line.startswith("/")}
    assert {"/vote", "/calendar", "/propose", "/help"} <= commands
    assert not commands & {"/setup", "/join", "/startmeeting", "/motion", "/secret", "/role"}
    roster = await chat.command(chat.chair, "/members")
    assert "I cannot write privately to: Wang Lei, Chen Jing, CIO EDU, CIO MSB, Zhou Min." \
        in roster
