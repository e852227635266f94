"""The service's log: one line per event, for a person (the default) or for a log shipper
(``COUNCIL_LOG_FORMAT=json``), with the council, update id and command of the update being
handled as fields, and never a secret.

JSON lines come from python-json-logger rather than structlog: every module here logs through the
standard library (``log = logging.getLogger(__name__)``), and so do PTB, httpx, aiohttp and
SQLAlchemy. python-json-logger is only a `logging.Formatter`, so all of them come out in the same
shape without changing a call site; structlog would have to be wrapped around the standard
library to reach the libraries' lines anyway.

Secrets are scrubbed from the finished line, whatever logged it: the values named by `Settings`
(bot token, webhook secret, metrics token) and anything else shaped like a secret — a bot token
(httpx and PTB put it in every Bot API URL), a value of a ``token``/``secret``/``key`` query
parameter, and a long random path segment such as a calendar feed's or a download link's token.

Votes are taken out the same way, for a secret ballot's sake: PTB logs every update it processes
at DEBUG, so a vote button's callback data (``v:12:y``) loses its choice and a ``/vote``
command its arguments, whatever the motion (a line cannot tell a secret motion from a named
one, and a named vote is public anyway). The database drivers' own DEBUG lines are left out
altogether: aiosqlite logs every statement with its parameters, and a cast's parameters are the
choice and the department, side by side.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter
from telegram import Update
from telegram.ext import Application, TypeHandler

# bot.telegram.app binds the council through this module, so the types are spelled out here.
AnyApplication = Application[Any, Any, Any, Any, Any, Any]

log = logging.getLogger(__name__)

REDACTED = "<redacted>"
FIELDS = ("council", "update_id", "command")
# Outside bot.metrics' groups, so its timing is inside this one's.
BOUND_GROUP = -1001
UNBOUND_GROUP = 1001

_council: ContextVar[int | None] = ContextVar("log_council", default=None)
_update_id: ContextVar[int | None] = ContextVar("log_update_id", default=None)
_command: ContextVar[str | None] = ContextVar("log_command", default=None)
_started: ContextVar[float] = ContextVar("log_started", default=0.0)

_SHAPES = (
    # A bot token, alone or in a Bot API URL (``/bot123:AA.../sendMessage``).
    (re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}"), REDACTED),
    # ?token=..., &secret=..., api_key=...: the value goes.
    (re.compile(r"(?i)([?&][\w.-]*(?:token|secret|key|signature|sig)[\w.-]*=)[^&\s\"'\\]+"),
     rf"\1{REDACTED}"),
    # A path segment of 24+ URL-safe characters with a digit in it: a capability token.
    (re.compile(r"(?<=/)(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]{24,}"), REDACTED),
    # A vote button's callback data: the motion stays, the choice goes.
    (re.compile(r"\bv:(\d{1,9}):[A-Za-z]+"), rf"v:\1:{REDACTED}"),
    # A /vote command (in an update's text, or a repr of one): everything after the command.
    # Up to a quote or a line break; in a JSON line over its escapes (\uXXXX, \", \\) up to
    # the string's closing quote, so the line stays valid JSON.
    (re.compile(r"(/vote(?:@\w+)?)\b(?:[^'\"\n\\]|\\u[0-9a-fA-F]{4}|\\[\"\\])*"),
     rf"\1 {REDACTED}"),
)
_COMMAND = re.compile(r"/([A-Za-z0-9_]{1,32})(?:@\w+)?(?:\s|$)")


class Redactor:
    """Takes secrets out of text: the known values first, then anything shaped like one."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Longest first, so a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for shape, replacement in _SHAPES:
            text = shape.sub(replacement, text)
        return text


class _ContextFields(logging.Filter):
    """Puts the update being handled on every record logged while it is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in (("council", _council), ("update_id", _update_id),
                               ("command", _command)):
            if not hasattr(record, name):
                setattr(record, name, variable.get())
        return True


# Loggers whose lines below WARNING carry SQL parameters (a secret ballot's choice among them).
_SQL_LOGGERS = ("aiosqlite", "sqlalchemy.engine", "asyncpg")


class _NoSqlParameters(logging.Filter):
    """Drops the database drivers' debug and info lines (statements with their parameters)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not any(
            record.name == name or record.name.startswith(f"{name}.") for name in _SQL_LOGGERS)


class TextFormatter(logging.Formatter):
    """``2026-12-02 05:00:00,123 INFO bot.web.app: message council=3 update_id=17 command=next``;
    a traceback stays on the line, its line breaks written as ``\\n``."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)  # the traceback, if any, follows on new lines
        fields = " ".join(f"{name}={value}" for name in FIELDS
                          if (value := getattr(record, name, None)) is not None)
        head, _, trace = line.partition("\n")
        if fields:
            head = f"{head} {fields}"
        if trace:
            head = f"{head} | " + trace.replace("\n", "\\n")
        return self._redact(head)


class JsonLineFormatter(JsonFormatter):
    """One JSON object a line: time, level, logger, message, the fields, and exc_info."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(["asctime", "levelname", "name", "message"],
                         rename_fields={"asctime": "time", "levelname": "level",
                                        "name": "logger"})
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def handler(*, json_lines: bool = False, secrets: Iterable[str] = (),
            stream: TextIO | None = None) -> logging.Handler:
    """A handler writing to ``stream`` (stderr) in the chosen format, without secrets."""
    redact = Redactor(secrets)
    stream_handler = logging.StreamHandler(stream or sys.stderr)
    stream_handler.setFormatter(
        JsonLineFormatter(redact) if json_lines else TextFormatter(redact))
    stream_handler.addFilter(_ContextFields())
    stream_handler.addFilter(_NoSqlParameters())
    return stream_handler


def configure(*, json_lines: bool = False, level: str = "INFO",
              secrets: Iterable[str] = ()) -> None:
    """Sends every logger's records to stderr in the chosen format (`serve`)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(json_lines=json_lines, secrets=secrets))
    root.setLevel(level)
    # A line per Bot API call is noise at INFO (and is scrubbed anyway); warnings still show.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def bind_council(council_id: int | None) -> None:
    """Names the council of the update being handled, once the handler knows it."""
    _council.set(council_id)


def instrument(application: AnyApplication) -> None:
    """Binds each update's id and command while the application handles it, and logs one line
    when it is done."""
    application.add_handler(TypeHandler(Update, _bind), group=BOUND_GROUP)
    application.add_handler(TypeHandler(Update, _unbind), group=UNBOUND_GROUP)


def command_of(update: Update) -> str | None:
    """``next`` for "/next@bot ...", ``button`` for a press; never more than 32 characters."""
    if update.callback_query is not None:
        return "button"
    message = update.effective_message
    found = _COMMAND.match(message.text or "") if message is not None else None
    return found.group(1).lower() if found else None


async def _bind(update: Update, _context: object) -> None:
    _update_id.set(update.update_id)
    _command.set(command_of(update))
    _council.set(None)
    _started.set(time.perf_counter())


async def _unbind(update: Update, _context: object) -> None:
    log.info("update %s handled in %.0f ms", update.update_id,
             (time.perf_counter() - _started.get()) * 1000)
    _update_id.set(None)
    _command.set(None)
    _council.set(None)


def secrets_of(settings: Any) -> list[str]:
    """The secret values in ``settings`` (every `SecretStr` field)."""
    found = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            found.append(str(value.get_secret_value()))
    return found
