"""The python-telegram-bot Application: the command table, dispatch, buttons and chat events.

One table lists every command with the act it needs, so authorisation and `/help` cannot drift.
Commands react to new messages only: an edited command must not run twice.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import BotCommand, CallbackQuery, InputFile, Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import logs
from bot.i18n import N_, translate
from bot.i18n.words import explain, role_in_sentence
from bot.telegram import appraisal, calendar, handlers, meeting, minutes, voting
from bot.telegram.context import BotContext, BotEnv, ChatRequest, Reply, env_of
from bot.telegram.live import LiveCounts, LiveRollCalls, Pause
from bot.telegram.render import (
    CHOICE_OF_KEY,
    NO_PREVIEW,
    TELEGRAM_CAPTION_LIMIT,
    split_text,
    start_link,
    start_request,
)
from meetings import usecases
from meetings.domain.errors import CouncilError
from meetings.domain.permissions import Act, can, require
from storage import AlreadyProcessed
from storage.errors import is_unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    run: Callable[[ChatRequest], Awaitable[str | Reply]]
    act: Act | None  # None: anyone in the chat, member or not
    summary: str
    group_only: bool = False


COMMANDS = [
    Command("setup", handlers.setup, None, N_("bind this group as a new council"), True),
    Command("department", handlers.department, Act.ADD_DEPARTMENT, N_("add a department")),
    Command("join", handlers.join, None, N_("ask to be the CIO of a department"), True),
    Command("role", handlers.role, Act.SET_ROLE, N_("set a member's role")),
    Command("members", handlers.members, Act.VIEW, N_("the roster")),
    Command("cadence", handlers.cadence, Act.SET_CADENCE, N_("set the regular series")),
    Command("schedule", handlers.schedule, Act.SCHEDULE, N_("schedule an extra meeting")),
    Command("reschedule", handlers.reschedule, Act.SCHEDULE, N_("move one meeting")),
    Command("cancel", handlers.cancel, Act.SCHEDULE, N_("cancel one meeting")),
    Command("next", handlers.next_meeting, Act.VIEW, N_("the next meeting")),
    Command("propose", handlers.propose, Act.PROPOSE, N_("propose an agenda item")),
    Command("agenda", handlers.agenda, Act.VIEW, N_("the agenda of the next meeting")),
    Command("accept", handlers.accept, Act.DECIDE_AGENDA, N_("accept an agenda item")),
    Command("defer", handlers.defer, Act.DECIDE_AGENDA,
            N_("defer an agenda item to the following meeting")),
    Command("reject", handlers.reject, Act.DECIDE_AGENDA, N_("reject an agenda item")),
    Command("major", handlers.major, Act.DECIDE_AGENDA, N_("mark an agenda item as a major issue")),
    Command("item", handlers.item, Act.ADD_URGENT_ITEM,
            N_("add urgent business, accepted at once, to the meeting in progress or the next")),
    Command("action", handlers.action, Act.ASSIGN_ACTION,
            N_("give a department an action item")),
    # The owning CIO may complete too, which only the use case can tell: see may_complete_action.
    Command("done", handlers.done, Act.COMPLETE_ACTION, N_("mark an action item done")),
    Command("actions", handlers.actions, Act.VIEW, N_("open action items, overdue first")),
    Command("startmeeting", meeting.start_meeting, Act.RUN_MEETING,
            N_("open today's meeting with a roll call"), True),
    Command("here", meeting.here, Act.MARK_HERE, N_("mark yourself present in person")),
    Command("proxy", meeting.proxy, Act.RECORD_ATTENDANCE,
            N_("record a deputy attending for a department")),
    Command("excused", meeting.excused, Act.RECORD_ATTENDANCE,
            N_("record a department's CIO as excused")),
    Command("guest", meeting.guest, Act.RECORD_ATTENDANCE,
            N_("record an invited guest attending the meeting (never votes)")),
    Command("topic", meeting.topic, Act.RUN_MEETING, N_("move the discussion to an agenda item")),
    Command("info", meeting.info, Act.TAKE_NOTE, N_("note information for the minutes")),
    Command("idea", meeting.idea, Act.TAKE_NOTE, N_("note an idea for the minutes")),
    Command("agreed", meeting.agreed, Act.RECORD_DECISION, N_("record a decision without a vote")),
    Command("undo", meeting.undo, Act.UNDO, N_("remove the last note, decision or guest")),
    Command("motion", voting.motion, Act.OPEN_VOTE, N_("open a named vote"), True),
    Command("secret", voting.secret, Act.OPEN_VOTE, N_("open a secret ballot"), True),
    Command("circular", voting.circular, Act.OPEN_VOTE,
            N_("open a vote between meetings, with a deadline"), True),
    Command("vote", voting.vote, Act.VOTE, N_("vote without the buttons")),
    Command("close", voting.close, Act.OPEN_VOTE, N_("close a vote and post the result")),
    Command("endmeeting", meeting.end_meeting, Act.RUN_MEETING, N_("end the meeting"), True),
    Command("minutes", minutes.minutes, Act.VIEW, N_("the latest minutes as a Word document")),
    Command("approve", minutes.approve, Act.APPROVE_MINUTES,
            N_("approve the minutes; the approved file is frozen")),
    Command("template", minutes.template, Act.EXPORT,
            N_("send a .docx privately with this caption: the council's minutes template")),
    Command("lang", handlers.lang, Act.SET_LANGUAGE, N_("set the council's language")),
    # Anyone reads the rules; only the chair changes them, which the use case checks.
    Command("rules", handlers.rules, Act.VIEW,
            N_("the council's rules: quorum, majority, major issues, deadlines (chair: change)")),
    # The office gets the table; a CIO only their own card, privately: see appraisal.appraisal.
    Command("appraisal", appraisal.appraisal, Act.APPRAISAL,
            N_("performance-appraisal tallies: the table, or your own card")),
    Command("calendar", calendar.calendar, Act.VIEW,
            N_("your calendar link, privately (reset: a new one; council: the shared one)")),
]


async def _dispatch(command: Command, update: Update, context: BotContext) -> None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    request = await _request(update, context)
    try:
        if command.group_only and chat.type == ChatType.PRIVATE:
            raise CouncilError("/{name} works in the council's group chat", name=command.name)
        if command.act is not None:
            request.council  # noqa: B018 -- raises "not a council yet" before "not allowed"
            require(request.member, command.act)
        reply = await command.run(request)
    except AlreadyProcessed:
        log.info("update %s was handled before; ignored", update.update_id)
        return
    except CouncilError as error:
        reply = explain(request.language, error)
    await _send(message, reply if isinstance(reply, Reply) else Reply(reply))


async def _request(update: Update, context: BotContext) -> ChatRequest:
    env = env_of(context)
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    assert message is not None
    assert user is not None
    assert chat is not None
    sender = await usecases.councils.identify(
        env.database.uow(),
        chat_id=chat.id,
        telegram_id=user.id,
        private=chat.type == ChatType.PRIVATE,
        person=usecases.councils.Person(user.id, user.full_name, user.username),
    )
    logs.bind_council(sender.council.id if sender.council else None)
    # A file (a template captioned /template) has no text: no arguments.
    _, *rest = (message.text or "").split(maxsplit=1) or [""]
    return ChatRequest(
        env=env,
        update=update,
        sender=sender,
        arguments=rest[0] if rest else "",
        now=env.clock.now(),
        bot_id=context.bot.id,
        counts=live_counts(context.application),
        roll_calls=live_roll_calls(context.application),
    )


async def _send(message: Message, reply: Reply) -> None:
    """Replies in pieces that fit Telegram's limit; the keyboard goes with the last piece. A
    photo, then a document, go last, the last of them with the text's last piece as its caption
    when that fits one."""
    pieces = split_text(reply.text)
    attachments = [(kind, file) for kind, file in (("photo", reply.photo),
                                                   ("document", reply.document))
                   if file is not None]
    caption = None
    if attachments and len(pieces[-1]) <= TELEGRAM_CAPTION_LIMIT:
        caption = pieces.pop()
    # In a busy group an answer is threaded to the command it answers, so people can tell whose
    # it is; a command deleted meanwhile must not make the answer fail.
    thread = None if message.chat.type == ChatType.PRIVATE else ReplyParameters(
        message.message_id, allow_sending_without_reply=True)
    preview = None if reply.link_preview else NO_PREVIEW
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1 and not attachments
        sent = await message.reply_text(piece, reply_markup=reply.keyboard if last else None,
                                        do_quote=False, link_preview_options=preview,
                                        reply_parameters=thread if index == 0 else None)
    for index, (kind, file) in enumerate(attachments):
        final = index == len(attachments) - 1
        send = message.reply_photo if kind == "photo" else message.reply_document
        sent = await send(InputFile(file.data, filename=file.filename),
                          caption=caption if final else None,
                          reply_markup=reply.keyboard if final else None, do_quote=False,
                          reply_parameters=thread if not pieces and index == 0 else None)
    if reply.sent is not None:
        await reply.sent(sent)


async def _help(update: Update, context: BotContext) -> None:
    """/help: the commands the sender may use here."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    request = await _request(update, context)
    await _send(message, Reply(help_text(request)))


