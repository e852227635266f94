"""Telegram's inbox: which update ids were already handled.

Telegram redelivers an update after a non-2xx answer or a timeout, and ids are not monotonic (they
restart at random after a week of silence), so we keep the set of handled ids, not a high-water
mark. Recording an id in the same transaction as the business write makes "handled" and "stored"
one fact: a crash before commit leaves neither, a redelivery after commit changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_unless_present
from storage.tables import ProcessedUpdateRow


@dataclass(frozen=True, slots=True)
class IncomingUpdate:
    bot: str  # which bot received it: update ids are only unique per bot
    update_id: int
    received_at: datetime


class AlreadyProcessed(Exception):  # an outcome the shell expects, not a failure
    """This update was handled before; the shell acknowledges it and does nothing."""


async def record_update(session: AsyncSession, *, bot: str, update_id: int, now: datetime) -> bool:
    """Marks an update as handled; False when it already was (or a concurrent handler just did)."""
    return await insert_unless_present(
        session, ProcessedUpdateRow, {"bot": bot, "update_id": update_id, "processed_at": now})


async def forget_updates(session: AsyncSession, *, before: datetime) -> int:
    """Drops ids handled before ``before`` (keep more than Telegram's 24 h redelivery window)."""
    result = await session.exec(
        delete(ProcessedUpdateRow).where(col(ProcessedUpdateRow.processed_at) < before))
    return result.rowcount
