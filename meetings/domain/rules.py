"""The council's rules of procedure, and the `/rules` settings that change them.

Quorum is a share of the membership (the departments with a CIO when a vote opens), never of
those present: more than half of them by default (过半数). A majority rule names its base: the
votes cast, or all member departments. The rules live on the council; a change applies to
votes opened afterwards (each motion keeps the `votes.Basis` it opened with) and to reminders
not sent yet (they are worked out from the council when they fall due).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction

from meetings.domain.errors import InvalidInput
from meetings.domain.model import Council, MajorityBase, MajorityRule
from meetings.domain.text import shown

# Bounds of the day-based settings: a proposal deadline of two months, an agenda call half a
# year ahead, are already more than a bimonthly council needs.
MAX_DEADLINE_DAYS = 60
MAX_CALL_DAYS = 180
MAX_MAJOR_ISSUES = 10


@dataclass(frozen=True, slots=True)
class Quorum:
    """How many of the membership must take part: more than ``share`` of it (``over``), or
    at least ``share`` of it."""

    share: Fraction
    over: bool = True

    def needed(self, membership: int) -> int:
        """The fewest departments that make the quorum, never below one."""
        product = self.share * membership
        needed = math.floor(product) + 1 if self.over else math.ceil(product)
        return max(1, needed)

    @property
    def text(self) -> str:
        """``>1/2`` (more than half) or ``>=2/3`` (at least two thirds)."""
        return f"{'>' if self.over else '>='}{self.share.numerator}/{self.share.denominator}"


def share(value: float) -> Fraction:
    """A stored share as the fraction it was set as (2/3 is stored as 0.666...)."""
    return Fraction(value).limit_denominator(1000)


def quorum_of(council: Council) -> Quorum:
    return Quorum(share(council.quorum), council.quorum_over)


# The base each rule may have, the first being its default.
BASES: dict[MajorityRule, tuple[MajorityBase, ...]] = {
    MajorityRule.SIMPLE: (MajorityBase.CAST,),
    MajorityRule.ABSOLUTE: (MajorityBase.MEMBERS,),
    MajorityRule.TWO_THIRDS: (MajorityBase.CAST, MajorityBase.MEMBERS),
}


class Setting(StrEnum):
    QUORUM = "quorum"
    MAJORITY = "majority"
    MAJORS = "majors"
    DEADLINE = "deadline"
    CALL = "call"


_SETTINGS = {
    "quorum": Setting.QUORUM, "法定人数": Setting.QUORUM,
    "majority": Setting.MAJORITY, "rule": Setting.MAJORITY, "表决规则": Setting.MAJORITY,
    "多数": Setting.MAJORITY,
    "majors": Setting.MAJORS, "major": Setting.MAJORS, "major_issues": Setting.MAJORS,
    "重大议题": Setting.MAJORS,
    "deadline": Setting.DEADLINE, "proposal_deadline": Setting.DEADLINE,
    "提案截止": Setting.DEADLINE, "截止": Setting.DEADLINE,
    "call": Setting.CALL, "agenda_call": Setting.CALL, "征集": Setting.CALL,
    "议题征集": Setting.CALL,
}


def parse_setting(text: str) -> Setting:
    setting = _SETTINGS.get(text.strip().lower().replace("-", "_"))
    if setting is None:
        raise InvalidInput("unknown rule {setting}: quorum, majority, majors, deadline or call",
                           setting=shown(text, 20))
    return setting


_OVER = (">", "more than", "over", "超过")
_AT_LEAST = (">=", "≥", "at least", "不少于", "不低于")
_CHINESE_SHARES = {"二分之一": Fraction(1, 2), "半数": Fraction(1, 2),
                   "三分之一": Fraction(1, 3), "三分之二": Fraction(2, 3),
                   "四分之三": Fraction(3, 4), "五分之三": Fraction(3, 5)}
_QUORUM_ALIASES = {"half": Quorum(Fraction(1, 2)), "过半数": Quorum(Fraction(1, 2)),
                   "majority": Quorum(Fraction(1, 2))}
_SHARE = re.compile(r"(\d{1,4})\s*/\s*(\d{1,4})|(\d{1,3}(?:\.\d{1,2})?)\s*%")


def parse_quorum(text: str) -> Quorum:
    """``1/2`` (more than half, the usual rule), ``>=2/3`` or ``at least 2/3``, ``60%``,
    ``过半数``, ``三分之二``."""
    words = " ".join(text.strip().lower().split())
    if words in _QUORUM_ALIASES:
        return _QUORUM_ALIASES[words]
    over = True
    # Longest prefix first, so ">=" is not read as ">".
    for prefix, is_over in sorted([(p, True) for p in _OVER] + [(p, False) for p in _AT_LEAST],
                                  key=lambda pair: -len(pair[0])):
        if words.startswith(prefix):
            over, words = is_over, words[len(prefix):].strip()
            break
    value = _CHINESE_SHARES.get(words)
    if value is None:
        match = _SHARE.fullmatch(words)
        if match is None:
            raise InvalidInput("a quorum is a share of the member departments, like 1/2 (more "
                               "than half), >=2/3 (at least two thirds) or 60%")
        if match.group(3) is not None:
            value = Fraction(match.group(3)) / 100
        else:
            if int(match.group(2)) == 0:
                raise InvalidInput("a quorum's share cannot divide by zero")
            value = Fraction(int(match.group(1)), int(match.group(2)))
    if not 0 < value <= 1:
        raise InvalidInput("a quorum is a share above 0 and at most 1 (all members)")
    if over and value == 1:
        raise InvalidInput("more than all the members can never attend: say >=1/1 for all")
    return Quorum(value, over)


_RULES = {
    "simple": MajorityRule.SIMPLE, "简单多数": MajorityRule.SIMPLE, "简单": MajorityRule.SIMPLE,
    "absolute": MajorityRule.ABSOLUTE, "绝对多数": MajorityRule.ABSOLUTE,
    "绝对": MajorityRule.ABSOLUTE, "过半数": MajorityRule.ABSOLUTE,
    "two_thirds": MajorityRule.TWO_THIRDS, "two-thirds": MajorityRule.TWO_THIRDS,
    "2/3": MajorityRule.TWO_THIRDS, "三分之二": MajorityRule.TWO_THIRDS,
}
_BASES = {
    "cast": MajorityBase.CAST, "votes": MajorityBase.CAST, "votes cast": MajorityBase.CAST,
    "投票": MajorityBase.CAST, "有效票": MajorityBase.CAST,
    "members": MajorityBase.MEMBERS, "all": MajorityBase.MEMBERS,
    "all members": MajorityBase.MEMBERS, "membership": MajorityBase.MEMBERS,
    "全体成员": MajorityBase.MEMBERS, "全体": MajorityBase.MEMBERS,
}


def parse_majority(text: str) -> tuple[MajorityRule, MajorityBase]:
    """``simple``, ``absolute``, ``two_thirds [of cast|members]`` (or the Chinese names)."""
    rule_word, _, rest = " ".join(text.strip().lower().split()).partition(" ")
    rule = _RULES.get(rule_word)
    if rule is None:
        raise InvalidInput("a majority rule is simple, absolute or two_thirds, optionally "
                           "followed by: of cast | of members")
    rest = rest.removeprefix("of ").removeprefix("the ").strip()
    if not rest:
        return rule, BASES[rule][0]
    base = _BASES.get(rest)
    if base is None:
        raise InvalidInput("a majority's base is: of cast (the votes cast) or of members "
                           "(all member departments)")
    if base not in BASES[rule]:
        if rule is MajorityRule.SIMPLE:
            raise InvalidInput("a simple majority is of the votes cast; for more than half of "
                               "all members, use absolute")
        raise InvalidInput("an absolute majority is of all member departments; for more yes "
                           "than no votes, use simple")
    return rule, base


_DAYS = re.compile(r"(\d{1,4})\s*(d|day|days|天|日)?")


def parse_days(text: str, *, most: int) -> int:
    """``3d``, ``3``, ``3 days``, ``3天``: whole days, from 0 (off) to ``most``."""
    match = _DAYS.fullmatch(text.strip().lower())
    if match is None:
        raise InvalidInput("give whole days, like 3d")
    days = int(match.group(1))
    if days > most:
        raise InvalidInput("at most {most} days", most=most)
    return days


def parse_count(text: str, *, most: int) -> int:
    words = text.strip()
    if not (words.isascii() and words.isdigit()) or int(words) > most:
        raise InvalidInput("give a number of major issues from 0 to {most}", most=most)
    return int(words)


def change(council: Council, setting: Setting, value: str) -> Council:
    """The council with one rule set to ``value``; refuses a value that does not fit."""
    if not value.strip():
        raise InvalidInput("usage: {usage}", usage="/rules [quorum|majority|majors|deadline|call "
                                                     "<value>]")
    match setting:
        case Setting.QUORUM:
            quorum = parse_quorum(value)
            changed = replace(council, quorum=float(quorum.share), quorum_over=quorum.over)
        case Setting.MAJORITY:
            rule, base = parse_majority(value)
            changed = replace(council, majority_rule=rule, majority_base=base)
        case Setting.MAJORS:
            changed = replace(council, max_major_issues=parse_count(value, most=MAX_MAJOR_ISSUES))
        case Setting.DEADLINE:
            changed = replace(council, agenda_deadline_days=parse_days(
                value, most=MAX_DEADLINE_DAYS))
        case Setting.CALL:
            changed = replace(council, agenda_call_days=parse_days(value, most=MAX_CALL_DAYS))
    check(changed)
    return changed


def check(council: Council) -> None:
    """Refuses rules that contradict each other."""
    if council.majority_base not in BASES[council.majority_rule]:
        raise InvalidInput("a {rule} cannot be counted on {base}",
                           rule=council.majority_rule, base=council.majority_base)
    if 0 < council.agenda_call_days <= council.agenda_deadline_days:
        raise InvalidInput(
            "the agenda call (days before the meeting: {call}) must come before the "
            "proposal deadline (days before: {deadline})", call=council.agenda_call_days,
            deadline=council.agenda_deadline_days)


def setting_text(council: Council, setting: Setting) -> str:
    """A rule's value as `/rules` takes it (and the audit log records it): ``>1/2``,
    ``two_thirds of members``, ``2``, ``3d``, ``14d``."""
    match setting:
        case Setting.QUORUM:
            return quorum_of(council).text
        case Setting.MAJORITY:
            return f"{council.majority_rule.value} of {council.majority_base.value}"
        case Setting.MAJORS:
            return str(council.max_major_issues)
        case Setting.DEADLINE:
            return f"{council.agenda_deadline_days}d"
        case Setting.CALL:
            return f"{council.agenda_call_days}d"