def help_text(request: ChatRequest) -> str:
    """The commands the sender may use in this chat: by their role, and in a private chat only
    those that work there."""
    role = request.member.role if request.member else None
    lines = [request.t("Commands you can use:")]
    for command in COMMANDS:
        if command.group_only and request.in_private:
            continue
        if command.act is None or can(role, command.act):
            lines.append(f"/{command.name} — {request.t(command.summary)}")
    lines.append("/help — " + request.t("this list"))
    if request.sender.council is None:
        if request.in_private:
            lines.append(request.t("You are not a member of a council yet: ask your council's "
                                   "chair, or send /join <CODE> in the council's group."))
        else:
            lines.append(request.t(
                "This chat is not a council yet: a group admin can send /setup <council name>."
            ))
    return "\n".join(lines)


async def _start(update: Update, context: BotContext) -> None:
    """/start [payload] (the Start button, or a deep link): in a private chat, greets the person
    and notes that the bot can now write to them privately; then the commands they may use."""
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    request = await _request(update, context)  # identifies them, noting the private chat
    if not request.in_private:
        await _send(message, Reply(help_text(request)))
        return
    name = update.effective_user.full_name
    if request.member is not None:
        greeting = request.t(
            "Hello {name}! You are {role} of {council}. I can now write to you here: secret "
            "ballots, reminders and calendar links come to this chat.", name=name,
            role=role_in_sentence(request.language, request.member.role),
            council=request.council.name)
    else:
        greeting = request.t("Hello {name}! I can now write to you here.", name=name)
    await _send(message, Reply(greeting + "\n\n" + help_text(request)))


