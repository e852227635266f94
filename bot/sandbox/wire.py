"""The Bot API's wire format: parameters in, `{"ok": ...}` envelopes out.

Parameters arrive in the query string, a JSON body, a urlencoded form or a multipart form. In
forms every value is a string and objects (reply_markup, entities, ...) are JSON text, so the
typed getters below accept both spellings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.errors import ApiError, bad_request

MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # Telegram's limit for files bots upload


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


class Params:
    def __init__(self, fields: Mapping[str, Any], uploads: Mapping[str, Upload]) -> None:
        self._fields = {key: value for key, value in fields.items() if value is not None}
        self._uploads = dict(uploads)

    def __contains__(self, name: str) -> bool:
        return name in self._fields or name in self._uploads

    def text(self, name: str) -> str | None:
        value = self._fields.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def require_text(self, name: str, *, missing: str | None = None) -> str:
        value = self.text(name)
        if value is None:
            raise bad_request(missing or f"{name} is empty")
        return value

    def integer(self, name: str) -> int | None:
        value = self._fields.get(name)
        if value is None:
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        value = self._fields.get(name)
        if value is None:
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def require_integer(self, name: str) -> int:
        value = self.integer(name)
        if value is None:
            raise bad_request(f"{name} is empty")
        return value

    def flag(self, name: str) -> bool:
        value = self._fields.get(name, False)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def object(self, name: str) -> Any:
        """A JSON-valued parameter, given as JSON text (forms) or inline (JSON bodies)."""
        value = self._fields.get(name)
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {name} JSON object") from None

    def chat_id(self, name: str = "chat_id") -> int:
        value = self.require_text(name)
        try:
            return int(value)
        except ValueError:
            # "@channelusername" addresses public channels; the sandbox has none.
            raise bad_request("chat not found") from None

    def upload(self, name: str) -> Upload | str | None:
        """A file part, or the string form: a file_id already on the server, or a URL."""
        return self._uploads.get(name) or self.text(name)


async def read_params(request: web.Request) -> Params:
    fields: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON body") from None
        if not isinstance(body, dict):
            raise bad_request("JSON body must be an object")
        fields.update(body)
    elif request.can_read_body:
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                uploads[name] = Upload(value.filename, value.content_type, value.file.read())
            elif isinstance(value, bytes | bytearray):
                fields[name] = value.decode()
            else:
                fields[name] = value
    return Params(fields, uploads)


def ok(result: Any, description: str | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description is not None:
        body["description"] = description
    return web.json_response(body)


def error(err: ApiError) -> web.Response:
    return web.json_response(err.to_api(), status=err.code)
