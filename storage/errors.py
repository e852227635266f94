"""Database errors in the domain's words, and which ones are worth running again.

Both drivers say precisely what failed (PostgreSQL's SQLSTATE, sqlite3's extended error name), so
no error message is parsed except the ones our own triggers raise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from meetings.domain.errors import Duplicate, InvalidInput, InvalidState, NotFound, VotingClosed

# The message of the ballot trigger in the initial migration; the text is how we recognise it.
MOTION_NOT_OPEN = "motion_not_open"
# The message of the minutes triggers in migration 0007.
MINUTES_APPEND_ONLY = "minutes_revisions_append_only"
# The message of the PostgreSQL trigger keeping a chair (migration 0013).
KEEP_A_CHAIR = "members_keep_a_chair"


class Conflict(Exception):
    """A concurrent transaction wrote the same rows first.

    Nothing was stored; running the whole unit of work again (`storage.uow.retrying`) sees the
    other transaction's result and usually succeeds.
    """


_VIOLATIONS = {
    "23505": "unique", "SQLITE_CONSTRAINT_UNIQUE": "unique",
    "SQLITE_CONSTRAINT_PRIMARYKEY": "unique",
    "23503": "reference", "SQLITE_CONSTRAINT_FOREIGNKEY": "reference",
    "23514": "value", "SQLITE_CONSTRAINT_CHECK": "value",
    "23502": "value", "SQLITE_CONSTRAINT_NOTNULL": "value",
}
# Serialization failure, deadlock, lock not available; SQLite still busy after its busy timeout.
_TRANSIENT = {"40001", "40P01", "55P03", "SQLITE_BUSY", "SQLITE_BUSY_SNAPSHOT", "SQLITE_LOCKED"}


def _code(err: DBAPIError) -> str | None:
    code = getattr(err.orig, "sqlstate", None) or getattr(err.orig, "sqlite_errorname", None)
    return code if isinstance(code, str) else None


@contextmanager
def translated(*, duplicate: Exception | None = None) -> Iterator[None]:
    """Turns constraint violations inside the block into domain errors.

    ``duplicate`` says what a unique violation means at this call site: which value the user
    repeated, or a `Conflict` with a concurrent writer that deserves a retry.
    """
    try:
        yield
    except IntegrityError as err:
        if MOTION_NOT_OPEN in str(err.orig):
            raise VotingClosed("voting on this motion has closed") from err
        if MINUTES_APPEND_ONLY in str(err.orig):
            raise InvalidState("a stored revision of the minutes is never changed") from err
        if KEEP_A_CHAIR in str(err.orig):
            raise InvalidState("the council would be left without a chair: hand the chair "
                               "over instead (/role <user> chair)") from err
        kind = _VIOLATIONS.get(_code(err) or "")
        if kind == "unique":
            raise (duplicate or Duplicate("this is already recorded")) from err
        if kind == "reference":
            raise NotFound("this refers to something that does not exist") from err
        if kind == "value":
            raise InvalidInput("a value is missing or out of range") from err
        raise


def is_transient(err: BaseException) -> bool:
    """Whether running the same unit of work again may succeed."""
    if isinstance(err, Conflict):
        return True
    return isinstance(err, DBAPIError) and _code(err) in _TRANSIENT


# PostgreSQL: connection exceptions (class 08), and the server shutting down or starting up.
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03"}


def is_unavailable(err: BaseException) -> bool:
    """Whether the database could not be reached at all (down, restarting, the connection cut):
    the same work succeeds once it is back, so it is put off rather than reported as failed."""
    if not isinstance(err, DBAPIError):
        return False
    if err.connection_invalidated:
        return True
    code = _code(err)
    if code is None:
        # The driver never got an answer from a server: refused, reset, timed out.
        return isinstance(err, OperationalError)
    return code.startswith("08") or code in _UNAVAILABLE_STATES or code == "SQLITE_CANTOPEN"
