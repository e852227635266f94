"""Migration 0008 gives each council a majority base and a quorum of more than its share, and
each motion the basis it is judged by, without changing a declared result; on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from storage.db import sync_url
from storage.migrate import check_drift, current, downgrade, head, upgrade

AT = "2026-11-25 02:00:00.000000"


def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _store_votes_at_0007(url: str) -> None:
    """Two councils: one with an absolute majority; five departments with a CIO in the first.
    Its motion 1 was declared with 6 eligible (quorum then 3 of 6), motion 2 is still open."""
    for connection in _connection(url):
        run = connection.execute
        for council_id, rule in ((1, "simple"), (2, "absolute")):
            run(text("INSERT INTO councils (id, name, timezone, language, holiday_country, "
                     "majority_rule, quorum, max_major_issues, agenda_call_days, "
                     "agenda_deadline_days) VALUES (:id, :name, 'Asia/Shanghai', 'en', 'CN', "
                     ":rule, 0.5, 2, 14, 3)"), {"id": council_id, "name": f"C{council_id}",
                                                 "rule": rule})
        for number in range(1, 7):
            run(text("INSERT INTO departments (id, council_id, code, name) "
                     "VALUES (:id, 1, :code, 'd')"), {"id": number, "code": f"D{number}"})
            if number <= 5:
                run(text("INSERT INTO members (id, council_id, name, role, department_id) "
                         "VALUES (:id, 1, 'cio', 'cio', :id)"), {"id": number})
        run(text("INSERT INTO motions (id, council_id, kind, text, rule, quorum, opened_at, "
                 "state, eligible, yes, no, abstain, passed, digest) VALUES "
                 "(1, 1, 'named', 'm', 'simple', 0.5, :at, 'closed', 6, 2, 1, 0, true, 'x'), "
                 "(2, 1, 'circular', 'm', 'simple', 0.5, :at, 'open', NULL, NULL, NULL, NULL, "
                 "NULL, ''), "
                 "(3, 2, 'circular', 'm', 'absolute', 0.5, :at, 'closed', 4, 3, 0, 0, true, 'y')"),
            {"at": AT})


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    for connection in _connection(url):
        return [tuple(row) for row in connection.execute(text(query))]
    raise AssertionError("no connection")


def _columns(url: str, table: str) -> list[str]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    names = [column["name"] for column in inspect(engine).get_columns(table)]
    engine.dispose()
    return names


def test_declared_results_keep_their_basis(database_url: str) -> None:
    """A declared motion keeps the electorate and quorum it was judged by (6, and 3 = half of
    6 rounded up); an open one takes the membership now (5) and the new quorum (more than half:
    3); an absolute majority's base is the members."""
    upgrade(database_url, "0007")
    _store_votes_at_0007(database_url)

    upgrade(database_url)

    assert _rows(database_url, "SELECT id, majority_base, quorum_over FROM councils "
                               "ORDER BY id") == [(1, "cast", True), (2, "members", True)]
    assert _rows(database_url, "SELECT id, base, membership, quorum_needed FROM motions "
                               "ORDER BY id") == [(1, "cast", 6, 3), (2, "cast", 5, 3),
                                                  (3, "members", 4, 2)]
    assert check_drift(database_url) == []


def test_the_basis_comes_off_and_back(database_url: str) -> None:
    """Downgrading to 0007 drops the new columns; upgrading fills them again."""
    upgrade(database_url, "0007")
    _store_votes_at_0007(database_url)
    upgrade(database_url)

    downgrade(database_url, "0007")
    assert [name in _columns(database_url, "motions")
            for name in ("base", "membership", "quorum_needed")] == [False] * 3
    assert [name in _columns(database_url, "councils")
            for name in ("majority_base", "quorum_over")] == [False] * 2
    upgrade(database_url)

    assert current(database_url) == head()
    assert _rows(database_url, "SELECT id, membership, quorum_needed FROM motions "
                               "ORDER BY id") == [(1, 6, 3), (2, 5, 3), (3, 4, 2)]
