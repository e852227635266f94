"""Domain errors. Each carries a stable ``code`` that the shell maps to a translated reply."""

from __future__ import annotations


class CouncilError(Exception):
    """A request the council's rules refuse; the message is safe to show to the user."""

    code = "error"


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


class InvalidState(CouncilError):
    """The thing exists but is not in a state that allows this (e.g. a cancelled meeting)."""

    code = "invalid_state"


class VotingClosed(InvalidState):
    code = "voting_closed"


class NotEligible(NotAllowed):
    code = "not_eligible"


class TooManyMajorIssues(InvalidState):
    code = "too_many_major_issues"
