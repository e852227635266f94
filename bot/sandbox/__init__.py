"""A local, faithful Telegram Bot API server for end-to-end tests, benchmarks and the demo.

The real python-telegram-bot `Application` talks HTTP to `SandboxServer`; tests act as people
through `SandboxServer.control` (see `bot.sandbox.control.Control`).
"""

from bot.sandbox.clock import ManualClock
from bot.sandbox.control import Control
from bot.sandbox.errors import ApiError
from bot.sandbox.ratelimit import RateLimits, Window
from bot.sandbox.server import SandboxServer
from bot.sandbox.state import BotSpec, CallbackAnswer, Chat, DeliveryAttempt, Message, User
from bot.sandbox.webhook import WebhookPolicy

__all__ = [
    "ApiError",
    "BotSpec",
    "CallbackAnswer",
    "Chat",
    "Control",
    "DeliveryAttempt",
    "ManualClock",
    "Message",
    "RateLimits",
    "SandboxServer",
    "User",
    "WebhookPolicy",
    "Window",
]
