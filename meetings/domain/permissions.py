"""Who may do what: the council's role x action matrix.

The matrix is data, so the chat `/help`, the authorisation checks and the tests all read one table.
Voting eligibility is narrower than the VOTE permission (presence, proxies, department): votes.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from meetings.domain.errors import NotAllowed, template
from meetings.domain.model import Member, Role


class Act(StrEnum):
    ADD_DEPARTMENT = "add_department"
    SET_ROLE = "set_role"
    APPROVE_JOIN = "approve_join"
    SET_CADENCE = "set_cadence"
    SCHEDULE = "schedule"
    PROPOSE = "propose"
    DECIDE_AGENDA = "decide_agenda"
    ADD_URGENT_ITEM = "add_urgent_item"
    RUN_MEETING = "run_meeting"
    MARK_HERE = "mark_here"
    RECORD_ATTENDANCE = "record_attendance"
    TAKE_NOTE = "take_note"
    RECORD_DECISION = "record_decision"
    UNDO = "undo"
    OPEN_VOTE = "open_vote"
    VOTE = "vote"
    ASSIGN_ACTION = "assign_action"
    COMPLETE_ACTION = "complete_action"
    APPROVE_MINUTES = "approve_minutes"
    EXPORT = "export"
    APPRAISAL = "appraisal"
    SET_WEIGHTS = "set_weights"
    SET_LANGUAGE = "set_language"
    SET_RULES = "set_rules"
    VIEW = "view"


_EVERYONE = frozenset(Role)
_OFFICE = frozenset({Role.CHAIR, Role.SECRETARY})
_CHAIR = frozenset({Role.CHAIR})
_CIO = frozenset({Role.CIO})

ALLOWED: Mapping[Act, frozenset[Role]] = {
    Act.ADD_DEPARTMENT: _OFFICE,
    Act.SET_ROLE: _CHAIR,
    Act.APPROVE_JOIN: _CHAIR,
    Act.SET_CADENCE: _OFFICE,
    Act.SCHEDULE: _OFFICE,
    Act.PROPOSE: _CIO,
    Act.DECIDE_AGENDA: _CHAIR,
    Act.ADD_URGENT_ITEM: _OFFICE,
    Act.RUN_MEETING: _OFFICE,
    # Everyone attends: experts, observers and the office without a department (the roll call
    # shows them among those present), so only CIOs vote and count for quorum.
    Act.MARK_HERE: _EVERYONE,
    Act.RECORD_ATTENDANCE: _OFFICE,
    Act.TAKE_NOTE: _EVERYONE,
    Act.RECORD_DECISION: _CHAIR,
    Act.UNDO: _OFFICE,
    Act.OPEN_VOTE: _CHAIR,
    Act.VOTE: _CIO,
    Act.ASSIGN_ACTION: _OFFICE,
    # A CIO completes only their own department's actions: see may_complete_action().
    Act.COMPLETE_ACTION: _OFFICE | _CIO,
    Act.APPROVE_MINUTES: _CHAIR,
    Act.EXPORT: _OFFICE,
    # The office sees the council's table; a CIO only their own card: see may_see_card().
    Act.APPRAISAL: _OFFICE | _CIO,
    Act.SET_WEIGHTS: _CHAIR,
    Act.SET_LANGUAGE: _CHAIR,
    Act.SET_RULES: _CHAIR,
    Act.VIEW: _EVERYONE,
}


# Whole sentences per group of roles, so each refusal translates as one message.
_REFUSALS = {
    _CHAIR: template("only the chair may do this"),
    _OFFICE: template("only the chair or the secretariat may do this"),
    _CIO: template("only department CIOs may do this"),
    _OFFICE | _CIO: template("only the chair, the secretariat or department CIOs may do this"),
    _EVERYONE: template("only council members may do this"),
}


def can(role: Role | None, act: Act) -> bool:
    """Whether a role may perform an act; ``None`` (not a member) may do nothing."""
    return role is not None and role in ALLOWED[act]


def require(member: Member | None, act: Act) -> Member:
    """The member, if their role allows the act; otherwise `NotAllowed` naming who may."""
    if member is None:
        raise NotAllowed("only council members may do this")
    if not can(member.role, act):
        raise NotAllowed(_REFUSALS[ALLOWED[act]])
    return member


def may_complete_action(member: Member | None, owner_department_id: int) -> bool:
    """The chair, the secretariat, or the CIO of the owning department."""
    if member is None or not can(member.role, Act.COMPLETE_ACTION):
        return False
    return member.role is not Role.CIO or member.department_id == owner_department_id


def may_see_card(member: Member | None, member_id: int) -> bool:
    """The chair, the secretariat, or the person the appraisal card is about."""
    if member is None or not can(member.role, Act.APPRAISAL):
        return False
    return member.role is not Role.CIO or member.id == member_id


def acts_for(role: Role | None) -> list[Act]:
    """Everything a role may do, in the matrix's order (what `/help` shows)."""
    return [act for act in Act if can(role, act)]
