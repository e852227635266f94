"""/appraisal: the council's performance-appraisal table for the office, a CIO's own card for
the CIO (privately: a card is personal)."""

from __future__ import annotations

import asyncio
import re

from bot.appraisal_text import card_text, table_text
from bot.i18n import N_
from bot.telegram.context import ChatRequest, Document, Reply
from meetings import usecases
from meetings.domain.errors import InvalidInput, NotAllowed, Word
from meetings.domain.model import Member, Role
from meetings.domain.permissions import Act, require
from meetings.exports import appraisal as exports
from meetings.exports.appraisal import ExportError
from meetings.usecases.common import local_today

_USAGE = N_("/appraisal [YYYY | YYYY-Hn | YYYY-Qn] [CODE]")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


async def appraisal(req: ChatRequest) -> str | Reply:
    """/appraisal [period] [CODE]: the office gets the table, the chart and the spreadsheet (or
    a department's cards with CODE); a CIO, in a private chat, their own card."""
    actor = require(req.member, Act.APPRAISAL)
    parts = req.args(2, usage=_USAGE, at_least=0)
    if len(parts) == 2 and " " in parts[1].strip():
        raise InvalidInput("usage: {usage}", usage=Word(_USAGE))
    period = parts[0] if parts else str(local_today(req.council, req.now).year)
    code = parts[1] if len(parts) == 2 else None
    if actor.role is Role.CIO:
        return await _own_card(req, actor, period, code)
    if code is not None:
        return await _cards(req, actor, period, code)
    table = await usecases.appraisal.council_table(
        req.env.database.uow(), req.council.id, period=period, actor=actor, now=req.now)
    text = table_text(req.language, table)
    name = _SAFE_NAME.sub("-", f"appraisal-{table.period.label}")
    spreadsheet = await asyncio.to_thread(exports.to_xlsx, table, language=req.language)
    try:
        chart: bytes | None = await asyncio.to_thread(exports.to_png, table,
                                                      language=req.language)
    except ExportError:
        chart = None
        text += "\n" + req.t("(No chart: this server has no CJK font for Chinese names.)")
    return Reply(text, document=Document(f"{name}.xlsx", spreadsheet),
                 photo=None if chart is None else Document(f"{name}.png", chart))


async def _own_card(req: ChatRequest, actor: Member, period: str, code: str | None) -> str:
    if not req.in_private:
        raise NotAllowed("your appraisal card is personal: send /appraisal to me in a private "
                         "chat")
    cards = await usecases.appraisal.explain(req.env.database.uow(), req.council.id,
                                             period=period, actor=actor, now=req.now, code=code)
    if not cards:
        return req.t("You were not a department's CIO in {period}.", period=period.strip())
    return "\n\n".join(card_text(req.language, card) for card in cards)


async def _cards(req: ChatRequest, actor: Member, period: str, code: str) -> str:
    cards = await usecases.appraisal.explain(req.env.database.uow(), req.council.id,
                                             period=period, actor=actor, now=req.now, code=code)
    if not cards:
        return req.t("No CIO of {code} served in {period}.", code=code.strip().upper()[:16],
                     period=period.strip())
    return "\n\n".join(card_text(req.language, card) for card in cards)
