"""What keeping a secret ballot unlinked costs a cast: 50 CIOs vote on a named motion and on a
secret one through `usecases.voting.cast_vote`, one after another and then all at once, on
SQLite (and PostgreSQL with COUNCIL_BENCH_DATABASE_URL set to a server it may create a scratch
database on). A secret cast writes a has-voted row, rewrites the motion's three box rows and
scrubs the stored update; a named one writes a ballot row. Prints casts per second and the
secret/named ratio, measured in the same run.

    .venv/bin/python benchmarks/secret_ballot.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from scratch import scratch_postgres  # benchmarks/scratch.py

from meetings import usecases
from meetings.domain.model import Choice, Meeting, MeetingKind, Member, MotionKind, Role
from storage import Database, IncomingUpdate, retrying
from storage.migrate import upgrade

VOTERS = 50
ROUNDS = 3
NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
CHOICES = [Choice.YES, Choice.NO, Choice.ABSTAIN]


async def council(url: str) -> tuple[int, Member, list[Member]]:
    database = Database(url)
    operator = usecases.common.Operator("bench")
    try:
        made = await usecases.councils.create_council(database.uow(), name="Bench", actor=operator,
                                                      now=NOW, chat_id=-1)
        chair = await usecases.councils.add_member(database.uow(), made.id, name="chair",
                                                   role=Role.CHAIR, actor=operator, now=NOW,
                                                   telegram_id=1)
        cios = []
        for number in range(VOTERS):
            code = f"D{number:03d}"
            await usecases.councils.add_department(database.uow(), made.id, code=code, name=code,
                                                   actor=operator, now=NOW)
            cios.append(await usecases.councils.add_member(
                database.uow(), made.id, name=code, role=Role.CIO, actor=operator, now=NOW,
                telegram_id=100 + number, department=code))
        async with database.uow() as uow:
            meeting = await uow.meetings.add(Meeting(made.id, MeetingKind.EXTRAORDINARY,
                                                     NOW - timedelta(minutes=5), 600))
            await uow.commit()
        await usecases.meeting.start_meeting(database.uow(), made.id, actor=operator, now=NOW,
                                             meeting_id=meeting.id)
        for cio in cios:
            await usecases.meeting.mark_here(database.uow(), made.id, actor=cio, now=NOW)
        return made.id, chair, cios
    finally:
        await database.dispose()


async def one_round(url: str, council_id: int, chair: Member, cios: list[Member], kind: MotionKind,
                    *, at_once: bool, first_update: int) -> float:
    """Seconds for every CIO to vote once on a new motion of ``kind``."""
    database = Database(url)
    try:
        opened = await usecases.voting.open_motion(database.uow(), council_id, kind=kind,
                                                   text="bench", actor=chair, now=NOW)
        motion_id = opened.count.motion.id

        async def vote(index: int, cio: Member) -> None:
            update = IncomingUpdate("bench", first_update + index, NOW)
            await retrying(lambda: database.uow(update=update), lambda uow: (
                usecases.voting.cast_vote(uow, council_id, motion_id,
                                          choice=CHOICES[index % 3], actor=cio, now=NOW,
                                          update_id=update.update_id)))

        began = time.perf_counter()
        if at_once:
            await asyncio.gather(*(vote(i, cio) for i, cio in enumerate(cios)))
        else:
            for index, cio in enumerate(cios):
                await vote(index, cio)
        took = time.perf_counter() - began
        await usecases.voting.close_motion(database.uow(), council_id, motion_id, actor=chair,
                                           now=NOW)
        return took
    finally:
        await database.dispose()


async def measure(label: str, url: str) -> None:
    upgrade(url)
    council_id, chair, cios = await council(url)
    update = 1_000
    for at_once in (False, True):
        seconds: dict[MotionKind, list[float]] = {MotionKind.NAMED: [], MotionKind.SECRET: []}
        for _ in range(ROUNDS):
            for kind in (MotionKind.NAMED, MotionKind.SECRET):
                seconds[kind].append(await one_round(url, council_id, chair, cios, kind,
                                                     at_once=at_once, first_update=update))
                update += VOTERS
        named, secret = (statistics.median(seconds[k])
                         for k in (MotionKind.NAMED, MotionKind.SECRET))
        how = "all at once" if at_once else "one after another"
        print(f"{label}, {VOTERS} casts {how}: named {VOTERS / named:.0f}/s, secret "
              f"{VOTERS / secret:.0f}/s; secret takes {secret / named:.2f}x the named time "
              f"(median of {ROUNDS})")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(measure("SQLite", f"sqlite:///{folder}/bench.db"))
    server = os.environ.get("COUNCIL_BENCH_DATABASE_URL")
    if server:
        with scratch_postgres(server, prefix="secret_ballot") as url:
            asyncio.run(measure("PostgreSQL", url))


if __name__ == "__main__":
    main()
