"""Settings: environment, TOML file, and one-line refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ["DATABASE_URL", "DATA_DIR", "BOT_TOKEN", "WEBHOOK_SECRET", "TIMEZONE",
                 "LANGUAGE", "HOLIDAY_COUNTRY", "CONFIG_FILE", "WEB_PORT"]:
        monkeypatch.delenv(f"COUNCIL_{name}", raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_use_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    """With nothing configured, the database is SQLite inside ./council-data."""
    settings = load_settings()
    expected = f"sqlite:///{tmp_path / 'council-data' / 'council.sqlite3'}"
    assert settings.effective_database_url == expected
    assert (settings.timezone, settings.language) == ("Asia/Shanghai", "en")
    assert settings.bot_token is None


def test_environment_beats_the_toml_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The TOML file supplies values; environment variables override them."""
    (tmp_path / "council.toml").write_text('timezone = "Europe/London"\nlanguage = "zh"\n')
    monkeypatch.setenv("COUNCIL_LANGUAGE", "en")
    settings = load_settings()
    assert (settings.timezone, settings.language) == ("Europe/London", "en")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TIMEZONE", "Mars/Olympus", "COUNCIL_TIMEZONE: unknown time zone 'Mars/Olympus'"),
        ("LANGUAGE", "fr", "COUNCIL_LANGUAGE: must be en or zh"),
        ("WEB_PORT", "99999", "COUNCIL_WEB_PORT: Input should be less than or equal to 65535"),
        ("WEBHOOK_SECRET", "changeme", "COUNCIL_WEBHOOK_SECRET: is a placeholder"),
        ("WEBHOOK_SECRET", "short", "COUNCIL_WEBHOOK_SECRET: must be 16-256 characters"),
        ("BOT_TOKEN", "not-a-token", "COUNCIL_BOT_TOKEN: does not look like a Telegram bot token"),
        ("DATABASE_URL", "mysql://x", "COUNCIL_DATABASE_URL: must be a sqlite:/// or postgresql"),
        ("PUBLIC_URL", "council.example.gov", "COUNCIL_PUBLIC_URL: must be an absolute http(s)"),
        ("BOT_API_URL", "ftp://x/bot", "COUNCIL_BOT_API_URL: must be an absolute http(s)"),
    ],
)
def test_bad_values_are_one_clear_line(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                       message: str) -> None:
    """A bad setting is refused with one line naming the variable and the problem."""
    monkeypatch.setenv(f"COUNCIL_{name}", value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_placeholder_token_means_no_bot(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty or placeholder token runs the demo rather than failing against Telegram."""
    monkeypatch.setenv("COUNCIL_BOT_TOKEN", "changeme")
    assert load_settings().bot_token is None


def test_secrets_do_not_leak_into_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    """The token and webhook secret never appear when settings are printed or logged."""
    monkeypatch.setenv("COUNCIL_BOT_TOKEN", "123456:ABCdefGhIJKlmnoPQRstuVWXyz012345")
    monkeypatch.setenv("COUNCIL_WEBHOOK_SECRET", "s3cr3t-value-0123456789")
    text = repr(load_settings())
    assert "ABCdef" not in text
    assert "s3cr3t" not in text
