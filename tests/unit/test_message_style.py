"""Every message in both languages follows the house style, checked on the catalog itself.

English: "CIO" in capitals, "an expert" not "a expert", no "1 meetings", sentences begin with a
capital. Chinese: full-width punctuation next to Chinese text, no untranslated placeholder
(`<title>`), no English word outside ids, codes, commands and names, and one space between
Chinese and a Latin word or code. Errors reach the chat as whole sentences in both languages.
Each rule names the messages it exempts, with the reason.
"""

from __future__ import annotations

import re
from string import Formatter

import pytest

from bot.i18n import translate
from bot.i18n.catalog import messages, translated
from bot.i18n.words import explain
from meetings.domain.errors import InvalidInput

CATALOG = translated()
MESSAGES = sorted({message for message, _ in messages()})
HAN = r"\u3400-\u9fff"
# Chinese text and its full-width punctuation, which take no space around them.
WIDE = rf"{HAN}\u3000-\u303f\uff00-\uffef“”‘’…—"


def numbered(message: str) -> str:
    """The message with every field filled in by 1: where a plural needs its noun in -s."""
    return message.format_map({name: 1 for _, name, _, _ in Formatter().parse(message)
                               if name})


def without_fields(text: str) -> str:
    return re.sub(r"\{[^}]*\}", "", text)


def without_commands(text: str) -> str:
    """A command with the arguments people type (`/vote M3 yes|no|abstain`, `/rules majority
    simple`), a quoted example and a `cli command` are typed as they are, in any language."""
    text = re.sub(r"`[^`]*`|'[^']*'|<[^>]*>|\[[^\]]*\]", "", text)
    return re.sub(rf"(?<![\w{HAN}])/[a-z]+[^{WIDE}]*", "", text)


# --- English --------------------------------------------------------------------------------


def test_cio_is_written_in_capitals() -> None:
    lower = [m for m in MESSAGES if re.search(r"\bcios?\b", without_commands(m))]
    assert lower == []


# "a" before a vowel sound, "an" before a consonant: the words that begin otherwise.
SOUNDS_LIKE_A_CONSONANT = {"one", "user", "unique", "utf", "usable", "uk", "url"}
SOUNDS_LIKE_A_VOWEL = {"hour", "http", "sha", "rrule", "html"}


def test_articles_fit_the_next_word() -> None:
    wrong = []
    for message in MESSAGES:
        for article, word in re.findall(r"\b(an?) ([A-Za-z]+)", without_fields(message)):
            vowel = word[0].lower() in "aeiou"
            if word.lower() in SOUNDS_LIKE_A_CONSONANT:
                vowel = False
            if word.lower() in SOUNDS_LIKE_A_VOWEL:
                vowel = True
            if (article == "an") != vowel:
                wrong.append(f"{article} {word}: {message}")
    assert wrong == []


COUNTED = ("meetings", "days", "notes", "decisions", "votes", "departments", "items", "minutes",
           "characters", "members", "motions", "months", "hours", "weeks", "people", "guests",
           "actions", "proposals", "ballots", "times", "presses")
# Counts that are never 1 where they stand, so the plural always fits.
NEVER_ONE = {
    "{field} is too long ({length} characters, at most {limit})": "the length is over a limit",
    "cadence too long: at most {limit} characters": "the limit is 300",
    "bad duration {minutes}: between {low} and {high} minutes": "the bounds are 15 and 1440",
    "meeting {meeting} already holds that time ({start}, {minutes} minutes): choose another "
    "time, or move or cancel {meeting} first": "a meeting lasts 15 minutes or more",
    "at most {most} days": "the limits are 60 and 180 days",
    "no free working day within {limit} days after {day}": "the limit is 45",
    "the rule meets more often than weekly (meetings {days} days apart): not a council series":
        "the gap is under seven days",
    "{count} days": "`words.days` writes `{count} day` for one",
    "{present} of {membership} departments present; quorum {needed}: quorate":
        "a council has several departments; one of one reads oddly, not wrongly",
    "{present} of {membership} departments present; quorum {needed}: not quorate":
        "a council has several departments; one of one reads oddly, not wrongly",
}


