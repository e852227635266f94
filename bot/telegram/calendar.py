"""/calendar: a member's calendar subscription links, always sent in a private chat.

The links carry a secret, so they never appear in the group and never get a link preview
(Telegram's servers would fetch the address to draw one).
"""

from __future__ import annotations

import logging

from telegram.error import BadRequest, Forbidden

from bot.i18n import N_
from bot.links import feed_links
from bot.telegram.context import ChatRequest, Reply
from bot.telegram.handlers import member_of
from bot.telegram.render import NO_PREVIEW
from meetings import usecases
from meetings.domain.errors import InvalidInput, Word
from meetings.domain.permissions import Act, require

log = logging.getLogger(__name__)

USAGE = N_("/calendar [reset|council|council reset]")


async def calendar(req: ChatRequest) -> str | Reply:
    """/calendar [reset|council|council reset]: the member's own feed links (or the council's
    shared feed, for the office), sent privately; reset replaces the old link."""
    words = req.arguments.lower().split()
    if words not in ([], ["reset"], ["council"], ["council", "reset"]):
        raise InvalidInput("usage: {usage}", usage=Word(USAGE))
    shared, reset = "council" in words, "reset" in words
    member = require(req.member, Act.EXPORT) if shared else member_of(req)
    public_url = req.env.public_url
    if public_url is None:
        return req.t("This service has no public address (COUNCIL_PUBLIC_URL is not set), so "
                     "it cannot give calendar links.")
    token = await usecases.calendar.issue_token(
        req.uow(), req.council.id, actor=member, now=req.now,
        member_id=None if shared else member.id, reset=reset,
        again="/calendar council reset" if shared else "/calendar reset")
    https, webcal = feed_links(public_url, token)
    text = "\n".join([
        req.t("The council's shared calendar:") if shared else req.t("Your calendar:"),
        https,
        req.t("In Apple Calendar or Outlook, open: {link}", link=webcal),
        req.t("Keep this link to yourself: anyone who has it sees this calendar. "
              "/calendar reset replaces it.") if not shared else
        req.t("Share it with the council; /calendar council reset replaces it."),
    ])
    if req.in_private:
        return Reply(text, link_preview=False)
    try:
        await req.update.get_bot().send_message(req.user_id, text,
                                                link_preview_options=NO_PREVIEW)
    except (Forbidden, BadRequest) as err:
        # Nobody received the link: withdraw it, so the next /calendar issues a fresh one.
        log.info("calendar link not delivered to member %s: %s", member.id, err)
        await usecases.calendar.revoke_token(req.env.database.uow(), req.council.id,
                                             actor=member, now=req.now,
                                             member_id=None if shared else member.id)
        username = req.update.get_bot().username
        return req.t("I cannot write to you privately yet: open https://t.me/{bot}, press "
                     "Start, then send /calendar again.", bot=username)
    return req.t("Sent privately.")
