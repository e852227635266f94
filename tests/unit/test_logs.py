"""The log line: one per event, its update's fields on it, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs
from bot.metrics import api_method
from bot.settings import Settings

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO, io.StringIO]]:
    """A logger writing both formats, scrubbing the webhook secret."""
    text, lines = io.StringIO(), io.StringIO()
    handlers = [logs.handler(secrets=[SECRET], stream=text),
                logs.handler(json_lines=True, secrets=[SECRET], stream=lines)]
    log = logging.getLogger("tests.unit.test_logs")
    log.propagate = False
    log.setLevel(logging.INFO)
    for handler in handlers:
        log.addHandler(handler)
    yield log, text, lines
    for handler in handlers:
        log.removeHandler(handler)


def test_secrets_and_token_shapes_are_scrubbed() -> None:
    """Known values, a bot token in a URL, token query values and long path tokens go."""
    redact = logs.Redactor([SECRET])
    assert redact(f"POST https://api.telegram.org/bot{TOKEN}/sendMessage") == (
        "POST https://api.telegram.org/bot<redacted>/sendMessage")
    assert redact(f"secret is {SECRET}.") == "secret is <redacted>."
    assert redact("GET /calendar/Zx81_fj3kLmN0pQrStUvWxYz.ics?token=abc&x=1") == (
        "GET /calendar/<redacted>.ics?token=<redacted>&x=1")
    assert redact("GET /telegram/webhook HTTP/1.1 200") == "GET /telegram/webhook HTTP/1.1 200"
    # Inside a JSON string the value stops before an escaped quote: the line stays valid JSON.
    line = json.dumps({"message": 'GET /feed?key=abc"d'})
    assert json.loads(redact(line)) == {"message": 'GET /feed?key=<redacted>"d'}


def test_votes_lose_their_choice_in_every_line() -> None:
    """A vote button's data keeps its motion and loses its choice, a /vote command its
    arguments, in a repr as in a JSON line (escaped Chinese included, the line still JSON)."""
    redact = logs.Redactor()
    assert redact("Processing update Update(callback_query=CallbackQuery(data='v:12:y'))") == (
        "Processing update Update(callback_query=CallbackQuery(data='v:12:<redacted>'))")
    assert redact("text='/vote M12 yes', entities=(...)") == (
        "text='/vote <redacted>', entities=(...)")
    for said in ["/vote@council_bot 12 赞成", '/vote M3 "no"']:
        line = json.dumps({"message": f"update {said}", "n": 1})
        redacted = json.loads(redact(line))
        assert redacted["message"].startswith("update /vote")
        assert "<redacted>" in redacted["message"]
        assert not any(w in redacted["message"] for w in ("赞成", "no", "12"))
    assert redact("c:12 h:3 /votes are not /vote") == "c:12 h:3 /votes are not /vote <redacted>"


def test_the_database_drivers_statement_lines_are_left_out() -> None:
    """aiosqlite's and SQLAlchemy's debug lines (statements with their parameters, a secret
    ballot's choice among them) never reach the service's log; their warnings do."""
    stream = io.StringIO()
    handler = logs.handler(stream=stream)
    for name, level, message in [
            ("aiosqlite", logging.DEBUG, "executing UPDATE ballot_box ... ('yes', 1)"),
            ("sqlalchemy.engine.Engine", logging.INFO, "INSERT INTO secret_votes ..."),
            ("aiosqlite", logging.WARNING, "a warning stays"),
            ("telegram.ext.Application", logging.DEBUG, "a debug line of PTB stays")]:
        handler.handle(logging.LogRecord(name, level, __file__, 1, message, None, None))
    assert [line.split(": ", 1)[1] for line in stream.getvalue().splitlines()] == [
        "a warning stays", "a debug line of PTB stays"]


def test_a_traceback_stays_on_its_line(
        logger: tuple[logging.Logger, io.StringIO, io.StringIO]) -> None:
    """Text: one line with the fields and the traceback's breaks escaped; JSON: one object."""
    log, text, lines = logger
    try:
        raise ValueError(f"bad {TOKEN}")
    except ValueError:
        log.exception("handling failed", extra={"council": 3, "update_id": 17,
                                                "command": "motion"})
    [line] = text.getvalue().splitlines()
    assert (" ERROR tests.unit.test_logs: handling failed council=3 update_id=17 command=motion"
            " | Traceback") in line
    assert "Traceback (most recent call last):\\n" in line
    assert TOKEN not in line
    [entry] = [json.loads(row) for row in lines.getvalue().splitlines()]
    assert (entry["level"], entry["message"], entry["council"], entry["update_id"],
            entry["command"]) == ("ERROR", "handling failed", 3, 17, "motion")
    assert "ValueError: bad <redacted>" in entry["exc_info"]


def test_every_secret_setting_is_known() -> None:
    """The settings' secrets (token, webhook secret, metrics token) are all scrubbed by value."""
    settings = Settings(bot_token=TOKEN, webhook_secret=SECRET, metrics_token="m" * 20 + "1")
    assert sorted(logs.secrets_of(settings)) == sorted([TOKEN, SECRET, "m" * 20 + "1"])


def test_the_api_method_never_carries_the_token() -> None:
    """Metrics label a call by its method; downloads, whose path holds the token, as file."""
    assert api_method(f"https://api.telegram.org/bot{TOKEN}/sendMessage") == "sendMessage"
    assert api_method(f"https://api.telegram.org/file/bot{TOKEN}/documents/a.pdf") == "file"