def test_no_count_reads_one_with_a_plural() -> None:
    """`1 meetings`: a count that can be 1 is written as a label (`meetings: 1`) or its noun
    is chosen by the count (`words.days`)."""
    plural = re.compile(rf"\b1 ({'|'.join(COUNTED)})\b")
    assert [m for m in MESSAGES if m not in NEVER_ONE and plural.search(numbered(m))] == []


def test_sentences_begin_with_a_capital() -> None:
    """A message of whole sentences (it ends in a full stop) begins each with a capital; a
    fragment (a label, an error the chat makes whole) may begin in lower case."""
    lower = [start for message in MESSAGES if message.rstrip().endswith(".")
             for start in re.split(r"(?<=[.!?])\s+", message.strip())
             if re.sub(r"^[^\w{/#@]+", "", start)[:1].islower()]
    assert lower == []


@pytest.mark.parametrize("template", ["no meeting S{id} in this council", "{field} is empty"])
def test_errors_reach_the_chat_as_sentences(template: str) -> None:
    error = InvalidInput(template, id=12, field="title")
    assert explain("en", error)[0].isupper()
    assert explain("en", error).endswith(".")
    assert explain("zh", error).endswith("。")


# --- Chinese --------------------------------------------------------------------------------

CHINESE = [(m, CATALOG[m]) for m in MESSAGES if CATALOG.get(m)]


def test_chinese_punctuation_is_full_width_next_to_chinese() -> None:
    half = re.compile(rf"[{HAN}][:;,()!?]|[:;,()!?][{HAN}]")
    assert [c for _, c in CHINESE if half.search(without_commands(without_fields(c)))] == []


def test_chinese_placeholders_are_chinese() -> None:
    """`/topic <编号>`, not `/topic <id>`: people read what to type in their language."""
    assert [c for _, c in CHINESE if re.search(r"<[a-z][a-z _]*>", c)] == []


# Latin words a Chinese reply keeps: names of products and standards, and our own terms.
KEPT_IN_CHINESE = {"CIO", "ID", "Telegram", "Word", "Apple", "Outlook", "RFC", "SHA", "docx",
                   "https", "IANA"}
# The keywords people type after a command, which take English (and some a Chinese alias): a
# reply names them as they are typed.
TYPED = {"yes", "no", "abstain", "simple", "absolute", "two", "thirds", "of", "cast", "members",
         "neutral", "absent", "en", "zh", "gbt", "monthly", "bimonthly", "quarterly",
         "quorum", "majority", "majors", "deadline", "call", "reset", "council", "Asia",
         "Shanghai"}


def test_chinese_has_no_english_words() -> None:
    english = {}
    for _, chinese in CHINESE:
        words = {w for w in re.findall(r"[A-Za-z]{2,}", without_commands(without_fields(chinese)))
                 if w not in KEPT_IN_CHINESE | TYPED and not w.isupper()}
        if words:
            english[chinese] = words
    assert english == {}


# Fields whose values are Latin: a code, an id, a command, a link.
LATIN_FIELDS = {"code", "codes", "id", "ids", "username", "command", "link", "bot", "sha256",
                "freq", "action", "meeting", "motions", "ref", "file"}


def latin_placeholders(text: str) -> str:
    """The template with each Latin-valued field written as a Latin word, others as Chinese."""
    return re.sub(r"\{([a-z_0-9]+)[^}]*\}",
                  lambda m: "Xx" if m.group(1) in LATIN_FIELDS else "某", text)


def test_one_space_between_chinese_and_latin() -> None:
    touching = re.compile(rf"[{HAN}](?:[A-Za-z#@]|/[a-z])|[A-Za-z][{HAN}]")
    assert [c for _, c in CHINESE if touching.search(latin_placeholders(c))] == []
    assert [c for _, c in CHINESE if "  " in latin_placeholders(c).replace("\n    ", "")] == []


def test_translations_render() -> None:
    """Every translation fills in with its fields (a brace out of place would raise)."""
    for message, _chinese in CHINESE:
        fields = {name: 1 for _, name, _, _ in Formatter().parse(message) if name}
        translate("zh", message, **fields)