async def _unknown(update: Update, context: BotContext) -> None:
    """A command this bot does not have, addressed to it (other bots' commands are theirs)."""
    message = update.effective_message
    if message is None or not message.text or update.effective_user is None:
        return
    name = message.text.split(maxsplit=1)[0]
    addressed = message.chat.type == ChatType.PRIVATE or name.lower().endswith(
        f"@{context.bot.username}".lower()
    )
    if addressed:
        request = await _request(update, context)
        await _send(
            message,
            Reply(
                request.t(
                    "I do not know {command}. /help lists what you can use.",
                    command=name.split("@", 1)[0][:40],
                )
            ),
        )


async def _decide_join(update: Update, context: BotContext) -> None:
    """The chair's Approve / Deny button on a join request."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    _, request_id, verdict = query.data.split(":")
    request = await _request(update, context)
    decided_join = await _apply_press(
        query,
        request,
        lambda: usecases.councils.decide_join(
            request.uow(),
            request.council.id,
            int(request_id),
            approve=verdict == "a",
            actor=require(request.member, Act.APPROVE_JOIN),
            now=request.now,
        ),
    )
    if decided_join is None:
        return
    decided, member = decided_join
    await query.answer()
    text = (
        request.t("{name} is now the CIO of their department.", name=decided.name)
        if member
        else request.t("The request of {name} was declined.", name=decided.name)
    )
    if member is not None and not member.private_chat:
        text += "\n" + start_request(request.language, member.name,
                                     start_link(context.bot.username, request.council.id))
    await query.edit_message_text(text)


async def _press_vote(update: Update, context: BotContext) -> None:
    """A Yes / No / Abstain button: a vote, cast once per press whatever the redelivery, and
    answered at once so the button stops spinning."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    _, motion_id, key = query.data.split(":")
    request = await _request(update, context)
    cast = await _apply_press(
        query,
        request,
        lambda: voting.cast(request, int(motion_id), CHOICE_OF_KEY[key]),
        repeated=request.t("Your vote was already counted."),
    )
    if cast is not None:
        await _answer_committed(query, voting.cast_text(request.language, cast))


async def _press_here(update: Update, context: BotContext) -> None:
    """The roll call's Here button: the same as /here."""
    query = update.callback_query
    if query is None or query.data is None:
        return
    meeting_id = int(query.data.split(":")[1])
    request = await _request(update, context)
    already = request.t("You are already marked present.")
    marked = await _apply_press(
        query,
        request,
        lambda: usecases.meeting.mark_here(
            request.uow(),
            request.council.id,
            actor=require(request.member, Act.MARK_HERE),
            now=request.now,
            meeting_id=meeting_id,
        ),
        repeated=already,
    )
    if marked is not None:
        request.roll_calls.touch(meeting_id)
        await _answer_committed(query, request.t("You are marked present.") if marked.new
                                else already)


