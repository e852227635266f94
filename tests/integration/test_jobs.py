"""The job table hands each due job to exactly one worker and remembers outcomes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from meetings.ports import Job
from storage import Database
from storage.jobs import claim_due, complete, enqueue, fail
from tests.integration.conftest import NOW


async def _enqueue(db: Database, key: str, *, due: timedelta = timedelta(0)) -> bool:
    async with db.transaction() as session:
        return await enqueue(session, kind="reminder", dedupe_key=key,
                             payload={"meeting": 1, "text": "明天开会"}, run_at=NOW + due)


async def _claim(db: Database, worker: str, *, limit: int = 10,
                 at: timedelta = timedelta(0)) -> list[Job]:
    async with db.transaction() as session:
        return await claim_due(session, kind="reminder", now=NOW + at, worker=worker,
                               limit=limit)


async def test_enqueue_is_idempotent_per_dedupe_key(migrated_db: Database) -> None:
    """A second job with the same dedupe key is not added."""
    assert await _enqueue(migrated_db, "reminder:1:24h") is True
    assert await _enqueue(migrated_db, "reminder:1:24h") is False

    [job] = await _claim(migrated_db, "w1")
    assert (job.kind, job.payload, job.run_at, job.attempts) == (
        "reminder", {"meeting": 1, "text": "明天开会"}, NOW, 1)


async def test_concurrent_claimers_never_share_a_job(migrated_db: Database) -> None:
    """Two workers claiming at once split the due jobs between them; future jobs wait."""
    for number in range(10):
        await _enqueue(migrated_db, f"due:{number}", due=timedelta(seconds=-number))
    await _enqueue(migrated_db, "later", due=timedelta(hours=1))

    first, second = await asyncio.gather(_claim(migrated_db, "w1", limit=6),
                                         _claim(migrated_db, "w2", limit=6))

    first_keys = {job.dedupe_key for job in first}
    second_keys = {job.dedupe_key for job in second}
    assert not first_keys & second_keys
    assert first_keys | second_keys == {f"due:{number}" for number in range(10)}
    assert await _claim(migrated_db, "w3") == []


async def test_completed_failed_and_abandoned_jobs(migrated_db: Database) -> None:
    """Done jobs stay done, failed ones come back at their retry time, and a claim whose
    worker vanished is handed out again once its lease runs out."""
    for key in ("done", "retry", "give-up", "abandoned"):
        await _enqueue(migrated_db, key)
    jobs = {job.dedupe_key: job for job in await _claim(migrated_db, "w1")}
    async with migrated_db.transaction() as session:
        await complete(session, jobs["done"].id, now=NOW)
        await fail(session, jobs["retry"].id, now=NOW, error="429",
                   retry_at=NOW + timedelta(minutes=1))
        await fail(session, jobs["give-up"].id, now=NOW, error="403", retry_at=None)

    assert await _claim(migrated_db, "w2", at=timedelta(seconds=30)) == []
    retried = await _claim(migrated_db, "w2", at=timedelta(minutes=2))
    assert [(job.dedupe_key, job.attempts) for job in retried] == [("retry", 2)]
    reclaimed = await _claim(migrated_db, "w3", at=timedelta(minutes=11))
    assert [(job.dedupe_key, job.attempts) for job in reclaimed] == [("abandoned", 2)]
