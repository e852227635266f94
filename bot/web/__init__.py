"""The HTTP face of the service: health and, in webhook mode, Telegram's webhook."""

from bot.web.app import WEBHOOK_PATH, make_web_app
from bot.web.intake import MalformedUpdate, WebhookIntake

__all__ = ["WEBHOOK_PATH", "MalformedUpdate", "WebhookIntake", "make_web_app"]
