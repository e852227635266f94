"""The use cases, one module per capability: authorise -> load -> rules -> store -> commit.

Each is a short async function taking the unit of work, the acting party and ``now``; the rules
they apply live in `meetings.domain`. Callers name the capability: ``usecases.agenda.propose_item``.
"""

from meetings.usecases import (
    actions,
    agenda,
    appraisal,
    calendar,
    common,
    councils,
    meeting,
    minutes,
    outbox,
    schedule,
    voting,
)

__all__ = ["actions", "agenda", "appraisal", "calendar", "common", "councils", "meeting",
           "minutes", "outbox", "schedule", "voting"]
