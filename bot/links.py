"""Public addresses the service hands out: shared by the chat, the CLI and the web routes."""

from __future__ import annotations

FEED_ROUTE = "/calendar/{token}.ics"


def feed_path(token: str) -> str:
    return FEED_ROUTE.replace("{token}", token)


def feed_links(public_url: str, token: str) -> tuple[str, str]:
    """The feed's https address and the same as webcal://, which calendar apps open as a
    subscription."""
    url = public_url.rstrip("/") + feed_path(token)
    return url, "webcal://" + url.split("://", 1)[1]
