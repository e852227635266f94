"""Migration 0004 numbers the notes and /agreed decisions already stored, in the audit log's
order, and comes off again, on both engines."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.pool import NullPool

from storage.db import sync_url
from storage.migrate import check_drift, current, downgrade, head, upgrade

AT = "2026-11-25 02:00:00.000000"  # every record shares one instant: only the log orders them


def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _store_a_meeting_at_0003(url: str) -> None:
    """Two meetings; in the first, by the log: note 2, decision 1, note 1, then a vote's
    decision 2 and note 3, which the log does not name."""
    for connection in _connection(url):
        run = connection.execute
        run(text("INSERT INTO councils (id, name, timezone, language, holiday_country, "
                 "majority_rule, quorum, max_major_issues, agenda_call_days, "
                 "agenda_deadline_days) VALUES (1, 'C', 'Asia/Shanghai', 'en', 'CN', 'simple', "
                 "0.5, 2, 14, 3)"))
        run(text("INSERT INTO members (id, council_id, name, role) VALUES (1, 1, 'Li', 'chair')"))
        for meeting_id in (1, 2):
            run(text("INSERT INTO meetings (id, council_id, kind, starts_at, duration_minutes, "
                     "title, location, state, moved_reason) VALUES (:id, 1, 'extraordinary', "
                     ":at, 120, '', '', 'in_progress', '')"), {"id": meeting_id, "at": AT})
        for note_id, meeting_id in ((1, 1), (2, 1), (3, 1), (4, 2)):
            run(text("INSERT INTO notes (id, meeting_id, kind, text, author_id, created_at) "
                     "VALUES (:id, :meeting, 'info', 'n', 1, :at)"),
                {"id": note_id, "meeting": meeting_id, "at": AT})
        run(text("INSERT INTO motions (id, council_id, kind, text, rule, quorum, opened_at, "
                 "state) VALUES (1, 1, 'named', 'm', 'simple', 0.5, :at, 'closed')"), {"at": AT})
        for decision_id, motion_id in ((1, None), (2, 1)):
            run(text("INSERT INTO decisions (id, council_id, text, created_at, meeting_id, "
                     "motion_id) VALUES (:id, 1, 'd', :at, 1, :motion)"),
                {"id": decision_id, "at": AT, "motion": motion_id})
        log = [("note.add", '{"meeting": 1, "note": 2}'),
               ("decision.agreed", '{"decision": 1, "meeting": 1}'),
               ("note.add", '{"meeting": 1, "note": 1}'),
               ("note.add", '{"meeting": 2, "note": 4}'),
               ("motion.close", '{"motion": 1}')]
        for seq, (action, payload) in enumerate(log, start=1):
            run(text("INSERT INTO audit_events (council_id, seq, at, actor, action, payload, "
                     "prev_hash, hash) VALUES (1, :seq, :at, 'cli', :action, :payload, '', '')"),
                {"seq": seq, "at": AT, "action": action, "payload": payload})


def _numbers(url: str, table: str) -> dict[int, int | None]:
    for connection in _connection(url):
        rows = connection.execute(text(f"SELECT id, seq FROM {table} ORDER BY id"))
        return {int(record_id): seq for record_id, seq in rows}
    raise AssertionError("no connection")


def _columns(url: str, table: str) -> list[str]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    names = [column["name"] for column in inspect(engine).get_columns(table)]
    engine.dispose()
    return names


def test_existing_records_are_numbered_in_the_logs_order(database_url: str) -> None:
    """Per meeting, the log's order numbers the records (not ids, times being equal); one the
    log never named comes after; a vote's decision stays unnumbered."""
    upgrade(database_url, "0003")
    _store_a_meeting_at_0003(database_url)

    upgrade(database_url)

    assert _numbers(database_url, "notes") == {1: 3, 2: 1, 3: 4, 4: 1}
    assert _numbers(database_url, "decisions") == {1: 2, 2: None}
    assert check_drift(database_url) == []


def test_the_numbers_come_off_and_back(database_url: str) -> None:
    """Downgrading to 0003 drops the numbers and their unique keys; upgrading numbers again."""
    upgrade(database_url, "0003")
    _store_a_meeting_at_0003(database_url)
    upgrade(database_url)

    downgrade(database_url, "0003")
    assert ("seq" in _columns(database_url, "notes"), "seq" in _columns(database_url, "decisions")
            ) == (False, False)
    upgrade(database_url)

    assert current(database_url) == head()
    assert _numbers(database_url, "notes") == {1: 3, 2: 1, 3: 4, 4: 1}
