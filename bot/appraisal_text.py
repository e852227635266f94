"""The appraisal as text, in the council's language: the compact table the chat and the command
line show, and a person's card with the records behind every figure."""

from __future__ import annotations

from bot.i18n import N_, translate
from bot.i18n.words import date_text
from meetings.domain.appraisal import Appraisal, Explained, Rate, Ref, Row, Weights

_REFS = {"meeting": N_("meeting S{id} ({day})"), "item": N_("item #{id} ({day})"),
         "motion": N_("motion M{id} ({day})"), "action": N_("action A{id} (due {day})")}
FIGURE_NAMES = {
    "held": N_("meetings held"), "present": N_("present in person"), "proxy": N_("by proxy"),
    "excused": N_("excused"), "absent": N_("absent"), "proposed": N_("items proposed"),
    "accepted": N_("items accepted"), "major": N_("major items"),
    "eligible_votes": N_("votes eligible"), "votes_cast": N_("votes cast"),
    "actions": N_("actions assigned"), "on_time": N_("done on time"), "late": N_("done late"),
    "open": N_("still open"), "overdue": N_("overdue"),
}
_RATES = {"attendance": N_("attendance"), "agenda": N_("agenda contribution"),
          "votes": N_("vote participation"), "actions": N_("actions on time")}


def weights_line(language: str, weights: Weights) -> str:
    excused = (N_("excused absences are left out") if weights.excused_neutral
               else N_("excused absences count as absent"))
    return translate(language, "Weights: attendance {attendance}, agenda {agenda}, votes "
                     "{votes}, actions on time {actions}; {excused}; a proxy is not attendance.",
                     attendance=weights.attendance, agenda=weights.agenda, votes=weights.votes,
                     actions=weights.actions, excused=translate(language, excused))


def _score(row: Row) -> str:
    return "—" if row.score is None else f"{row.score:g}"


def row_line(language: str, row: Row) -> str:
    t = row.tally
    return translate(
        language, "{code} {name} ({since}–{until}): present {present}/{held} (proxy {proxy}, "
        "excused {excused}, absent {absent}) · items {accepted}/{proposed} · votes {cast}/"
        "{eligible} · actions on time {on_time}/{due} · score {score}",
        code=row.department_code, name=row.member_name, since=row.since.strftime("%m-%d"),
        until=row.until.strftime("%m-%d"), present=t.present, held=t.held, proxy=t.proxy,
        excused=t.excused, absent=t.absent, accepted=t.accepted, proposed=t.proposed,
        cast=t.votes_cast, eligible=t.eligible_votes, on_time=t.on_time,
        due=t.on_time + t.late + t.overdue, score=_score(row))


def table_text(language: str, table: Appraisal) -> str:
    """The council's table, one line per person (the chat splits it under Telegram's limit)."""
    lines = [translate(language, "Appraisal of {council}, {period}", council=table.council_name,
                       period=table.period.label),
             weights_line(language, table.weights), ""]
    lines += [row_line(language, row) for row in table.rows]
    if not table.rows:
        lines.append(translate(language, "No CIO served in this period."))
    return "\n".join(lines)


def ref_text(language: str, ref: Ref) -> str:
    return translate(language, _REFS[ref.kind], id=ref.id, day=date_text(language, ref.day))


def _rate_line(language: str, rate: Rate) -> str:
    name = translate(language, _RATES[rate.name])
    if rate.value is None:
        return translate(language, "{name} (weight {weight}): nothing to judge, left out",
                         name=name, weight=rate.weight)
    return translate(language, "{name} (weight {weight}): {numerator}/{denominator} = {percent}%",
                     name=name, weight=rate.weight, numerator=rate.numerator,
                     denominator=rate.denominator, percent=round(100 * rate.value, 1))


def evidence(language: str, card: Explained) -> dict[str, list[str]]:
    """Figure name -> the records behind it, as text (for the report)."""
    return {name: [ref_text(language, ref) for ref in refs]
            for name, refs in card.evidence.items()}


def card_text(language: str, card: Explained) -> str:
    """A person's card: each figure with the records it counts, then how the score was made."""
    row = card.row
    lines = [translate(language, "Appraisal card of {name}, CIO of {department} ({code}), "
                       "{period}: {since} to {until}", name=row.member_name,
                       department=row.department_name, code=row.department_code,
                       period=card.period.label, since=date_text(language, row.since),
                       until=date_text(language, row.until)),
             translate(language, "Score: {score}", score=_score(row)), ""]
    for name, label in FIGURE_NAMES.items():
        refs = card.evidence.get(name, ())
        figure = translate(language, "{label}: {value}", label=translate(language, label),
                           value=getattr(row.tally, name))
        if refs:
            figure += " — " + ", ".join(ref_text(language, ref) for ref in refs)
        lines.append(figure)
    lines += ["", *(_rate_line(language, rate) for rate in card.rates),
              weights_line(language, card.weights)]
    return "\n".join(lines)
