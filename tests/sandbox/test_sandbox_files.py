"""Files: multipart uploads stored byte for byte, served by getFile and the download route."""

from __future__ import annotations

import struct

import aiohttp
import pytest
import telegram
from telegram.error import BadRequest

from bot.sandbox import Control, SandboxServer, User
from tests.present import present

MINUTES = "会议纪要\n一、出席\n".encode() + bytes(range(256)) * 40  # binary-safe, > 10 kB


@pytest.fixture
def alice(control: Control) -> User:
    person = control.create_user("Alice")
    control.start_bot(person.id)
    return person


def _png(width: int, height: int) -> bytes:
    header = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR"
    return header + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0) + b"\x00" * 16


async def test_document_round_trip(
        sandbox: SandboxServer, bot: telegram.Bot, control: Control, alice: User) -> None:
    """Uploaded bytes come back identical through getFile, the file URL and the control API."""
    sent = await bot.send_document(alice.id, MINUTES, filename="minutes.docx",
                                   caption="Minutes of the 3rd meeting")
    document = present(sent.document)
    assert (document.file_name, document.file_size) == ("minutes.docx", len(MINUTES))
    assert sent.caption == "Minutes of the 3rd meeting"
    remote = await bot.get_file(document.file_id)
    file_path = present(remote.file_path)
    assert file_path.startswith(f"{sandbox.base_file_url}{sandbox.token}/documents/")
    assert file_path.endswith(".docx")
    assert bytes(await remote.download_as_bytearray()) == MINUTES
    assert control.file_bytes(document.file_id) == MINUTES
    again = await bot.send_document(alice.id, document.file_id)
    assert present(again.document).file_unique_id == document.file_unique_id


async def test_downloads_need_the_bot_token(sandbox: SandboxServer, bot: telegram.Bot,
                                            alice: User) -> None:
    """The file route serves the bytes, 401 to a wrong token and 404 to an unknown path."""
    sent = await bot.send_document(alice.id, b"x", filename="x.txt")
    remote = await bot.get_file(present(sent.document).file_id)
    path = present(remote.file_path).rpartition(sandbox.token)[2]
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sandbox.base_file_url}{sandbox.token}{path}") as r:
            assert (r.status, await r.read()) == (200, b"x")
        async with session.get(f"{sandbox.base_file_url}1:wrong{path}") as r:
            assert r.status == 401
        async with session.get(f"{sandbox.base_file_url}{sandbox.token}/documents/nope") as r:
            assert r.status == 404


async def test_photo_reports_its_real_size(bot: telegram.Bot, alice: User) -> None:
    """sendPhoto answers a PhotoSize with the image's width and height."""
    sent = await bot.send_photo(alice.id, _png(640, 480), filename="chart.png")
    [photo] = sent.photo
    assert (photo.width, photo.height) == (640, 480)


async def test_bad_uploads_are_refused(bot: telegram.Bot, alice: User) -> None:
    """Not-an-image photos, unknown file ids and URLs (the sandbox is offline) are 400s."""
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(alice.id, b"not an image", filename="x.png")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_document(alice.id, "BQACnope")
    with pytest.raises(BadRequest, match=r"(?i)failed to get http url content"):
        await bot.send_document(alice.id, "https://example.org/agenda.pdf")


async def test_people_can_send_documents_to_the_bot(
        bot: telegram.Bot, control: Control, alice: User) -> None:
    """A document a person sends arrives as an update whose file the bot can download."""
    control.send_document(alice.id, alice.id, b"agenda", file_name="agenda.txt",
                          mime_type="text/plain", caption="/attach agenda")
    update = (await bot.get_updates())[-1]
    message = present(update.message)
    assert message.caption_entities[0].type == "bot_command"
    remote = await present(message.document).get_file()
    assert bytes(await remote.download_as_bytearray()) == b"agenda"
