"""A durable job table (reminders, outbound messages) shared by every instance.

PTB's JobQueue lives in one process's memory; this table survives restarts and lets several
instances share the work. A claim is its own short transaction: claim, commit, do the work, then
`complete` or `fail`. A claim that is never completed (the worker died) expires after ``lease``
and the job is handed out again, so delivery is at least once; the dedupe key keeps one logical
job (e.g. "reminder for meeting 12 at T-24h") from being enqueued twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import literal, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from meetings.ports import Job, NewJob
from storage.db import insert_unless_present
from storage.tables import JobRow

DEFAULT_LEASE = timedelta(minutes=10)
# Rows per INSERT of `enqueue_all`: well inside SQLite's and PostgreSQL's limits on bound
# parameters (five a row), and few round trips for a broadcast of thousands.
ROWS_PER_INSERT = 500


def _row(*, kind: str, dedupe_key: str, payload: Mapping[str, object],
         run_at: datetime) -> dict[str, object]:
    return {"kind": kind, "dedupe_key": dedupe_key, "run_at": run_at, "attempts": 0,
            "payload": json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)}


async def enqueue(session: AsyncSession, *, kind: str, dedupe_key: str,
                  payload: Mapping[str, object], run_at: datetime) -> bool:
    """Adds a job; False when one with this dedupe key exists (done or not)."""
    return await insert_unless_present(session, JobRow, _row(
        kind=kind, dedupe_key=dedupe_key, payload=payload, run_at=run_at))


async def enqueue_all(session: AsyncSession, new: Sequence[NewJob]) -> int:
    """Adds many jobs with a few multi-row INSERTs (planning a broadcast row by row held the
    database for seconds); skips those whose dedupe key exists. Returns how many were added."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One key twice in a call is one job, the first, as with `enqueue` called in turn.
    firsts: dict[str, NewJob] = {}
    for job in new:
        firsts.setdefault(job.dedupe_key, job)
    unique = list(firsts.values())
    added = 0
    for start in range(0, len(unique), ROWS_PER_INSERT):
        rows = [_row(kind=job.kind, dedupe_key=job.dedupe_key, payload=job.payload,
                     run_at=job.run_at) for job in unique[start:start + ROWS_PER_INSERT]]
        # RETURNING rather than rowcount, which ORM-level execution does not report reliably.
        statement = insert(JobRow).values(rows).on_conflict_do_nothing().returning(literal(1))
        added += len((await session.exec(statement)).all())
    return added


async def claim_due(session: AsyncSession, *, kind: str, now: datetime, worker: str,
                    limit: int = 10, lease: timedelta = DEFAULT_LEASE,
                    prefix: str | None = None) -> list[Job]:
    """Claims up to ``limit`` due jobs of ``kind`` for ``worker`` (only those whose dedupe key
    starts with ``prefix``, if given); concurrent claimers never share a job, and one kind's
    backlog never holds up another's worker."""
    conditions = [col(JobRow.kind) == kind, col(JobRow.done_at).is_(None),
                  col(JobRow.run_at) <= now,
                  or_(col(JobRow.claimed_by).is_(None), col(JobRow.claimed_at) < now - lease)]
    if prefix is not None:
        conditions.append(col(JobRow.dedupe_key).startswith(prefix, autoescape=True))
    due = (
        select(JobRow.id)
        .where(*conditions)
        .order_by(col(JobRow.run_at), col(JobRow.id))
        .limit(limit)
        # PostgreSQL: pass over rows another worker is claiming instead of queueing behind it.
        # SQLite renders no locking clause; BEGIN IMMEDIATE already makes claimers take turns.
        .with_for_update(skip_locked=True)
    )
    claimed = await session.exec(
        update(JobRow)
        .where(col(JobRow.id).in_(due))
        .values(claimed_by=worker, claimed_at=now, attempts=col(JobRow.attempts) + 1)
        .returning(JobRow))
    jobs = [Job(id=row.id, kind=row.kind, dedupe_key=row.dedupe_key,
                payload=json.loads(row.payload), run_at=row.run_at, attempts=row.attempts)
            for row in claimed.scalars()]
    return sorted(jobs, key=lambda job: (job.run_at, job.id))


async def release_claims(session: AsyncSession, *, kind: str,
                         dead: Callable[[str], bool]) -> int:
    """Hands the unfinished jobs claimed by workers that ``dead`` says are gone back at once,
    instead of after their lease (a worker that restarted knows its predecessor died). Returns
    how many jobs were released."""
    claimers = (await session.exec(
        select(JobRow.claimed_by).distinct()
        .where(col(JobRow.kind) == kind, col(JobRow.done_at).is_(None),
               col(JobRow.claimed_by).is_not(None)))).all()
    gone = [worker for worker in claimers if worker is not None and dead(worker)]
    if not gone:
        return 0
    released = await session.exec(
        update(JobRow)
        .where(col(JobRow.claimed_by).in_(gone), col(JobRow.done_at).is_(None))
        .values(claimed_by=None, claimed_at=None)
        .returning(col(JobRow.id)))
    return len(released.all())


async def complete(session: AsyncSession, job_id: int, *, now: datetime) -> None:
    await session.exec(update(JobRow).where(col(JobRow.id) == job_id).values(done_at=now))


async def fail(session: AsyncSession, job_id: int, *, now: datetime, error: str,
               retry_at: datetime | None) -> None:
    """Releases a job to run again at ``retry_at``, or gives it up (done, with its last error)."""
    changes: dict[str, Any] = {"last_error": error}
    if retry_at is None:
        changes["done_at"] = now
    else:
        changes.update(run_at=retry_at, claimed_by=None, claimed_at=None)
    await session.exec(update(JobRow).where(col(JobRow.id) == job_id).values(**changes))


class SqlJobs:
    """The `meetings.ports.JobQueue` of one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(self, *, kind: str, dedupe_key: str, payload: dict[str, object],
                      run_at: datetime) -> bool:
        return await enqueue(self._session, kind=kind, dedupe_key=dedupe_key, payload=payload,
                             run_at=run_at)

    async def enqueue_all(self, jobs: Sequence[NewJob]) -> int:
        return await enqueue_all(self._session, jobs)

    async def claim_due(self, *, kind: str, now: datetime, worker: str,
                        limit: int = 10, prefix: str | None = None) -> list[Job]:
        return await claim_due(self._session, kind=kind, now=now, worker=worker, limit=limit,
                               prefix=prefix)

    async def complete(self, job_id: int, *, now: datetime) -> None:
        await complete(self._session, job_id, now=now)

    async def fail(self, job_id: int, *, now: datetime, error: str,
                   retry_at: datetime | None) -> None:
        await fail(self._session, job_id, now=now, error=error, retry_at=retry_at)
