"""Message text as Telegram sees it: UTF-16 offsets, typed entities, and HTML/Markdown parsing.

Bots send markup and get back plain `text` + `entities`; people's clients attach `bot_command`
and `mention` entities themselves. Offsets and lengths count UTF-16 code units, so an emoji
before a command shifts it by two.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

from bot.sandbox.errors import ApiError, bad_request
from bot.sandbox.state import JSON

MAX_TEXT_LENGTH = 4096  # counted in code points, not UTF-16 units (measured against Telegram)
MAX_CAPTION_LENGTH = 1024

_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/])")
_USER_LINK = re.compile(r"tg://user\?id=(\d+)")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}(?!\w)")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def utf16_slice(text: str, offset: int, length: int) -> str:
    units = text.encode("utf-16-le")
    return units[2 * offset : 2 * (offset + length)].decode("utf-16-le")


def client_entities(text: str) -> list[JSON]:
    """The entities a Telegram client attaches to what a person types: commands and mentions."""
    found = [
        {"type": kind, "offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group())}
        for kind, pattern in (("bot_command", _COMMAND), ("mention", _MENTION))
        for m in pattern.finditer(text)
    ]
    return sorted(found, key=lambda e: e["offset"])


def leading_command(text: str | None, entities: list[JSON]) -> tuple[str, str | None] | None:
    """`("start", "council_bot")` for "/start@council_bot x", `("start", None)` for "/start"."""
    if not text:
        return None
    for entity in entities:
        if entity["type"] == "bot_command" and entity["offset"] == 0:
            command, _, username = utf16_slice(text, 0, entity["length"])[1:].partition("@")
            return command, username or None
    return None


def formatted(text: str, parse_mode: str | None,
              user: Callable[[int], JSON | None] = lambda _: None) -> tuple[str, list[JSON]]:
    """Plain text and entities for `text` written in `parse_mode`, or Telegram's parse error.

    Links to "tg://user?id=N" become text_mention entities carrying the user `user(N)` finds.
    """
    mode = (parse_mode or "").lower()
    if not mode:
        return text, []
    if mode == "html":
        plain, entities = _parse_html(text)
    elif mode in ("markdownv2", "markdown"):
        plain, entities = _MarkdownParser(text, legacy=mode == "markdown").parse()
    else:
        raise bad_request("unsupported parse_mode")
    return plain, [_mention(entity, user) for entity in entities]


def _mention(entity: JSON, user: Callable[[int], JSON | None]) -> JSON:
    found = _USER_LINK.fullmatch(entity.get("url", ""))
    mentioned = user(int(found.group(1))) if found else None
    if mentioned is None:
        return entity
    return {"type": "text_mention", "offset": entity["offset"], "length": entity["length"],
            "user": mentioned}


def _cant_parse(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode())


@dataclass
class _Builder:
    """Plain text plus entities, with the running position kept in UTF-16 units."""

    parts: list[str] = field(default_factory=list)
    pos: int = 0
    entities: list[JSON] = field(default_factory=list)

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.pos += utf16_len(chunk)

    def entity(self, kind: str, start: int, *, end: int | None = None,
               extra: JSON | None = None) -> None:
        """An entity from `start` to `end` (default: here); like Telegram, drop empty ones."""
        length = (self.pos if end is None else end) - start
        if length > 0:
            self.entities.append(
                {"type": kind, "offset": start, "length": length, **(extra or {})})

    def result(self) -> tuple[str, list[JSON]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


# --- HTML ----------------------------------------------------------------------------------

_HTML_KINDS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler", "code": "code", "pre": "pre", "a": "text_link",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}


@dataclass
class _OpenTag:
    tag: str
    start: int
    kind: str | None  # None: the tag only decorates its parent (<code class=...> inside <pre>)
    extra: JSON


class _HtmlParser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.out = _Builder()
        self.open: list[_OpenTag] = []

    def _where(self) -> int:
        line, column = self.getpos()
        lines = self.source.splitlines(keepends=True)
        return _byte_offset(self.source, sum(map(len, lines[: line - 1])) + column)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        kind = _HTML_KINDS.get(tag)
        if kind is None or (tag == "span" and attributes.get("class") != "tg-spoiler"):
            raise _cant_parse(f'Unsupported start tag "{tag}" at byte offset {self._where()}')
        extra: JSON = {}
        if tag == "a":
            extra["url"] = attributes.get("href", "")
        elif tag == "tg-emoji":
            extra["custom_emoji_id"] = attributes.get("emoji-id", "")
        elif tag == "blockquote" and "expandable" in attributes:
            kind = "expandable_blockquote"
        elif tag == "code" and self.open and self.open[-1].tag == "pre":
            language = attributes.get("class", "").removeprefix("language-")
            if language:
                self.open[-1].extra["language"] = language
            kind = None  # <pre><code class="language-x"> is one pre entity with a language
        self.open.append(_OpenTag(tag, self.out.pos, kind, extra))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise _cant_parse(f'Unsupported start tag "{tag}" at byte offset {self._where()}')

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1].tag != tag:
            expected = f'"</{self.open[-1].tag}>"' if self.open else "no end tag"
            raise _cant_parse(
                f'Unmatched end tag at byte offset {self._where()}, expected {expected}, '
                f'found "</{tag}>"'
            )
        closing = self.open.pop()
        if closing.kind is not None:
            self.out.entity(closing.kind, closing.start, extra=closing.extra)

    def handle_data(self, data: str) -> None:
        self.out.add(data)


def _parse_html(source: str) -> tuple[str, list[JSON]]:
    parser = _HtmlParser(source)
    parser.feed(source)
    parser.close()
    if parser.open:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{parser.open[0].tag}"')
    return parser.out.result()


# --- MarkdownV2 and legacy Markdown ---------------------------------------------------------

_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MARKERS = {"||": "spoiler", "__": "underline", "*": "bold", "_": "italic", "~": "strikethrough"}
_LEGACY_MARKERS = {"*": "bold", "_": "italic"}


class _MarkdownParser:
    """MarkdownV2 (reserved characters must be escaped) or, with `legacy`, the old Markdown."""

    def __init__(self, source: str, *, legacy: bool) -> None:
        self.source = source
        self.legacy = legacy
        self.markers = _LEGACY_MARKERS if legacy else _MARKERS
        self.out = _Builder()
        self.open: list[tuple[str, int, int]] = []  # marker, entity start, source index
        self.i = 0
        self.quote_start: int | None = None

    def parse(self) -> tuple[str, list[JSON]]:
        while self.i < len(self.source):
            self._step()
        self._end_quote()
        if self.open:
            marker, _, index = self.open[-1]
            name = "the entity" if self.legacy else f"{self._kind(marker)} entity"
            at = _byte_offset(self.source, index)
            raise _cant_parse(f"Can't find end of {name} starting at byte offset {at}")
        return self.out.result()

    def _kind(self, marker: str) -> str:
        return "TextUrl" if marker == "[" else self.markers[marker].title()

    def _step(self) -> None:
        source, i = self.source, self.i
        char = source[i]
        if not self.legacy and (i == 0 or source[i - 1] == "\n"):
            if char == ">":
                if self.quote_start is None:
                    self.quote_start = self.out.pos
                self.i += 1
                return
            self._end_quote()
        if char == "\\" and i + 1 < len(source):
            self.out.add(source[i + 1])
            self.i += 2
            return
        if char == "`":
            self._code()
            return
        if char == "[":
            self.open.append(("[", self.out.pos, i))
            self.i += 1
            return
        if char == "]" and any(marker == "[" for marker, _, _ in self.open):
            self._link()
            return
        marker = next((m for m in self.markers if source.startswith(m, i)), None)
        if marker is not None:
            self._toggle(marker)
            return
        if char in _RESERVED and not self.legacy:
            raise _cant_parse(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        self.out.add(char)
        self.i += 1

    def _end_quote(self) -> None:
        if self.quote_start is not None:
            # The quote ends before the line break that ended its last line.
            line_break = 1 if self.out.parts and self.out.parts[-1] == "\n" else 0
            self.out.entity(
                "blockquote", self.quote_start, end=self.out.pos - line_break)
            self.quote_start = None

    def _toggle(self, marker: str) -> None:
        self.i += len(marker)
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth][0] == marker:
                _, start, _ = self.open.pop(depth)
                self.out.entity(self.markers[marker], start)
                return
        self.open.append((marker, self.out.pos, self.i - len(marker)))

    def _until(self, closing: str, start: int) -> tuple[str, int]:
        """Raw text up to the unescaped `closing`, and the index just after it."""
        chunk: list[str] = []
        i = start
        while i < len(self.source):
            if self.source[i] == "\\" and i + 1 < len(self.source) and not self.legacy:
                chunk.append(self.source[i + 1])
                i += 2
            elif self.source.startswith(closing, i):
                return "".join(chunk), i + len(closing)
            else:
                chunk.append(self.source[i])
                i += 1
        name = "the entity" if self.legacy else ("Pre" if closing == "```" else "Code") + " entity"
        at = _byte_offset(self.source, start - len(closing))
        raise _cant_parse(f"Can't find end of {name} starting at byte offset {at}")

    def _code(self) -> None:
        start = self.out.pos
        if self.source.startswith("```", self.i):
            body, self.i = self._until("```", self.i + 3)
            first, newline, rest = body.partition("\n")
            language = first if newline and first and not any(c.isspace() for c in first) else ""
            self.out.add(rest if language else body)
            self.out.entity("pre", start, extra={"language": language} if language else None)
        else:
            body, self.i = self._until("`", self.i + 1)
            self.out.add(body)
            self.out.entity("code", start)

    def _link(self) -> None:
        depth = max(d for d, (marker, _, _) in enumerate(self.open) if marker == "[")
        _, start, _ = self.open.pop(depth)
        if not self.source.startswith("(", self.i + 1):
            raise _cant_parse(
                "Character ']' is reserved and must be escaped with the preceding '\\'")
        url, self.i = self._until(")", self.i + 2)
        self.out.entity("text_link", start, extra={"url": url})
