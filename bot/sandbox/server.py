"""The sandbox's HTTP face: the Bot API, file downloads and the control API on one aiohttp app.

    async with SandboxServer() as sandbox:
        bot = telegram.Bot(sandbox.token, base_url=sandbox.base_url,
                           base_file_url=sandbox.base_file_url)
        alice = sandbox.control.create_user("Alice")
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from types import TracebackType

from aiohttp import web

from bot.sandbox import wire
from bot.sandbox.api import METHODS, Call, Described
from bot.sandbox.changes import Changes
from bot.sandbox.control import Control, http_routes
from bot.sandbox.errors import ApiError
from bot.sandbox.ratelimit import Clock, RateLimits
from bot.sandbox.state import BotAccount, BotSpec
from bot.sandbox.webhook import WebhookPolicy, WebhookPusher
from bot.sandbox.world import World


class SandboxServer:
    def __init__(self, *, bots: Sequence[BotSpec] = (BotSpec(),), clock: Clock = time.time,
                 host: str = "127.0.0.1", port: int = 0, rate_limits: bool = False,
                 limits: RateLimits | None = None,
                 webhook_policy: WebhookPolicy | None = None) -> None:
        """`clock` dates messages and drives the answer window and the flood limits, which
        apply only with `rate_limits` (or `control.set_rate_limits(True)`)."""
        self.world = World(clock, limits)
        for spec in bots:
            self.world.add_bot(spec)
        self.world.rate_limits = rate_limits
        self.changes = Changes()
        self.world.listeners.append(self.changes.notify)
        self.control = Control(self.world, self.changes)
        self.host = host
        self.port = port
        self._closing = False
        self._webhooks = WebhookPusher(self.world, self.changes,
                                       webhook_policy or WebhookPolicy(), lambda: self._closing)
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For `telegram.Bot(base_url=...)` and `ApplicationBuilder().base_url(...)`."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def bot(self) -> BotAccount:
        """The first registered bot."""
        return self.world.bot_named()

    @property
    def token(self) -> str:
        return self.bot.token

    def app(self) -> web.Application:
        app = web.Application(client_max_size=wire.MAX_UPLOAD_BYTES + 1024 * 1024)
        app.add_routes([
            web.route("*", "/bot{token}/{method}", self._bot_api),
            web.get("/file/bot{token}/{path:.+}", self._download),
            *http_routes(self.control),
        ])
        return app

    async def start(self) -> None:
        await self._webhooks.start()
        # Cancelling handlers on disconnect frees long polls the client has given up on.
        self._runner = web.AppRunner(self.app(), handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site.port

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self.world.changed()  # long polls answer now instead of at their timeout
        await self._webhooks.stop()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.stop()

    async def _bot_api(self, request: web.Request) -> web.Response:
        try:
            bot = self.world.bot_by_token(request.match_info["token"])
            handler = METHODS.get(request.match_info["method"].lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            params = await wire.read_params(request)
            result = await handler(Call(self.world, bot, params, self.changes,
                                        self._webhooks.webhook_changed, lambda: self._closing))
        except ApiError as err:
            return wire.error(err)
        if isinstance(result, Described):
            return wire.ok(result.result, result.description)
        return wire.ok(result)

    async def _download(self, request: web.Request) -> web.Response:
        try:
            self.world.bot_by_token(request.match_info["token"])
        except ApiError as err:
            return wire.error(err)
        path = request.match_info["path"]
        stored = next((f for f in self.world.files.values() if f.path == path), None)
        if stored is None:
            return wire.error(ApiError(404, "Not Found"))
        return web.Response(body=stored.data,
                            content_type=stored.mime_type or "application/octet-stream")
