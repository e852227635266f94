"""A real PTB Application, polling the sandbox over HTTP, handles a command and a button."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.sandbox import Control, SandboxServer


async def _agenda(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the agenda and a button to approve it."""
    assert update.message is not None
    meeting = context.args[0] if context.args else "next"
    approve = InlineKeyboardButton("Approve", callback_data=f"ok:{meeting}")
    keyboard = InlineKeyboardMarkup([[approve]])
    await update.message.reply_text(f"Agenda for meeting {meeting}", reply_markup=keyboard)


async def _approve(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press at once, then close the vote."""
    query = update.callback_query
    assert query is not None
    await query.answer("Approved")
    await query.edit_message_text(f"Approved by {query.from_user.first_name}")


@pytest.fixture
async def application(sandbox: SandboxServer) -> AsyncIterator[None]:
    """The bot under test: a polling Application with one command and one button handler."""
    app = (ApplicationBuilder().token(sandbox.token).base_url(sandbox.base_url)
           .base_file_url(sandbox.base_file_url).build())
    app.add_handler(CommandHandler("agenda", _agenda, filters=filters.UpdateType.MESSAGE))
    app.add_handler(CallbackQueryHandler(_approve, pattern=r"^ok:"))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=10)
        yield
        await app.updater.stop()
        await app.stop()


@pytest.mark.usefixtures("application")
async def test_command_and_button_in_a_group(control: Control) -> None:
    """/agenda@council_bot gets a reply with a button; pressing it is answered and edits."""
    alice = control.create_user("Alice")
    council = control.create_group("CIO Council", creator=alice.id)
    asked = control.send_text(alice.id, council.id, "/agenda@council_bot 12")
    reply = await control.next_bot_message(council.id, after=asked)
    assert reply.text == "Agenda for meeting 12"
    assert reply.reply_to is not None
    assert reply.reply_to.message_id == asked.message_id
    query_id = control.press_button(alice.id, council.id, reply.message_id, text="Approve")
    answer = await control.answer_to(query_id)
    assert (answer.text, answer.data) == ("Approved", "ok:12")
    await control.wait_until(lambda: reply.text == "Approved by Alice")
    assert reply.buttons() == []


@pytest.mark.usefixtures("application")
async def test_private_start_and_edited_commands(control: Control) -> None:
    """In private, /agenda is answered; editing it does not trigger the handler again."""
    alice = control.create_user("Alice")
    control.start_bot(alice.id)
    asked = control.send_text(alice.id, alice.id, "/agenda")
    first = await control.next_bot_message(alice.id, after=asked)
    control.edit_text(alice.id, alice.id, asked.message_id, "/agenda 7")
    again = control.send_text(alice.id, alice.id, "/agenda 8")
    second = await control.next_bot_message(alice.id, after=again)
    assert [first.text, second.text] == ["Agenda for meeting next", "Agenda for meeting 8"]
    assert len(control.bot_messages(alice.id)) == 2
