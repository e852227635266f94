"""/calendar end to end: the real PTB application against the sandbox hands out feed links in
private chats only, and the links open the member's feed over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import aiohttp
import icalendar
import pytest
from aiohttp import web

from bot.telegram.context import BotEnv
from bot.web import make_web_app
from tests.e2e.harness import CouncilChat, council_chat

LINK = re.compile(r"(https?://\S+/calendar/([A-Za-z0-9_-]{43})\.ics)")


@pytest.fixture
async def chat(migrated_url: str) -> AsyncIterator[CouncilChat]:
    async with council_chat(migrated_url, cios=2) as council:
        await council.founded()
        await council.command(council.chair, "/cadence bimonthly 2TH 14:30 120")
        yield council


@pytest.fixture
async def public_url(chat: CouncilChat) -> AsyncIterator[str]:
    """Our web service on 127.0.0.1, as COUNCIL_PUBLIC_URL, with the bot told about it."""
    runner = web.AppRunner(make_web_app(chat.database, clock=chat.clock))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site.port}/"
    env: BotEnv = chat.application.bot_data["env"]
    chat.application.bot_data["env"] = replace(env, public_url=url)
    try:
        yield url
    finally:
        await runner.cleanup()


async def _fetch(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.read()


def _private(chat: CouncilChat, user_id: int) -> list[str]:
    return [m.text or "" for m in chat.sandbox.control.bot_messages(user_id)]


async def test_calendar_in_the_group_sends_the_links_privately(chat: CouncilChat,
                                                                public_url: str) -> None:
    """In the group the bot says "Sent privately." and shows no link; the private chat gets an
    https and a webcal:// link to the CIO's own feed, which holds the council's meetings."""
    cio = chat.cios["EPB"]
    before = len(_private(chat, cio.id))
    assert await chat.command(cio, "/calendar") == "Sent privately."
    await chat.sandbox.control.wait_until(lambda: len(_private(chat, cio.id)) > before)
    text = _private(chat, cio.id)[-1]
    assert text.startswith("Your calendar:\n")
    [(https, token)] = LINK.findall(text)
    assert f"webcal://{https.split('://', 1)[1]}" in text
    assert all(token not in (m.text or "") for m in chat.sandbox.control.bot_messages(
        chat.group.id))
    status, body = await _fetch(https)
    assert status == 200
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert len([e for e in events if str(e["UID"]).startswith("meeting-")]) == 6
    assert any(str(e["UID"]).startswith("deadline-") for e in events)  # a CIO's own deadlines


async def test_reset_revokes_the_old_link_and_asking_again_is_explained(
        chat: CouncilChat, public_url: str) -> None:
    """In the private chat: the first /calendar answers with the link; a second one explains
    that it is not shown again; /calendar reset gives a new link and the old one stops."""
    cio = chat.cios["MSB"]
    first = await chat.command(cio, "/calendar", chat_id=cio.id)
    [(old_link, _)] = LINK.findall(first)
    again = await chat.command(cio, "/calendar", chat_id=cio.id)
    assert again == ("This calendar link was given out before and is not shown again; "
                     "/calendar reset makes a new one (the old link stops working).")
    reset = await chat.command(cio, "/calendar reset", chat_id=cio.id)
    [(new_link, _)] = LINK.findall(reset)
    assert new_link != old_link
    assert (await _fetch(old_link))[0] == 404
    assert (await _fetch(new_link))[0] == 200


async def test_the_council_feed_is_for_the_office_and_unreachable_members_are_told_how(
        chat: CouncilChat, public_url: str) -> None:
    """/calendar council is refused to a CIO and given to the secretary; someone the bot cannot
    write to privately is told to press Start, and gets a working link once they have."""
    assert await chat.command(chat.cios["EPB"], "/calendar council") == (
        "Only the chair or the secretariat may do this.")
    assert await chat.command(chat.secretary, "/calendar council") == "Sent privately."
    control = chat.sandbox.control
    control.block_bot(chat.expert.id)
    told = await chat.command(chat.expert, "/calendar")
    assert told == (f"I cannot write to you privately yet: open https://t.me/{chat.bot_name}, "
                    "press Start, then send /calendar again.")
    control.start_bot(chat.expert.id)
    assert await chat.command(chat.expert, "/calendar") == "Sent privately."


async def test_without_a_public_address_calendar_says_so(chat: CouncilChat) -> None:
    """With no COUNCIL_PUBLIC_URL there is nothing to link to, and nothing is issued."""
    assert await chat.command(chat.cios["EPB"], "/calendar") == (
        "This service has no public address (COUNCIL_PUBLIC_URL is not set), so it cannot "
        "give calendar links.")
    assert await chat.command(chat.cios["EPB"], "/calendar sideways") == (
        "Usage: /calendar [reset|council|council reset]")


async def test_next_offers_the_meeting_as_a_one_event_calendar_file(chat: CouncilChat) -> None:
    """/next carries an "Add to calendar" button; pressing it sends the presser, privately, an
    .ics holding that one meeting at its local time, with its UID from the feeds."""
    control = chat.sandbox.control
    reply = await chat.driver.ask(chat.expert, "/next")
    assert reply.text is not None
    assert reply.text.startswith("Next meeting: ")
    before = len(control.bot_messages(chat.expert.id))
    assert await chat.press(chat.expert, reply, "Add to calendar") == "Sent privately."
    await control.wait_until(lambda: len(control.bot_messages(chat.expert.id)) > before)
    sent = control.bot_messages(chat.expert.id)[-1]
    document = sent.content["document"]
    assert document["file_name"].endswith(".ics")
    data = control.file_bytes(document["file_id"])
    [event] = icalendar.Calendar.from_ical(data).walk("VEVENT")
    meeting_id = int(document["file_name"].removeprefix("meeting-").removesuffix(".ics"))
    assert str(event["UID"]) == f"meeting-{meeting_id}-council-1.cio-council"
    assert event.decoded("DTSTART").strftime("%H:%M") == "14:30"
    control.block_bot(chat.expert.id)
    refused = await chat.press(chat.expert, reply, "Add to calendar")
    assert refused.startswith("I cannot write to you privately yet")
