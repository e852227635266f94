"""The minutes writer against bare python-docx writing the same paragraphs and tables.

    .venv/bin/python benchmarks/minutes.py [--scales 1 2 4] [--repeat 3] [--style en|gbt9704]

At 1x the meeting has 50 departments, 200 agenda items with 10 notes each (2,000 notes), a
decision per item, a named vote with fifty departments' ballots on every tenth item and 100
action items. Each scale multiplies all of it. For each scale both writers run ``--repeat`` times
in this process, alternating, and the fastest run of each counts: ours is
`meetings.exports.docx.write` (styles, header rows, unsplittable rows, page-number footers, the
reproducible re-zip); the baseline is a bare `docx.Document()` with ``add_paragraph(text)`` for
the same paragraphs and ``add_row().cells`` for the same table rows, saved to bytes. Printed:
both times, their ratio (goal: at most 1.5) and our time per 1x of content (linear: flat).
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from datetime import date

import docx

from meetings.domain.minutes import (
    ActionLine,
    AgendaLine,
    Approval,
    AttendanceLine,
    DecisionLine,
    Minutes,
    MotionLine,
    NoteLine,
    Topic,
    VoteLine,
)
from meetings.domain.model import (
    ActionStatus,
    AttendanceStatus,
    Choice,
    MajorityRule,
    MeetingKind,
    MotionKind,
    NoteKind,
)
from meetings.exports.docx import Style, write

STATUSES = list(AttendanceStatus)
CHOICES = list(Choice)


def meeting(scale: int) -> Minutes:
    """The benchmark meeting at ``scale`` times the 1x size."""
    codes = [f"D{i:03d}" for i in range(50 * scale)]
    attendance = tuple(AttendanceLine(code, f"Department {code} of the city", STATUSES[i % 4],
                                      f"CIO {code}", "travelling" if i % 4 == 2 else "")
                       for i, code in enumerate(codes))
    agenda = tuple(AgendaLine(i, f"Agenda item {i}: shared data platform, phase {i % 7}",
                              i % 50 == 0, codes[i % len(codes)]) for i in range(200 * scale))
    topics = []
    for item in agenda:
        notes = tuple(NoteLine(NoteKind.INFO if n % 2 else NoteKind.IDEA,
                               f"Note {n} on item {item.id}: the departments report progress "
                               "on the catalogue, the licences and the budget for next year.",
                               f"CIO {codes[(item.id + n) % len(codes)]}") for n in range(10))
        motions: tuple[MotionLine, ...] = ()
        if item.id % 10 == 0:
            # Fifty ballots a vote at every scale, so the content (and the work) grows linearly.
            voters = [codes[(item.id + i) % len(codes)] for i in range(50)]
            votes = tuple(VoteLine(code, CHOICES[i % 3]) for i, code in enumerate(voters))
            motions = (MotionLine(item.id, MotionKind.NAMED, f"Adopt item {item.id}",
                                  MajorityRule.SIMPLE, 17, 17, 16, len(codes), True,
                                  "a1b2c3d4e5f6", votes),)
        topics.append(Topic(item, notes, motions,
                            (DecisionLine(item.id, f"Item {item.id} goes ahead as proposed"),)))
    actions = tuple(ActionLine(i, codes[i % len(codes)], f"Follow up item {i} with the vendors",
                               date(2027, 1, 1 + i % 28), ActionStatus.OPEN)
                    for i in range(100 * scale))
    return Minutes("Riverside CIO Council", 7, MeetingKind.REGULAR, date(2026, 12, 10), "14:30",
                   "18:00", "City Hall", "Li Wei", "", attendance, (), agenda, tuple(topics), (),
                   actions, (), date(2027, 2, 11), Approval(1, "Secretariat"))


def bare(minutes: Minutes) -> bytes:
    """The same paragraphs and table rows with nothing but python-docx's defaults."""
    document = docx.Document()

    def table(header: list[str], rows: list[list[str]]) -> None:
        grid = document.add_table(rows=1, cols=len(header))
        for cell, text in zip(grid.rows[0].cells, header, strict=True):
            cell.text = text
        for values in rows:
            for cell, text in zip(grid.add_row().cells, values, strict=True):
                cell.text = text

    add = document.add_paragraph
    add(f"{minutes.council}: minutes of meeting No. {minutes.number}")
    add(f"Regular meeting · {minutes.day}, {minutes.starts}–{minutes.ends} · {minutes.place}")
    add(f"Chair: {minutes.chair}")
    add("Attendance")
    table(["Department", "Code", "Represented by", "Status", "Note"],
          [[a.department, a.code, a.person, a.status.value, a.reason]
           for a in minutes.attendance])
    add("Agenda")
    for number, item in enumerate(minutes.agenda, 1):
        add(f"{number}. #{item.id} {item.title} ({item.department})")
    add("Proceedings")
    for topic in minutes.topics:
        add(f"#{topic.item.id} {topic.item.title}" if topic.item else "General business")
        for note in topic.notes:
            add(f"{note.kind.value} ({note.author}): {note.text}")
        for motion in topic.motions:
            add(f"Motion M{motion.id}: {motion.text}")
            add(f"Result: {motion.yes} yes, {motion.no} no, {motion.abstain} abstain")
            table(["Department", "Vote"], [[v.code, v.choice.value] for v in motion.votes])
        for decision in topic.decisions:
            add(f"Decision D{decision.id}: {decision.text}")
    add("Action items")
    table(["ID", "Owner", "Action", "Due", "Status"],
          [[f"A{a.id}", a.code, a.text, a.due.isoformat(), a.status.value]
           for a in minutes.actions])
    add(f"Next meeting: {minutes.next_meeting}")
    add("Approval")
    table(["Version", "Drafted by", "Approved by", "Approved on"], [["1", "Secretariat", "", ""]])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def fastest(run: Callable[[], bytes], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--style", choices=["en", "gbt9704"], default="en")
    args = parser.parse_args()
    style: Style = args.style
    print(f"style {style}; fastest of {args.repeat} runs each")
    print(f"{'scale':>5} {'items':>6} {'notes':>6} {'depts':>5} {'ours s':>8} {'bare s':>8} "
          f"{'ratio':>6} {'ours s/1x':>10} {'KB':>6}")
    for scale in args.scales:
        minutes = meeting(scale)
        ours = fastest(lambda m=minutes: write(m, style), args.repeat)  # type: ignore[misc]
        baseline = fastest(lambda m=minutes: bare(m), args.repeat)  # type: ignore[misc]
        size = len(write(minutes, style)) // 1024
        notes = sum(len(t.notes) for t in minutes.topics)
        print(f"{scale:>4}x {len(minutes.agenda):>6} {notes:>6} {len(minutes.attendance):>5} "
              f"{ours:>8.2f} {baseline:>8.2f} {ours / baseline:>6.2f} {ours / scale:>10.2f} "
              f"{size:>6}", flush=True)


if __name__ == "__main__":
    main()
