"""The one place that reads the environment: a validated `Settings` built once at start-up.

Sources, strongest first: explicit arguments, environment variables (``COUNCIL_*``), a TOML file
(``COUNCIL_CONFIG_FILE``, default ``council.toml`` in the working directory when present).
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

_PLACEHOLDERS = {"", "changeme", "change-me", "secret", "password", "token", "xxx", "todo"}
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")
_BOT_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{20,}")


class SettingsError(Exception):
    """Start-up refused: the message is one line naming the setting and what is wrong."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COUNCIL_", extra="forbid", frozen=True)

    data_dir: Path = Path("council-data")  # the SQLite database and generated files
    database_url: str | None = None  # SQLAlchemy URL; SQLite in data_dir when unset
    bot_token: SecretStr | None = None
    bot_api_url: str = "https://api.telegram.org/bot"
    public_url: str | None = None
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    webhook_secret: SecretStr | None = None
    # Signs the web service's download links to the minutes (bot/web/links.py); unset: no links.
    download_secret: SecretStr | None = None
    metrics_token: SecretStr | None = None  # when set, GET /metrics needs "Bearer <token>"
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timezone: str = "Asia/Shanghai"
    language: str = "en"
    holiday_country: str = "CN"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file()))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    @field_validator("language")
    @classmethod
    def _supported_language(cls, value: str) -> str:
        if value not in ("en", "zh"):
            raise ValueError("must be en or zh")
        return value

    @field_validator("holiday_country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z]{2,3}", value):
            raise ValueError("must be an ISO country code such as CN")
        return value.upper()

    @field_validator("database_url")
    @classmethod
    def _database_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("public_url", "bot_api_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        # Telegram itself needs https for webhooks; plain http serves a local Bot API server.
        if value is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", value):
            raise ValueError("must be an absolute http(s):// URL")
        return value

    @field_validator("bot_token")
    @classmethod
    def _real_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if value.get_secret_value().strip().lower() in _PLACEHOLDERS:
            return None  # an empty token means "no bot": the sandbox demo runs instead
        if not _BOT_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("does not look like a Telegram bot token (digits:letters)")
        return value

    @field_validator("webhook_secret", "download_secret", "metrics_token")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        secret = value.get_secret_value()
        if secret.lower() in _PLACEHOLDERS:
            raise ValueError("is a placeholder; generate one with `openssl rand -hex 32`")
        if not _WEBHOOK_SECRET.fullmatch(secret):
            raise ValueError("must be 16-256 characters of A-Z a-z 0-9 _ -")
        return value

    @property
    def configured_storage(self) -> bool:
        """Whether a database or data directory was set: a real installation, not a first try."""
        return bool({"database_url", "data_dir"} & self.model_fields_set)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'council.sqlite3').resolve()}"


def config_file() -> Path:
    return Path(os.environ.get("COUNCIL_CONFIG_FILE", "council.toml"))


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and files; a bad value raises `SettingsError` in one line."""
    try:
        return Settings(**overrides)
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"{config_file()}: not valid TOML ({err})") from err
    except OSError as err:
        raise SettingsError(f"{config_file()}: cannot be read ({err.strerror})") from err
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "settings"
        message = first["msg"].removeprefix("Value error, ")
        extra = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise SettingsError(f"COUNCIL_{name.upper()}: {message}{extra}") from err