async def _press_calendar(update: Update, context: BotContext) -> None:
    """/next's "Add to calendar" button: the meeting as a one-event .ics, sent privately (the
    group is not filled with files)."""
    query = update.callback_query
    if query is None or query.data is None or update.effective_user is None:
        return
    meeting_id = int(query.data.split(":")[1])
    request = await _request(update, context)
    try:
        require(request.member, Act.VIEW)
        data = await usecases.calendar.meeting_file(
            request.env.database.uow(), request.council.id, meeting_id, now=request.now)
    except CouncilError as error:
        await query.answer(explain(request.language, error), show_alert=True)
        return
    try:
        await context.bot.send_document(
            update.effective_user.id, InputFile(data, filename=f"meeting-{meeting_id}.ics"),
            caption=request.t("Open the file to add meeting S{id} to your calendar.",
                              id=meeting_id))
    except (Forbidden, BadRequest):
        await query.answer(request.t(
            "I cannot write to you privately yet: open https://t.me/{bot}, press Start, then "
            "press the button again.", bot=context.bot.username), show_alert=True)
        return
    await _answer_committed(query, request.t("Sent privately."))


async def _apply_press(
    query: CallbackQuery,
    request: ChatRequest,
    work: Callable[[], Awaitable[T]],
    *,
    repeated: str | None = None,
) -> T | None:
    """Applies a button press; None when it was handled before (answered with ``repeated``)
    or refused (answered with the reason, as an alert)."""
    try:
        return await work()
    except AlreadyProcessed:
        await _answer_committed(query, repeated)
    except CouncilError as error:
        await query.answer(explain(request.language, error), show_alert=True)
    return None


async def _answer_committed(query: CallbackQuery, text: str | None = None) -> None:
    """Answers a press whose change is committed, now or by an earlier delivery. Telegram takes
    one answer per press and none after about 15 s (a long queue, such as a whole council
    pressing at once): the change stands all the same, so the group must not hear that
    nothing was changed."""
    try:
        await query.answer(text)
    except BadRequest as err:
        log.info("a press could not be answered (%s); its change stands", err)


