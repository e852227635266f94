"""The role x action matrix."""

from __future__ import annotations

import pytest

from meetings.domain.errors import NotAllowed
from meetings.domain.model import Member, Role
from meetings.domain.permissions import ALLOWED, Act, acts_for, can, may_complete_action, require

EXPECTED = {
    Role.CHAIR: {Act.ADD_DEPARTMENT, Act.SET_ROLE, Act.APPROVE_JOIN, Act.SET_CADENCE,
                 Act.SCHEDULE, Act.DECIDE_AGENDA, Act.ADD_URGENT_ITEM, Act.RUN_MEETING,
                 Act.RECORD_ATTENDANCE,
                 Act.TAKE_NOTE, Act.RECORD_DECISION, Act.UNDO, Act.OPEN_VOTE, Act.ASSIGN_ACTION,
                 Act.COMPLETE_ACTION, Act.APPROVE_MINUTES, Act.EXPORT, Act.SET_LANGUAGE,
                 Act.VIEW, Act.APPRAISAL, Act.SET_WEIGHTS, Act.SET_RULES, Act.MARK_HERE},
    Role.SECRETARY: {Act.ADD_DEPARTMENT, Act.SET_CADENCE, Act.SCHEDULE, Act.ADD_URGENT_ITEM,
                     Act.RUN_MEETING,
                     Act.RECORD_ATTENDANCE, Act.TAKE_NOTE, Act.UNDO, Act.ASSIGN_ACTION,
                     Act.COMPLETE_ACTION, Act.EXPORT, Act.VIEW, Act.APPRAISAL, Act.MARK_HERE},
    Role.CIO: {Act.PROPOSE, Act.MARK_HERE, Act.TAKE_NOTE, Act.VOTE, Act.COMPLETE_ACTION,
               Act.VIEW, Act.APPRAISAL},
    Role.EXPERT: {Act.MARK_HERE, Act.TAKE_NOTE, Act.VIEW},
    Role.OBSERVER: {Act.MARK_HERE, Act.TAKE_NOTE, Act.VIEW},
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_may_do_exactly_its_acts(role: Role) -> None:
    """The matrix grants each role the product's list and nothing more."""
    assert set(acts_for(role)) == EXPECTED[role]


def test_every_act_is_in_the_matrix() -> None:
    """No act is left without a rule (a missing one would raise at the first check)."""
    assert set(ALLOWED) == set(Act)


def test_secretary_differs_from_chair_only_where_the_product_says() -> None:
    """The secretariat has the chair's powers except approving minutes and chair-only decisions."""
    assert EXPECTED[Role.CHAIR] - EXPECTED[Role.SECRETARY] == {
        Act.SET_ROLE, Act.APPROVE_JOIN, Act.DECIDE_AGENDA, Act.RECORD_DECISION, Act.OPEN_VOTE,
        Act.APPROVE_MINUTES, Act.SET_LANGUAGE, Act.SET_WEIGHTS, Act.SET_RULES}


def test_non_member_may_do_nothing() -> None:
    """Someone who is not a member is refused everything, viewing included."""
    assert not any(can(None, act) for act in Act)
    with pytest.raises(NotAllowed, match="only council members"):
        require(None, Act.VIEW)


@pytest.mark.parametrize(("act", "message"), [
    (Act.OPEN_VOTE, "only the chair may do this"),
    (Act.SCHEDULE, "only the chair or the secretariat may do this"),
    (Act.VOTE, "only department CIOs may do this"),
])
def test_refusal_names_who_may(act: Act, message: str) -> None:
    """A refusal tells the sender which roles may do it."""
    observer = Member(council_id=1, name="x", role=Role.OBSERVER, id=1)
    with pytest.raises(NotAllowed) as refused:
        require(observer, act)
    assert str(refused.value) == message


def test_every_act_has_a_refusal_sentence() -> None:
    """Whatever act is refused, the sender gets a whole, translatable sentence."""
    observer = Member(council_id=1, name="x", role=Role.OBSERVER, id=1)
    for act in Act:
        if not can(Role.OBSERVER, act):
            with pytest.raises(NotAllowed):
                require(observer, act)


def test_owning_cio_may_complete_their_action_only() -> None:
    """A CIO completes their own department's action items, not another department's."""
    cio = Member(council_id=1, name="x", role=Role.CIO, department_id=4, id=1)
    secretary = Member(council_id=1, name="s", role=Role.SECRETARY, id=2)
    assert may_complete_action(cio, 4)
    assert not may_complete_action(cio, 5)
    assert may_complete_action(secretary, 5)
    assert not may_complete_action(None, 4)
