"""The HTTP face of the service: health and, in webhook mode, Telegram's webhook."""

from bot.web.app import WEBHOOK_PATH, make_web_app
from bot.web.intake import MalformedUpdate, UpdateIntake

__all__ = ["WEBHOOK_PATH", "MalformedUpdate", "UpdateIntake", "make_web_app"]
