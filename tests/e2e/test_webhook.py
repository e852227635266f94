"""Webhook mode end to end: the sandbox pushes updates over HTTP to our aiohttp route, which stores
each one before answering and hands it to the real PTB application; redeliveries change nothing
and an update accepted but never handled is replayed after a restart."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import col, select
from telegram import Update

from bot.clock import FixedClock
from bot.sandbox import Chat, SandboxServer, User, WebhookPolicy
from bot.sandbox.driver import ChatDriver
from bot.telegram.app import AnyApplication, build_application
from bot.telegram.context import BotEnv, Defaults
from bot.web import WEBHOOK_PATH, UpdateIntake, make_web_app
from storage import Database, inbox
from storage.tables import UpdateInboxRow
from tests.snapshot import snapshot

SECRET = "webhook-secret-for-the-tests_0123"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Service:
    """Our side: the web app on 127.0.0.1 and the PTB application behind it."""

    url: str
    database: Database
    application: AnyApplication

    async def post(self, body: str | bytes, *, secret: str | None = SECRET,
                   path: str = WEBHOOK_PATH) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with aiohttp.ClientSession() as session, session.post(
                self.url + path, data=body, headers=headers) as response:
            return response.status, await response.text()

    async def inbox(self) -> list[UpdateInboxRow]:
        async with self.database.transaction() as session:
            rows = await session.exec(select(UpdateInboxRow)
                                      .order_by(col(UpdateInboxRow.update_id)))
            return list(rows)


@asynccontextmanager
async def webhook_service(sandbox: SandboxServer, database_url: str, clock: FixedClock, *,
                          handling: bool = True, middlewares: Sequence[Any] = (),
                          ) -> AsyncIterator[Service]:
    """Runs our service in webhook mode; ``handling=False`` accepts updates but never handles
    them, like an instance that dies right after answering Telegram."""
    database = Database(database_url)
    application = build_application(
        sandbox.token, BotEnv(database=database, clock=clock, defaults=Defaults()),
        base_url=sandbox.base_url, base_file_url=sandbox.base_file_url, durable_intake=True,
        rate_limit=False)
    intake = UpdateIntake(database, application, clock, secret=SECRET)
    intake.register()
    app = make_web_app(database, intake=intake)
    app.middlewares.extend(middlewares)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site.port}"
    stop = asyncio.Event()
    try:
        await application.initialize()
        if handling:
            await application.start()
        await application.bot.set_webhook(url + WEBHOOK_PATH, secret_token=SECRET,
                                          allowed_updates=Update.ALL_TYPES)
        sweep = asyncio.create_task(intake.sweep(stop))
        try:
            yield Service(url, database, application)
        finally:
            stop.set()
            await sweep
            if handling:
                await application.stop()
            await application.shutdown()
    finally:
        await runner.cleanup()
        await database.dispose()


@pytest.fixture
async def sandbox(clock: FixedClock) -> AsyncIterator[SandboxServer]:
    # Quick retries: a failed push is tried again at once, as Telegram would, only sooner.
    policy = WebhookPolicy(first_delay=0.01, backoff=1.0)
    async with SandboxServer(clock=clock.timestamp, webhook_policy=policy) as server:
        yield server


@dataclass
class Scene:
    chair: User
    group: Chat


def scene(sandbox: SandboxServer) -> Scene:
    control = sandbox.control
    chair = control.create_user("Wang Lei", username="wang_lei")
    member = control.create_user("Li Na", username="li_na")
    group = control.create_group("CIO Council", creator=chair.id, admins=[chair.id],
                                 members=[member.id])
    return Scene(chair, group)


def texts(sandbox: SandboxServer, chat_id: int) -> list[str]:
    return [m.text or "" for m in sandbox.control.bot_messages(chat_id)]


async def command(sandbox: SandboxServer, user: User, chat: Chat, text: str) -> str:
    return await ChatDriver(sandbox.control, sandbox.bot.username, chat.id).command(user, text)


async def settle(sandbox: SandboxServer, user: User, chat: Chat) -> None:
    """Sends /help and waits for its answer: the bot handles updates in order, so everything
    queued before it has been handled then."""
    control = sandbox.control
    sent = control.send_text(user.id, chat.id, f"/help@{sandbox.bot.username}")
    await control.wait_until(lambda: any(
        m.message_id > sent.message_id and (m.text or "").startswith("Commands you can use")
        for m in control.bot_messages(chat.id)))


def last_update_id(sandbox: SandboxServer) -> int:
    return max(attempt.update_id for attempt in sandbox.control.webhook_deliveries())


async def unhandled(service: Service) -> set[int]:
    """Update ids in the inbox not marked handled; after `settle` that may only be the /help,
    whose reply is out while its last handler group is still finishing."""
    return {row.update_id for row in await service.inbox() if row.handled_at is None}


async def departments(database: Database, chat_id: int) -> list[str]:
    async with database.uow() as uow:
        council = await uow.councils.by_chat(chat_id)
        assert council is not None
        return [department.code for department in await uow.departments.list(council.id)]


async def test_requests_without_the_right_secret_are_refused(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock,
        caplog: pytest.LogCaptureFixture) -> None:
    """A missing or wrong secret token gets a bare 403, a warning in our log, and stores nothing."""
    body = json.dumps({"update_id": 5, "message": {
        "message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "/start"}})
    async with webhook_service(sandbox, migrated_url, clock) as service:
        with caplog.at_level(logging.WARNING, logger="bot.web.app"):
            assert await service.post(body, secret=None) == (403, "")
            assert await service.post(body, secret=SECRET[:-1] + "X") == (403, "")
            assert await service.post(body, secret="é" * 40) == (403, "")
        assert await service.inbox() == []
    refusals = [r for r in caplog.records if "without the right secret token" in r.message]
    assert [r.levelno for r in refusals] == [logging.WARNING] * 3
    assert SECRET not in caplog.text


async def test_malformed_bodies_are_refused(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock) -> None:
    """Not JSON, not an object, no integer update_id, or not an Update: 400, nothing stored."""
    async with webhook_service(sandbox, migrated_url, clock) as service:
        for body in [b"{not json", b"\xff\xfe", b"[1, 2]", b'"text"', b"{}",
                     b'{"update_id": "7"}', b'{"update_id": true}', b'{"update_id": -1}',
                     b'{"update_id": 1e3}', b'{"update_id": 7, "message": {"text": "no chat"}}']:
            assert await service.post(body) == (400, ""), body
        assert await service.inbox() == []


async def test_health_reports_the_mode_and_the_database(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock, tmp_path: Path) -> None:
    """/healthz is 200 with the mode; 503 when the database cannot answer a query."""
    async with webhook_service(sandbox, migrated_url, clock) as service, \
            aiohttp.ClientSession() as client, client.get(service.url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok",
                                          "mode": "webhook"}

    broken = Database(f"sqlite:///{tmp_path}")  # a directory: no database file can open there
    runner = web.AppRunner(make_web_app(broken))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        async with aiohttp.ClientSession() as client, client.get(
                f"http://127.0.0.1:{site.port}/healthz") as response:
            assert response.status == 503
            assert await response.json() == {"status": "unavailable",
                                              "database": "unavailable", "mode": "polling"}
    finally:
        await runner.cleanup()
        await broken.dispose()


async def test_every_update_delivered_twice_changes_state_once(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock) -> None:
    """Each push is stored and handled, but its 200 is lost, so the sandbox delivers it again;
    posting the same updates once more, and a new one twice at once, changes nothing more."""
    first_answers: set[int] = set()
    losing = [True]

    @web.middleware
    async def lose_the_first_answer(request: web.Request, handler: Handler,
                                    ) -> web.StreamResponse:
        response = await handler(request)
        update_id = json.loads(await request.read())["update_id"]
        if losing[0] and response.status == 200 and update_id not in first_answers:
            first_answers.add(update_id)
            return web.Response(status=500)  # stored and committed, but Telegram hears "failed"
        return response

    control = sandbox.control
    people = scene(sandbox)
    async with webhook_service(sandbox, migrated_url, clock,
                               middlewares=[lose_the_first_answer]) as service:
        await control.wait_until(lambda: len(texts(sandbox, people.group.id)) == 1)  # greeting
        assert (await command(sandbox, people.chair, people.group, "/setup Riverside Council")
                ).startswith("This group is now the council Riverside Council.")
        assert (await command(sandbox, people.chair, people.group, "/department EPB Ecology")
                ).startswith("Department EPB added: Ecology.")
        pushed = {row.update_id for row in await service.inbox()}
        await control.wait_until(lambda: sorted(
            (a.update_id, a.status) for a in control.webhook_deliveries()) == sorted(
                [(u, 500) for u in pushed] + [(u, 200) for u in pushed]))
        assert first_answers == pushed
        losing[0] = False

        before = snapshot(migrated_url)
        stored = await service.inbox()
        for row in stored:
            assert await service.post(row.payload) == (200, "")
            assert await service.post(row.payload) == (200, "")
        await settle(sandbox, people.chair, people.group)
        assert snapshot(migrated_url) == before
        replies = texts(sandbox, people.group.id)
        assert len(replies) == 4  # the greeting, /setup, /department and /help, once each

        department = next(row for row in stored if "/department@" in row.payload)
        new = json.loads(department.payload)
        new["update_id"] = max(pushed) + 1000
        new["message"]["text"] = new["message"]["text"].replace("EPB Ecology", "MSB Market")
        both = await asyncio.gather(*(service.post(json.dumps(new)) for _ in range(2)))
        assert both == [(200, ""), (200, "")]
        await settle(sandbox, people.chair, people.group)
        assert await departments(service.database, people.group.id) == ["EPB", "MSB"]
        assert texts(sandbox, people.group.id)[len(replies):-1] == [
            "Department MSB added: Market. Its CIO can now send /join MSB."]
        assert await unhandled(service) <= {last_update_id(sandbox)}


async def test_an_update_accepted_but_never_handled_is_replayed_after_a_restart(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock) -> None:
    """The instance answers 200 and dies before handling; the next one handles the update."""
    control = sandbox.control
    people = scene(sandbox)
    async with webhook_service(sandbox, migrated_url, clock, handling=False) as dying:
        sent = control.send_text(people.chair.id, people.group.id,
                                 f"/setup@{sandbox.bot.username} Riverside Council")
        await control.wait_until(lambda: any(
            a.ok for a in control.webhook_deliveries() if a.update_id == max(
                (a.update_id for a in control.webhook_deliveries()), default=-1)))
        await control.wait_until(lambda: control.pending_updates() == [])
        accepted = await dying.inbox()
        assert len(accepted) == 3  # joined the group, the group was created, /setup
        assert all(row.handled_at is None for row in accepted)
    assert texts(sandbox, people.group.id) == []

    clock.advance(timedelta(minutes=2))  # the dead instance's updates are stale now
    async with webhook_service(sandbox, migrated_url, clock) as restarted:
        await control.wait_until(lambda: len(texts(sandbox, people.group.id)) == 2)
        greeting, setup = texts(sandbox, people.group.id)
        assert greeting.startswith("Hello!")
        assert setup.startswith("This group is now the council Riverside Council.")
        reply = await control.next_bot_message(people.group.id, after=sent)
        assert reply.text == greeting
        await settle(sandbox, people.chair, people.group)
        assert await unhandled(restarted) <= {last_update_id(sandbox)}
        assert await departments(restarted.database, people.group.id) == []


async def test_an_update_stored_by_a_commit_whose_answer_was_lost_is_handled_on_redelivery(
        sandbox: SandboxServer, migrated_url: str, clock: FixedClock) -> None:
    """The first push of /setup is committed to the inbox but the intake never hears so (the
    database died right after the commit) and answers 503; Telegram pushes it again, and that
    redelivery hands it over at once instead of leaving it to a sweep minutes later."""
    control = sandbox.control
    people = scene(sandbox)
    lost: list[int] = []

    @web.middleware
    async def commit_but_lose_the_answer(request: web.Request, handler: Handler,
                                         ) -> web.StreamResponse:
        payload = (await request.read()).decode()
        update_id = json.loads(payload)["update_id"]
        if "/setup@" not in payload or lost:
            return await handler(request)
        lost.append(update_id)
        async with service.database.transaction() as session:
            assert await inbox.receive(session, bot=str(service.application.bot.id),
                                       update_id=update_id,
                                       payload=payload, now=clock.now())
        return web.Response(status=503)

    async with webhook_service(sandbox, migrated_url, clock,
                               middlewares=[commit_but_lose_the_answer]) as service:
        await control.wait_until(lambda: len(texts(sandbox, people.group.id)) == 1)  # greeting
        reply = await command(sandbox, people.chair, people.group, "/setup Riverside Council")
        assert reply.startswith("This group is now the council Riverside Council.")
        assert [(a.update_id, a.status) for a in control.webhook_deliveries()
                if a.update_id in lost] == [(lost[0], 503), (lost[0], 200)]
        await settle(sandbox, people.chair, people.group)
        assert await unhandled(service) <= {last_update_id(sandbox)}
