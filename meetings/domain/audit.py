"""The audit log's hash chain.

Each event's hash covers its own content and the previous event's hash, so editing, deleting or
reordering any stored event breaks every link after it. The genesis link is a fixed string rather
than empty so a truncated log cannot pass as a fresh one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from meetings.domain.model import AuditEvent

GENESIS = "0" * 64


def canonical_json(payload: Mapping[str, object]) -> str:
    """A byte-stable JSON text: sorted keys, no whitespace, non-ASCII kept as is."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=str)


def _digest(council_id: int, seq: int, at: datetime, actor: str, action: str, payload: str,
            prev_hash: str) -> str:
    # Timestamps are hashed in UTC at microsecond precision, the most both engines store.
    stamp = at.astimezone(UTC).isoformat(timespec="microseconds")
    material = "\x1f".join([str(council_id), str(seq), stamp, actor, action, payload, prev_hash])
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def seal(
    previous: AuditEvent | None,
    *,
    council_id: int,
    at: datetime,
    actor: str,
    action: str,
    payload: Mapping[str, object],
) -> AuditEvent:
    """The next event of a council's chain, linked to ``previous`` (None for the first)."""
    seq = previous.seq + 1 if previous else 1
    prev_hash = previous.hash if previous else GENESIS
    text = canonical_json(payload)
    return AuditEvent(
        council_id=council_id,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        payload=text,
        prev_hash=prev_hash,
        hash=_digest(council_id, seq, at, actor, action, text, prev_hash),
    )


@dataclass(frozen=True, slots=True)
class ChainBreak:
    council_id: int
    seq: int
    reason: str


def verify(events: Iterable[AuditEvent]) -> list[ChainBreak]:
    """Every place where a council's chain does not hold; empty when the log is intact.

    ``events`` may mix councils; each council's events must come in sequence order.
    """
    breaks: list[ChainBreak] = []
    last: dict[int, AuditEvent] = {}
    for event in events:
        previous = last.get(event.council_id)
        expected_seq = previous.seq + 1 if previous else 1
        expected_prev = previous.hash if previous else GENESIS
        if event.seq != expected_seq:
            breaks.append(ChainBreak(event.council_id, event.seq,
                                     f"sequence jumps from {expected_seq - 1} to {event.seq}"))
        elif event.prev_hash != expected_prev:
            breaks.append(ChainBreak(event.council_id, event.seq,
                                     "does not link to the event before it"))
        else:
            recomputed = _digest(event.council_id, event.seq, event.at, event.actor,
                                 event.action, event.payload, event.prev_hash)
            if recomputed != event.hash:
                breaks.append(ChainBreak(event.council_id, event.seq,
                                         "content does not match its hash (edited)"))
        last[event.council_id] = event
    return breaks
