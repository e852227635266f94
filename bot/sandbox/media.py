"""Just enough image decoding to answer `sendPhoto` with real widths and heights."""

from __future__ import annotations

import struct

_JPEG_FRAME_MARKERS = frozenset({*range(0xC0, 0xC4), *range(0xC5, 0xC8), *range(0xC9, 0xCC),
                                 *range(0xCD, 0xD0)})


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG; None for anything Telegram would fail to process."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    # Walk the segments until a start-of-frame marker, which carries height then width.
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in _JPEG_FRAME_MARKERS:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        i += 2 + int(length)
    return None
