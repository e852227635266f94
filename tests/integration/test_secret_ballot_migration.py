"""Migration 0010 moves the secret ballots already stored into has-voted rows and a ballot box,
deletes the ballots that linked voters to choices, rehashes the declared digest over the box and
scrubs the handled presses on secret motions from the inbox, on both engines."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.pool import NullPool

from meetings.domain import votes
from meetings.domain.model import Choice
from storage.db import sync_url
from storage.migrate import check_drift, upgrade

AT = "2026-11-25 02:00:00.000000"


def _connection(url: str) -> Iterator[Connection]:
    engine = create_engine(sync_url(url), poolclass=NullPool)
    with engine.begin() as connection:
        yield connection
    engine.dispose()


def _press(update_id: int, data: str) -> str:
    return json.dumps({"update_id": update_id, "callback_query": {
        "id": str(update_id), "chat_instance": "c", "data": data,
        "from": {"id": 70, "is_bot": False, "first_name": "Li"}}})


def _store_votes_at_0007(url: str) -> None:
    """A closed secret motion (M1) with three departments' current ballots and one superseded,
    a named motion (M2) with one ballot, and three presses in the inbox: M1's handled and
    unhandled, M2's handled."""
    for connection in _connection(url):
        run = connection.execute
        run(text("INSERT INTO councils (id, name, timezone, language, holiday_country, "
                 "majority_rule, quorum, max_major_issues, agenda_call_days, "
                 "agenda_deadline_days) VALUES (1, 'C', 'Asia/Shanghai', 'en', 'CN', 'simple', "
                 "0.5, 2, 14, 3)"))
        for department_id in (1, 2, 3):
            run(text("INSERT INTO departments (id, council_id, code, name) "
                     "VALUES (:id, 1, :code, 'd')"), {"id": department_id,
                                                      "code": f"D{department_id}"})
            run(text("INSERT INTO members (id, council_id, name, role, department_id) "
                     "VALUES (:id, 1, 'cio', 'cio', :id)"), {"id": department_id})
        for motion_id, kind in ((1, "secret"), (2, "named")):
            run(text("INSERT INTO motions (id, council_id, kind, text, rule, quorum, opened_at, "
                     "state, digest) VALUES (:id, 1, :kind, 'm', 'simple', 0.5, :at, 'open', "
                     "'oldpairshash')"), {"id": motion_id, "kind": kind, "at": AT})
        for ballot_id, motion_id, department_id, choice, current in [
                (1, 1, 1, "no", False), (2, 1, 1, "yes", True), (3, 1, 2, "no", True),
                (4, 1, 3, "yes", True), (5, 2, 1, "abstain", True)]:
            run(text("INSERT INTO ballots (id, motion_id, member_id, department_id, choice, "
                     "cast_at, current) VALUES (:id, :m, :d, :d, :c, :at, :cur)"),
                {"id": ballot_id, "m": motion_id, "d": department_id, "c": choice, "at": AT,
                 "cur": current})
        run(text("UPDATE motions SET state = 'closed'"))  # the ballots trigger wants it open
        for update_id, data, handled in [(11, "v:1:y", AT), (12, "v:1:n", None),
                                         (13, "v:2:a", AT)]:
            run(text("INSERT INTO update_inbox (bot, update_id, payload, received_at, "
                     "handled_at) VALUES ('b', :id, :payload, :at, :handled)"),
                {"id": update_id, "payload": _press(update_id, data), "at": AT,
                 "handled": handled})


def test_stored_secret_ballots_become_a_box_and_lose_their_links(database_url: str) -> None:
    """After the upgrade M1 has three has-voted rows and a box of 2 yes and 1 no, no ballot
    rows, and the digest of its box; M2 keeps its ballot and digest; the handled press on M1
    lost its data, the unhandled one (still to be cast) and M2's kept theirs."""
    upgrade(database_url, "0007")
    _store_votes_at_0007(database_url)

    upgrade(database_url)

    for connection in _connection(database_url):
        def rows(query: str, db: Connection = connection) -> list[tuple[object, ...]]:
            return [tuple(row) for row in db.execute(text(query))]

        assert rows("SELECT motion_id, department_id, member_id FROM secret_votes "
                    "ORDER BY department_id") == [(1, 1, 1), (1, 2, 2), (1, 3, 3)]
        assert sorted(rows("SELECT motion_id, choice, ballots FROM ballot_box")) == [
            (1, "abstain", 0), (1, "no", 1), (1, "yes", 2)]
        assert rows("SELECT id, motion_id FROM ballots") == [(5, 2)]
        box = votes.SecretBox(1, frozenset({1, 2, 3}),
                              {Choice.YES: 2, Choice.NO: 1, Choice.ABSTAIN: 0})
        assert rows("SELECT id, digest FROM motions ORDER BY id") == [
            (1, votes.box_digest(box)), (2, "oldpairshash")]
        payloads = {int(str(i)): json.loads(str(p)) for i, p in rows(
            "SELECT update_id, payload FROM update_inbox")}
        assert "data" not in payloads[11]["callback_query"]
        assert payloads[12]["callback_query"]["data"] == "v:1:n"
        assert payloads[13]["callback_query"]["data"] == "v:2:a"
    assert check_drift(database_url) == []


def test_the_migrations_digest_is_the_domains() -> None:
    """The migration's frozen copy of the box digest agrees with `votes.box_digest`."""
    lines = sorted(["7:voted:4", "7:voted:9", "7:box:yes:1", "7:box:no:1", "7:box:abstain:0"])
    frozen = hashlib.sha256("\n".join(lines).encode()).hexdigest()[:12]
    box = votes.SecretBox(7, frozenset({4, 9}), {Choice.YES: 1, Choice.NO: 1, Choice.ABSTAIN: 0})
    assert votes.box_digest(box) == frozen
