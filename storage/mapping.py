"""Row <-> domain value conversion.

Row classes mirror the domain dataclasses field for field, so one generic copy serves them all;
the only translation is the domain's ``id == NEW`` (0) becoming NULL so the database assigns one.
"""

from __future__ import annotations

from dataclasses import Field, fields
from typing import Any, ClassVar, Protocol, TypeVar

from sqlmodel import SQLModel

from meetings.domain import minutes, model
from storage import tables


class Value(Protocol):
    """A stored domain value: a dataclass with an ``id``."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def id(self) -> int: ...


V = TypeVar("V", bound=Value)

ROW_TYPES: dict[type[Any], type[SQLModel]] = {
    model.Council: tables.CouncilRow,
    model.Department: tables.DepartmentRow,
    model.Member: tables.MemberRow,
    model.ChatPerson: tables.ChatPersonRow,
    model.JoinRequest: tables.JoinRequestRow,
    model.Series: tables.SeriesRow,
    model.Meeting: tables.MeetingRow,
    model.AgendaItem: tables.AgendaItemRow,
    model.Attendance: tables.AttendanceRow,
    model.Guest: tables.GuestRow,
    model.Note: tables.NoteRow,
    model.Decision: tables.DecisionRow,
    model.Motion: tables.MotionRow,
    model.Ballot: tables.BallotRow,
    model.ActionItem: tables.ActionItemRow,
    model.AuditEvent: tables.AuditEventRow,
    model.FeedToken: tables.FeedTokenRow,
    minutes.MinutesRevision: tables.MinutesRevisionRow,
    minutes.MinutesTemplate: tables.MinutesTemplateRow,
}


def _values(value: Value) -> dict[str, Any]:
    return {field.name: getattr(value, field.name) for field in fields(value)}


def to_row(value: Value) -> SQLModel:
    data = _values(value)
    if data["id"] == model.NEW:
        data["id"] = None
    return ROW_TYPES[type(value)](**data)


def to_domain(row: SQLModel, value_type: type[V]) -> V:
    return value_type(**{field.name: getattr(row, field.name) for field in fields(value_type)})


def copy_into(row: SQLModel, value: Value) -> None:
    """Overwrites a loaded row with a changed value; the row keeps its id."""
    for name, item in _values(value).items():
        if name != "id":
            setattr(row, name, item)
