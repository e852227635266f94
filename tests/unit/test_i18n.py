"""The Chinese catalog covers every message, with the same fields to fill in."""

from __future__ import annotations

import re
from string import Formatter

import pytest

from bot.i18n import explain, translate
from bot.i18n.catalog import messages, translated
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


@pytest.mark.parametrize("message", sorted(CATALOG))
def test_translations_keep_their_fields(message: str) -> None:
    """A translation fills in exactly the fields of its English message."""
    assert fields(CATALOG[message]) == fields(message)


def test_errors_are_translated_with_their_values() -> None:
    """A domain error reads naturally in Chinese with the user's value filled in."""
    error = UnknownDepartment("no department with code {code}", code="'XYZ'")
    assert explain("zh", error) == "没有代码为 'XYZ' 的部门"
    assert explain("en", error) == "no department with code 'XYZ'"


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
