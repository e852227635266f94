"""Pure pieces: markup parsing, client entities, image sizes and the flood limiter."""

from __future__ import annotations

import struct

import pytest

from bot.sandbox import ApiError, ManualClock
from bot.sandbox.media import image_size
from bot.sandbox.ratelimit import RateLimiter
from bot.sandbox.text import client_entities, formatted, leading_command


def _spans(entities: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(e["type"], e["offset"], e["length"], *(v for k, v in e.items()
                                                   if k not in ("type", "offset", "length")))
            for e in entities]


def test_html_nesting_pre_language_and_character_references() -> None:
    """Nested tags give nested entities; <pre><code class> is one pre with a language."""
    text, entities = formatted(
        '<b>A &amp; <i>B</i></b>\n<pre><code class="language-python">x = 1</code></pre>',
        "HTML")
    assert text == "A & B\nx = 1"
    assert _spans(entities) == [
        ("bold", 0, 5), ("italic", 4, 1), ("pre", 6, 5, "python")]


@pytest.mark.parametrize(("source", "reason"), [
    ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
    ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
    ('<span class="x">y</span>', 'Unsupported start tag "span"'),
])
def test_html_errors_name_the_problem(source: str, reason: str) -> None:
    """Malformed HTML is refused with Telegram's wording."""
    with pytest.raises(ApiError) as caught:
        formatted(source, "HTML")
    assert caught.value.code == 400
    assert reason in caught.value.description


def test_markdown_v2_styles_links_code_and_escapes() -> None:
    """Every MarkdownV2 style, with escapes producing the literal characters."""
    source = ("*b* _i_ __u__ ~s~ ||sp|| `c\\`` [site](https://x.org/a\\)b) 3\\.5\\!\n"
              "```sql\nSELECT 1;```\n>quoted\n>still")
    text, entities = formatted(source, "MarkdownV2")
    assert text == "b i u s sp c` site 3.5!\nSELECT 1;\nquoted\nstill"
    assert _spans(entities) == [
        ("bold", 0, 1), ("italic", 2, 1), ("underline", 4, 1), ("strikethrough", 6, 1),
        ("spoiler", 8, 2), ("code", 11, 2), ("text_link", 14, 4, "https://x.org/a)b"),
        ("pre", 24, 9, "sql"), ("blockquote", 34, 12)]


@pytest.mark.parametrize(("source", "reason"), [
    ("Meeting at 14.30", "Character '.' is reserved"),
    ("*unclosed", "Can't find end of Bold entity"),
    ("a | b", "Character '|' is reserved"),
])
def test_markdown_v2_errors(source: str, reason: str) -> None:
    """Unescaped reserved characters and unclosed entities are 400s."""
    with pytest.raises(ApiError) as caught:
        formatted(source, "MarkdownV2")
    assert reason in caught.value.description


def test_legacy_markdown_has_no_reserved_characters() -> None:
    """Old Markdown accepts dots and dashes as they are."""
    assert formatted("*Due* 1.5 - _soon_", "Markdown") == (
        "Due 1.5 - soon", [{"type": "bold", "offset": 0, "length": 3},
                           {"type": "italic", "offset": 10, "length": 4}])


def test_client_entities_and_leading_command() -> None:
    """Clients mark commands at word starts and @mentions; paths and emails are not commands."""
    text = "/vote@council_bot M1 see /usr/bin and a@b.org cc @chen_jing"
    assert _spans(client_entities(text)) == [
        ("bot_command", 0, 17), ("mention", 49, 10)]
    assert leading_command(text, client_entities(text)) == ("vote", "council_bot")
    assert leading_command("hi /vote", client_entities("hi /vote")) is None


def test_image_sizes_of_png_gif_and_jpeg() -> None:
    """Width and height come from each format's header; other bytes are not images."""
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 3, 2)
    gif = b"GIF89a" + struct.pack("<HH", 5, 4)
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + b"\x00" * 9
    jpeg = b"\xff\xd8" + app0 + b"\xff\xc0" + struct.pack(">HBHH", 17, 8, 600, 800) + b"\x00" * 8
    assert [image_size(png), image_size(gif), image_size(jpeg), image_size(b"%PDF")] == [
        (3, 2), (5, 4), (800, 600), None]


def test_limiter_windows_slide_with_the_clock() -> None:
    """20 group messages per minute: the 21st waits until the first leaves the window."""
    clock = ManualClock()
    limiter = RateLimiter(clock)
    for _ in range(20):
        limiter.acquire(-1, group=True)
        clock.advance(2)
    with pytest.raises(ApiError) as caught:
        limiter.acquire(-1, group=True)
    assert (caught.value.code, caught.value.parameters) == (429, {"retry_after": 20})
    limiter.acquire(-2, group=True)  # other chats are unaffected
    clock.advance(20)
    limiter.acquire(-1, group=True)


def test_limiter_caps_the_whole_bot_at_thirty_per_second() -> None:
    """Across many private chats, the 31st message within a second is refused."""
    clock = ManualClock()
    limiter = RateLimiter(clock)
    for chat_id in range(1, 31):
        limiter.acquire(chat_id, group=False)
    with pytest.raises(ApiError, match="Too Many Requests: retry after 1"):
        limiter.acquire(31, group=False)
    clock.advance(1)
    limiter.acquire(31, group=False)
