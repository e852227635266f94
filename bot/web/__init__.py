"""The HTTP face of the service: health, metrics and, in webhook mode, Telegram's webhook."""

from bot.web.app import METRICS_PATH, WEBHOOK_PATH, make_web_app
from bot.web.intake import MalformedUpdate, UpdateIntake

__all__ = ["METRICS_PATH", "WEBHOOK_PATH", "MalformedUpdate", "UpdateIntake", "make_web_app"]
