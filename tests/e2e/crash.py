"""`cio-council serve` as a real, separate OS process that a test can SIGKILL and start again,
and a sandbox Bot API that can kill it at the worst moment.

The sandbox stays in the test process, so it outlives every crash of the bot: updates people send
while the bot is down wait there, as they would at Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TypeVar

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.sandbox import SandboxServer

T = TypeVar("T")

SERVE = Path(sys.executable).with_name("cio-council")
STOPS_WITHIN = 15.0  # seconds a SIGTERMed service may take to finish what it accepted


class ProcessDied(AssertionError):
    """The service exited while the test was waiting for it."""


class ServeProcess:
    """One `cio-council serve` at a time; its output goes to ``log`` across restarts."""

    def __init__(self, settings: Mapping[str, str], *, cwd: Path, log: Path) -> None:
        # Only our settings: an operator's COUNCIL_* variables must not leak into the test.
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("COUNCIL_")}
        self._env = inherited | dict(settings)
        self._cwd = cwd
        self._log = log
        self._process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def start(self) -> None:
        assert self._process is None or self._process.returncode is not None, "still running"
        with self._log.open("ab") as log:
            log.write(f"--- start {self.starts + 1} ---\n".encode())
            log.flush()
            self._process = await asyncio.create_subprocess_exec(
                str(SERVE), "serve", env=self._env, cwd=self._cwd,
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        self.starts += 1

    def kill_now(self) -> None:
        """SIGKILL at once, from code that cannot await (`kill` then reaps the process)."""
        os.kill(self.pid, signal.SIGKILL)

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as when the machine or the OOM killer takes it."""
        process = self._process
        assert process is not None, "never started"
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # `kill_now` got there first
                process.send_signal(signal.SIGKILL)
        await process.wait()

    async def stop(self) -> int:
        """SIGTERM, as systemd or Docker stop it; returns the exit code."""
        process = self._running()
        process.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(process.wait(), STOPS_WITHIN)

    async def cleanup(self) -> None:
        """Kills the process if a failing test left it running."""
        if self._process is not None:
            await self.kill()

    async def alive_while(self, waiting: Awaitable[T]) -> T:
        """Awaits ``waiting`` unless the service dies first, which fails with its output."""
        process = self._running()
        task = asyncio.ensure_future(waiting)
        exited = asyncio.ensure_future(process.wait())
        try:
            await asyncio.wait({task, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
        if not task.done():
            task.cancel()
            raise ProcessDied(f"cio-council serve exited with {process.returncode}:\n"
                              f"{self.log_tail()}")
        return task.result()

    def log_tail(self, lines: int = 40) -> str:
        text = self._log.read_text(errors="replace") if self._log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _running(self) -> asyncio.subprocess.Process:
        process = self._process
        if process is None or process.returncode is not None:
            raise ProcessDied(f"cio-council serve is not running:\n{self.log_tail()}")
        return process


class CrashingSandbox(SandboxServer):
    """The sandbox Bot API, able to SIGKILL the bot the moment its answer to a person reaches
    the server, before it is recorded: the bot has done the work and committed it, and the
    person never hears so. Killing on a timer hits that window only by luck."""

    ANSWERS = frozenset({"sendmessage", "senddocument", "answercallbackquery"})

    def __init__(self) -> None:
        super().__init__()
        self._kill: Callable[[], None] | None = None
        self._let_through = 0
        self._killed = asyncio.Event()

    def kill_at_next_answer(self, kill: Callable[[], None], *, after: int = 0) -> None:
        """Kills at the next answer, or at the one after ``after`` more have gone through."""
        self._kill = kill
        self._let_through = after
        self._killed.clear()

    async def killed(self, timeout: float) -> None:
        """Waits until the armed kill has happened."""
        await asyncio.wait_for(self._killed.wait(), timeout)

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(self._intercept)
        return app

    @web.middleware
    async def _intercept(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        method = request.match_info.get("method", "").lower()
        if self._kill is not None and method in self.ANSWERS and self._let_through:
            self._let_through -= 1
        elif self._kill is not None and method in self.ANSWERS:
            kill, self._kill = self._kill, None
            kill()
            self._killed.set()
            return web.Response(status=502)  # nobody is listening any more
        return await handler(request)
