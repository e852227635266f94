"""Domain errors.

Each error carries an English message template with named fields and their values, so the shell can
translate the template through its catalogs and fill in the values afterwards (user text never
becomes part of a template).
"""

from __future__ import annotations

from datetime import datetime


def template(message: str) -> str:
    """Marks a message kept aside (in a table) for translation; returns it unchanged."""
    return message


def _plain(value: object) -> object:
    """A value as the command line prints it: a moment to the minute, like people type it."""
    return f"{value:%Y-%m-%d %H:%M}" if isinstance(value, datetime) else value


class Word(str):
    """One of our own words inside a message (a field's name, `title`), never user text: the
    shell translates it with the message. Written as a literal, so the catalog finds it."""

    __slots__ = ()


class CouncilError(Exception):
    """A request the council's rules refuse; the message is safe to show to the user."""

    code = "error"

    def __init__(self, template: str, **params: object) -> None:
        self.template = template
        self.params = params
        super().__init__(template.format(**{name: _plain(value) for name, value in params.items()})
                         if params else template)


class NotAllowed(CouncilError):
    code = "not_allowed"


class NotFound(CouncilError):
    code = "not_found"


class UnknownCouncil(NotFound):
    code = "unknown_council"


class UnknownDepartment(NotFound):
    code = "unknown_department"


class UnknownMember(NotFound):
    code = "unknown_member"


class UnknownMeeting(NotFound):
    code = "unknown_meeting"


class UnknownMotion(NotFound):
    code = "unknown_motion"


class Duplicate(CouncilError):
    code = "duplicate"


class InvalidInput(CouncilError):
    code = "invalid_input"


class InvalidSchedule(InvalidInput):
    code = "invalid_schedule"


class SlotTaken(InvalidSchedule):
    """Another meeting already holds (part of) the time asked for; the command line may insist
    with --force."""

    code = "slot_taken"


class InvalidState(CouncilError):
    """The thing exists but is not in a state that allows this (e.g. a cancelled meeting)."""

    code = "invalid_state"


class VotingClosed(InvalidState):
    code = "voting_closed"


class AlreadyVoted(InvalidState):
    """A secret vote is final: the department has one in the ballot box already."""

    code = "already_voted"


class NotEligible(NotAllowed):
    code = "not_eligible"


class TooManyMajorIssues(InvalidState):
    code = "too_many_major_issues"


class UnknownFeed(NotFound):
    """A calendar address that is wrong, malformed, revoked or whose member left."""

    code = "unknown_feed"