async def _membership(update: Update, context: BotContext) -> None:
    """The bot was added to or removed from a chat."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE:
        return
    env = env_of(context)
    present = change.new_chat_member.status in (
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.ADMINISTRATOR,
    )
    council = await usecases.councils.set_bot_presence(
        env.database.uow(), chat_id=change.chat.id, present=present, now=env.clock.now()
    )
    if present and council is None:
        language = "zh" if (change.from_user.language_code or "").startswith("zh") else "en"
        await context.bot.send_message(
            change.chat.id,
            translate(
                language,
                "Hello! A group admin can make this group a council with /setup <council name>.",
            ),
        )


async def _migrated(update: Update, context: BotContext) -> None:
    """A group became a supergroup: its council follows it to the new chat id."""
    message = update.effective_message
    if message is None:
        return
    env = env_of(context)
    old, new = (
        (message.chat.id, message.migrate_to_chat_id)
        if message.migrate_to_chat_id
        else (message.migrate_from_chat_id, message.chat.id)
    )
    if old is not None and new is not None:
        await usecases.councils.move_chat(
            env.database.uow(), old_chat_id=old, new_chat_id=new, now=env.clock.now()
        )


async def _on_error(update: object, context: BotContext) -> None:
    if context.error is not None and is_unavailable(context.error):
        # Not the user's problem and not final: the intake handles the update again later.
        log.warning("the database is unreachable; the update is put off: %s", context.error)
        return
    log.error("handling update failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(
                "Sorry, something went wrong; nothing was changed. / 出错了，未做任何更改。"
            )
        except TelegramError:
            log.warning("could not tell the user about the error", exc_info=True)


def register(application: AnyApplication) -> None:
    new_messages = filters.UpdateType.MESSAGE
    for command in COMMANDS:

        async def callback(update: Update, context: BotContext, command: Command = command) -> None:
            await _dispatch(command, update, context)

        application.add_handler(CommandHandler(command.name, callback, filters=new_messages))
    application.add_handler(CommandHandler("help", _help, filters=new_messages))
    application.add_handler(CommandHandler("start", _start, filters=new_messages))
    # Ids of at most 9 digits, as parse_id takes: larger ones (forged data) would overflow the
    # database's integer keys, so they match no handler and are ignored like other junk.
    application.add_handler(CallbackQueryHandler(_decide_join, pattern=r"^j:\d{1,9}:[ad]$"))
    application.add_handler(CallbackQueryHandler(_press_vote, pattern=r"^v:\d{1,9}:[yna]$"))
    application.add_handler(CallbackQueryHandler(_press_here, pattern=r"^h:\d{1,9}$"))
    application.add_handler(CallbackQueryHandler(_press_calendar, pattern=r"^c:\d{1,9}$"))
    application.add_handler(ChatMemberHandler(_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, _migrated))
    # A file's caption is no command to PTB: the secretariat's template arrives as a document
    # captioned /template, in a private chat.
    template = next(c for c in COMMANDS if c.name == "template")

    async def template_sent(update: Update, context: BotContext) -> None:
        await _dispatch(template, update, context)

    application.add_handler(MessageHandler(
        new_messages & filters.ChatType.PRIVATE & filters.Document.ALL
        & filters.CaptionRegex(r"^/template(@\w+)?\s*$"), template_sent))
    # Last, so it only sees commands no handler above took.
    application.add_handler(MessageHandler(filters.COMMAND & new_messages, _unknown))
    application.add_error_handler(_on_error)


async def publish_commands(application: AnyApplication) -> None:
    """Tells Telegram the command list; not essential, so a failure is only logged."""
    commands = [BotCommand(c.name, c.summary) for c in COMMANDS] + [BotCommand("help", "help")]
    try:
        await application.bot.set_my_commands(commands)
    except TelegramError:
        log.warning("setMyCommands failed; the bot works without the command menu", exc_info=True)


@asynccontextmanager
async def polling(
    application: AnyApplication, *, timeout: int = 10
) -> AsyncIterator[AnyApplication]:
    """Runs the application with long polling for the duration of the block."""
    async with application:
        await application.start()
        assert application.updater is not None  # built without .updater(None)
        await application.updater.start_polling(
            poll_interval=0, timeout=timeout, allowed_updates=Update.ALL_TYPES
        )
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()


def live_counts(application: AnyApplication) -> LiveCounts:
    """The application's keeper of motions' live counts (see `bot.telegram.live`)."""
    counts: LiveCounts = application.bot_data["live_counts"]
    return counts


def live_roll_calls(application: AnyApplication) -> LiveRollCalls:
    """The application's keeper of the meetings' live roll calls (see `bot.telegram.live`)."""
    roll_calls: LiveRollCalls = application.bot_data["live_roll_calls"]
    return roll_calls


async def settle_live(application: AnyApplication) -> None:
    """Waits until every live message (counts, roll calls) shows its latest state."""
    await live_counts(application).settle()
    await live_roll_calls(application).settle()


async def close_live(application: AnyApplication) -> None:
    """Shutting down: the live messages still due an edit get it now, without a pause."""
    await live_counts(application).close()
    await live_roll_calls(application).close()


def build_application(
    token: str,
    env: BotEnv,
    *,
    base_url: str,
    base_file_url: str | None = None,
    durable_intake: bool = False,
    rate_limit: bool = True,
    count_interval: float = 3.0,
    live_pause: Pause | None = None,
    requests: tuple[BaseRequest, BaseRequest] | None = None,
) -> AnyApplication:
    """The bot, wired to ``env``. With ``durable_intake`` PTB's own updater is off: the service's
    intake stores each update before handing it over (`bot.web.intake`); tests and the demo poll
    with PTB's updater (`polling`). ``requests`` replaces PTB's HTTP layer (for calls, and for
    getUpdates): the service counts every Bot API call there (`bot.metrics`). The live messages
    are edited at most once per ``count_interval`` seconds, or per ``live_pause`` (tests)."""
    builder = ApplicationBuilder().token(token).base_url(base_url).post_init(publish_commands)
    if base_file_url:
        builder = builder.base_file_url(base_file_url)
    if rate_limit:
        # PTB types the builder's limiter as BaseRateLimiter[None]; AIORateLimiter is [int].
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))  # type: ignore[arg-type]
    if durable_intake:
        builder = builder.updater(None)
    if requests is not None:
        builder = builder.request(requests[0]).get_updates_request(requests[1])
    application = builder.build()
    application.bot_data["env"] = env
    application.bot_data["live_counts"] = LiveCounts(
        env.database, application.bot, interval=count_interval, pause=live_pause
    )
    application.bot_data["live_roll_calls"] = LiveRollCalls(
        env.database, application.bot, interval=count_interval, pause=live_pause
    )
    register(application)
    return application
