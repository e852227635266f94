"""The Chinese catalog covers every message, with the same fields to fill in."""

from __future__ import annotations

import ast
import re
from string import Formatter

import pytest

from bot.i18n import translate
from bot.i18n.catalog import KEYWORDS, ROOT, SOURCES, messages, translated
from bot.i18n.words import explain
from meetings.domain.errors import UnknownDepartment

CATALOG = translated()


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def test_every_message_has_a_chinese_translation() -> None:
    """A message added to the code without a translation fails here; run
    `python -m bot.i18n.catalog` and translate the new entries."""
    missing = sorted({f"{where}: {message!r}" for message, where in messages()
                      if not CATALOG.get(message)})
    assert missing == []


# Files whose messages are never translated, so building one at run time loses nothing.
ENGLISH_ONLY = {"bot/cli.py": "the command line speaks English only (it prints str(error))"}


def built_at_run_time(node: ast.expr) -> bool:
    """A message put together while running: `"a" + hint`, an f-string, `"%s" % x`, `.format`."""
    return (isinstance(node, ast.BinOp | ast.JoinedStr)
            or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"))


def test_no_message_is_built_at_run_time() -> None:
    """Every message a translating call or error takes is whole in the source: the catalog
    extracts literals only, so a text assembled at run time (a hint added, a verb put in) reaches
    a Chinese council in English."""
    assembled = []
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            if where in ENGLISH_ONLY or "sandbox" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in KEYWORDS:
                    continue
                position = (KEYWORDS[name] or (1,))[0] - 1
                if len(node.args) > position and built_at_run_time(node.args[position]):
                    assembled.append(f"{where}:{node.lineno}")
    assert assembled == []


@pytest.mark.parametrize("message", sorted(CATALOG))
def test_translations_keep_their_fields(message: str) -> None:
    """A translation fills in exactly the fields of its English message."""
    assert fields(CATALOG[message]) == fields(message)


def test_errors_are_translated_with_their_values() -> None:
    """A domain error reads naturally in Chinese with the user's value filled in."""
    error = UnknownDepartment("no department with code {code}", code="'XYZ'")
    assert explain("zh", error) == "没有代码为 'XYZ' 的部门。"
    assert explain("en", error) == "No department with code 'XYZ'."


def test_unknown_messages_fall_back_to_english() -> None:
    """A message the catalog lacks is shown in English rather than failing."""
    assert translate("zh", "Not in any catalog {x}", x=1) == "Not in any catalog 1"


def test_fields_may_share_a_name_with_parameters() -> None:
    """A message whose field is called `language` or `message` is filled in, not confused."""
    assert translate("en", "{language} {message}", language="zh", message="m") == "zh m"


def test_user_text_is_never_a_template() -> None:
    """Braces in user input are shown as typed, not interpreted."""
    error = UnknownDepartment("no department with code {code}", code="{__class__}")
    assert re.search(r"\{__class__\}", explain("zh", error))
