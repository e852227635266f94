"""`cio-council`: the command line and composition root (settings -> storage -> use cases).

Errors a user can fix are one line on stderr with exit code 2, and nothing is written.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import DBAPIError, OperationalError

from bot import logs
from bot.appraisal_text import card_text, evidence, table_text, weights_line
from bot.clock import SystemClock
from bot.demo import DemoRefused, run_demo
from bot.links import feed_links
from bot.meeting_table import local_start, meeting_table, short_notice_note
from bot.runner import ServeError
from bot.runner import serve as run_service
from bot.settings import Settings, SettingsError, load_settings
from bot.telegram.render import rules_text, series_change_lines, series_meetings
from bot.web.links import minutes_link
from meetings import usecases
from meetings.domain.appraisal import Appraisal, Explained, parse_period
from meetings.domain.errors import CouncilError, SlotTaken
from meetings.domain.model import Council, Meeting, Role, meeting_ref, parse_meeting_ref
from meetings.exports import appraisal as exports
from meetings.exports.appraisal import ExportError
from meetings.ports import Clock, UnitOfWork
from storage import Database, backup, migrate
from storage.db import missing_sqlite_file

try:  # typer 0.26 and later carry their own copy of click; its exceptions are not click's
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover -- older typer on plain click
    from click import exceptions as click_errors  # type: ignore[no-redef]  # same names

T = TypeVar("T")
EXIT_USAGE = 2

class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"
    DOCX = "docx"
    PNG = "png"


PeriodOption = Annotated[str, typer.Option(
    "--period", "-p", help="2026, 2026-H1, 2026-Q3 or 2026-01-01..2026-03-31.")]


def _meeting_parser(text: str) -> int:
    """A meeting as the chat and `meetings list` show it, S12, or by its older form 12."""
    found = parse_meeting_ref(text)
    if found is None:
        raise typer.BadParameter(
            f"{text!r} is not a meeting id: give it as `meetings list` shows it, e.g. S12")
    return found


MeetingArgument = Annotated[int, typer.Argument(
    metavar="MEETING", parser=_meeting_parser, help="Meeting id: S12 (or the older 12).")]
CouncilOption = Annotated[
    str | None, typer.Option("--council", "-c", help="Council id or name (optional if only one).")
]


class _Context:
    """What every command needs, built lazily so `--help` works without a database."""

    def __init__(self, clock: Clock, out: Console, err: Console) -> None:
        self.clock = clock
        self.out = out
        self.err = err

    def settings(self) -> Settings:
        try:
            return load_settings()
        except SettingsError as error:
            self.fail(str(error))

    def fail(self, message: str) -> NoReturn:
        self.err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_USAGE)

    @contextmanager
    def database(self, url: str) -> Iterator[None]:
        """Turns a database that cannot be reached or opened into one `error:` line."""
        try:
            yield
        except (OperationalError, DBAPIError) as error:
            reason = str(error.orig or error).strip().splitlines()[0]
            self.fail(f"cannot use the database at {_redact(url)}: {reason}")
        except OSError as error:
            self.fail(f"cannot use the database at {_redact(url)}: {error.strerror or error}")

    def existing_url(self) -> str:
        """The database URL, refusing an SQLite file that does not exist rather than creating
        an empty one."""
        url = self.settings().effective_database_url
        missing = missing_sqlite_file(url)
        if missing is not None:
            self.fail(f"there is no database at {missing}; run `cio-council init` first")
        return url

    def run(self, work: Callable[[UnitOfWork], Awaitable[T]], *, migrated: bool = True) -> T:
        url = self.existing_url()
        with self.database(url):
            if migrated:
                state = migrate.status(url)
                if state != "current":
                    self.fail(f"the database is {state}; run `cio-council init` first")

            async def go() -> T:
                database = Database(url)
                try:
                    return await work(database.uow())
                finally:
                    await database.dispose()

            try:
                return asyncio.run(go())
            except CouncilError as error:
                self.fail(str(error))


def make_app(clock: Clock | None = None, console: Console | None = None,
             err_console: Console | None = None) -> typer.Typer:
    """The CLI; tests inject a fixed clock and capture the consoles."""
    ctx = _Context(clock or SystemClock(), console or Console(),
                   err_console or Console(stderr=True))
    app = typer.Typer(help="CIO Council: meetings, votes and minutes for government CIO councils.",
                      no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                      rich_markup_mode="markdown")

    @app.callback()
    def root(_version: Annotated[bool, typer.Option(
            "--version", callback=_show_version, is_eager=True,
            help="Print the version and exit.")] = False) -> None:
        """CIO Council: meetings, votes and minutes for government CIO councils."""
    council_app = typer.Typer(help="Create and list councils.", no_args_is_help=True)
    department_app = typer.Typer(help="Departments of a council.", no_args_is_help=True)
    member_app = typer.Typer(help="Members of a council and their roles.", no_args_is_help=True)
    series_app = typer.Typer(help="The regular (bimonthly) meeting series.", no_args_is_help=True)
    meetings_app = typer.Typer(help="Single meetings: list, schedule, move, cancel.",
                               no_args_is_help=True)
    db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    export_app = typer.Typer(help="Files for people outside the chat: the minutes as Word "
                                  "files, the appraisal.", no_args_is_help=True)
    appraisal_app = typer.Typer(help="The CIOs' performance-appraisal tallies.",
                                no_args_is_help=True)
    calendar_app = typer.Typer(help="Calendar subscriptions: feed links and .ics exports.",
                               no_args_is_help=True)
    template_app = typer.Typer(help="The council's own template for its minutes.",
                               no_args_is_help=True)
    for sub, name in [(council_app, "council"), (department_app, "department"),
                      (member_app, "member"), (series_app, "series"), (meetings_app, "meetings"),
                      (db_app, "db"), (audit_app, "audit"), (export_app, "export"),
                      (appraisal_app, "appraisal"), (calendar_app, "calendar"),
                      (template_app, "template")]:
        app.add_typer(sub, name=name)

    def operator() -> usecases.common.Operator:
        return usecases.common.Operator("cli")

    async def council_of(uow: UnitOfWork, ref: str | None) -> Council:
        async with uow:
            return await usecases.common.council_by_ref(uow, ref)

    # --- set-up ---------------------------------------------------------------------------------

    @app.command()
    def init() -> None:
        """Create the database (SQLite in the data directory by default) and migrate it."""
        url = ctx.settings().effective_database_url
        with ctx.database(url):
            migrate.upgrade(url)
        ctx.out.print(f"Database ready at {_redact(url)} (schema {migrate.head()}).")

    @db_app.command("upgrade")
    def db_upgrade() -> None:
        """Apply pending migrations."""
        init()

    @db_app.command("status")
    def db_status() -> None:
        """Say whether the database schema is current."""
        url = ctx.settings().effective_database_url
        if missing_sqlite_file(url) is not None:
            ctx.out.print(f"{_redact(url)}: no database yet (run `cio-council init`)")
            return
        with ctx.database(url):
            ctx.out.print(f"{_redact(url)}: {migrate.status(url)}")

    @app.command()
    def serve(webhook: Annotated[bool, typer.Option(
            "--webhook", help="Receive updates on COUNCIL_PUBLIC_URL instead of long polling.",
    )] = False) -> None:
        """Run the bot and its web service. Without COUNCIL_BOT_TOKEN it runs the local demo."""
        settings = ctx.settings()
        if settings.bot_token is None:
            if settings.configured_storage:
                # A real installation whose token went missing must not "succeed" with a demo.
                ctx.fail("COUNCIL_BOT_TOKEN is not set, but a database or data directory is; "
                         "set the token (the demo runs only when nothing is configured)")
            ctx.out.print("[bold]No COUNCIL_BOT_TOKEN is set:[/] running the local demo.\n")
            demo(directory=None)
            return
        logs.configure(json_lines=settings.log_format == "json", level=settings.log_level,
                       secrets=logs.secrets_of(settings))
        # Alembic tells of each migration step, which is noise before a one-line error.
        logging.getLogger("alembic").setLevel(logging.WARNING)
        url = settings.effective_database_url
        try:
            with ctx.database(url):
                asyncio.run(run_service(settings, webhook=webhook, clock=ctx.clock))
        except ServeError as error:
            ctx.fail(str(error))

    @app.command()
    def demo(directory: Annotated[Path | None, typer.Option(
            "--dir", help="Where the demo keeps its data (default: ./council-demo).")] = None,
    ) -> None:
        """Play a whole council cycle in a local Telegram sandbox: set-up, the bimonthly series,
        agenda, a meeting with named and secret votes, an action and a circular vote."""
        try:
            run_demo(directory or Path("council-demo"), clock=ctx.clock, console=ctx.out)
        except DemoRefused as error:
            ctx.fail(str(error))

    # --- backups --------------------------------------------------------------------------------

    @app.command("backup")
    def backup_database(output: Annotated[Path, typer.Option(
            "--output", "-o", help="The file to write (replaced if it exists).")]) -> None:
        """Write a consistent copy of the database while the service runs (SQLite: the online
        backup API; PostgreSQL: pg_dump --format=custom)."""
        url = ctx.settings().effective_database_url
        try:
            size = backup.backup(url, output)
        except backup.BackupError as error:
            ctx.fail(str(error))
        ctx.out.print(f"Backup of {_redact(url)} written to {output} ({size} bytes).",
                      markup=False, highlight=False, soft_wrap=True)

    @app.command("restore")
    def restore_database(
        source: Annotated[Path, typer.Argument(help="A file written by `cio-council backup`.")],
        force: Annotated[bool, typer.Option(
            "--force", help="Replace a database that already holds data.")] = False,
    ) -> None:
        """Put a backup back; stop the service first. Refuses a database holding data
        without --force."""
        url = ctx.settings().effective_database_url
        try:
            backup.restore(url, source, force=force)
        except backup.BackupError as error:
            ctx.fail(str(error))
        state = migrate.status(url)
        ctx.out.print(f"Restored {source} into {_redact(url)}; the schema is {state}.",
                      markup=False, highlight=False, soft_wrap=True)
        if state != "current":
            ctx.out.print("Run `cio-council db upgrade` before starting the service.",
                          markup=False, highlight=False, soft_wrap=True)

    # --- councils -------------------------------------------------------------------------------

    @council_app.command("create")
    def council_create(
        name: str,
        timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "Asia/Shanghai",
        language: Annotated[str, typer.Option(help="en or zh.")] = "en",
        holiday_country: Annotated[str, typer.Option(help="ISO country for holidays.")] = "CN",
    ) -> None:
        """Create a council."""
        council = ctx.run(lambda uow: usecases.councils.create_council(
            uow, name=name, actor=operator(), now=ctx.clock.now(), timezone=timezone,
            language=language, holiday_country=holiday_country))
        ctx.out.print(f"Council {council.id} {council.name!r} created ({council.timezone}).")

    @council_app.command("list")
    def council_list() -> None:
        """List councils."""
        async def work(uow: UnitOfWork) -> list[Council]:
            async with uow:
                return list(await uow.councils.list())

        table = Table("id", "name", "time zone", "language", "holidays", title="Councils")
        for council in ctx.run(work):
            table.add_row(str(council.id), council.name, council.timezone, council.language,
                          council.holiday_country)
        ctx.out.print(table)

    @council_app.command("rules")
    def council_rules(
        action: Annotated[str, typer.Argument(help="show, or set <setting> <value>.")] = "show",
        words: Annotated[list[str] | None, typer.Argument(
            help="quorum 1/2 | majority simple|absolute|two_thirds [of cast|members] | "
                 "majors 2 | deadline 3d | call 14d.", show_default=False)] = None,
        council: CouncilOption = None,
    ) -> None:
        """Show the council's rules of procedure, or set one: `council rules set quorum 2/3`."""
        if action not in ("show", "set") or (action == "show") == bool(words) or (
                action == "set" and len(words or []) < 2):
            ctx.fail("usage: council rules [show | set <quorum|majority|majors|deadline|call> "
                     "<value>]")
        setting, *value = words or [""]

        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            if action == "set":
                found = await usecases.councils.set_rule(
                    uow, found.id, setting=setting, value=" ".join(value), actor=operator(),
                    now=ctx.clock.now())
            return rules_text("en", found)

        ctx.out.print(ctx.run(work), markup=False, highlight=False, soft_wrap=True)

    # --- departments ----------------------------------------------------------------------------

    @department_app.command("add")
    def department_add(code: str, name: str, council: CouncilOption = None) -> None:
        """Add a department, e.g. `department add EPB "Environmental Protection Bureau"`."""
        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            added = await usecases.councils.add_department(
                uow, found.id, code=code, name=name, actor=operator(), now=ctx.clock.now())
            return f"Department {added.code} ({added.name}) added to {found.name}."

        ctx.out.print(ctx.run(work))

    @department_app.command("list")
    def department_list(council: CouncilOption = None) -> None:
        """List a council's departments."""
        async def work(uow: UnitOfWork) -> Table:
            found = await council_of(uow, council)
            async with uow:
                departments = await uow.departments.list(found.id)
            table = Table("code", "name", title=f"Departments of {found.name}")
            for department in departments:
                table.add_row(department.code, department.name)
            return table

        ctx.out.print(ctx.run(work))

    # --- members --------------------------------------------------------------------------------

    @member_app.command("add")
    def member_add(
        name: str,
        role: Annotated[Role, typer.Option(help="The member's role.")],
        department: Annotated[str | None, typer.Option(help="Department code (CIOs).")] = None,
        telegram_id: Annotated[int | None, typer.Option(help="Telegram user id.")] = None,
        username: Annotated[str | None, typer.Option(help="Telegram @username.")] = None,
        council: CouncilOption = None,
    ) -> None:
        """Add a member with a role (a CIO needs --department)."""
        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            member = await usecases.councils.add_member(
                uow, found.id, name=name, role=role, actor=operator(), now=ctx.clock.now(),
                telegram_id=telegram_id, username=username, department=department)
            return f"Member {member.id} {member.name} added as {member.role.value}."

        ctx.out.print(ctx.run(work))

    @member_app.command("list")
    def member_list(council: CouncilOption = None) -> None:
        """The roster with roles and departments."""
        async def work(uow: UnitOfWork) -> Table:
            found = await council_of(uow, council)
            async with uow:
                members = await uow.members.list(found.id)
                codes = {d.id: d.code for d in await uow.departments.list(found.id)}
            table = Table("id", "name", "role", "department", "telegram",
                          title=f"Members of {found.name}")
            for member in members:
                table.add_row(str(member.id), member.name, member.role.value,
                              codes.get(member.department_id or 0, ""),
                              f"@{member.username}" if member.username else
                              str(member.telegram_id or ""))
            return table

        ctx.out.print(ctx.run(work))

    @member_app.command("role")
    def member_role(
        member: Annotated[str, typer.Argument(help="Member id, tg:<telegram id> or @username.")],
        role: Role,
        department: Annotated[str | None, typer.Option(help="Department code (CIOs).")] = None,
        council: CouncilOption = None,
    ) -> None:
        """Change a member's role; `chair` hands the chair over (the outgoing chair becomes an
        observer)."""
        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            change = await usecases.councils.set_role(
                uow, found.id, member_ref=member, role=role, actor=operator(),
                now=ctx.clock.now(), department=department)
            changed = change.member
            if change.former_chair is not None:
                former = change.former_chair
                return (f"{changed.name} is now the chair; {former.name} is now "
                        f"{former.role.value}.")
            return f"{changed.name} is now {changed.role.value}."

        ctx.out.print(ctx.run(work))

    # --- the series and meetings ----------------------------------------------------------------

    @series_app.command("set")
    def series_set(
        spec: Annotated[str, typer.Argument(
            help="A preset like 'bimonthly 2TH 14:30 120' or an RRULE like "
                 "'FREQ=MONTHLY;INTERVAL=2;BYDAY=+2TH 14:30'.")],
        starting: Annotated[str | None, typer.Option(
            help="First possible date, YYYY-MM-DD (default: today).")] = None,
        location: Annotated[str, typer.Option(help="Where the meetings take place.")] = "",
        council: CouncilOption = None,
    ) -> None:
        """Set the regular series and plan its meetings for the next twelve months."""
        first = _parse_date(ctx, starting) if starting else None

        async def work(uow: UnitOfWork) -> tuple[Council, usecases.schedule.SeriesSet]:
            found = await council_of(uow, council)
            return found, await usecases.schedule.replace_series(
                uow, found.id, spec=spec, actor=operator(), now=ctx.clock.now(),
                starting=first, location=location)

        found, done = ctx.run(work)
        ctx.out.print(f"Series set for {found.name}: {len(done.planned)} meetings planned.")
        ctx.out.print(meeting_table(found, series_meetings(done.change)))
        # What became of the earlier series' meetings, in the words the chat uses.
        for line in series_change_lines("en", found.timezone, done.change):
            ctx.out.print(line, markup=False, highlight=False, soft_wrap=True)

    @meetings_app.command("list")
    def meetings_list(
        past: Annotated[bool, typer.Option("--all", help="Include past meetings.")] = False,
        council: CouncilOption = None,
    ) -> None:
        """Meetings in local time, upcoming first."""
        async def work(uow: UnitOfWork) -> tuple[Council, list[Meeting]]:
            found = await council_of(uow, council)
            since = None if past else ctx.clock.now() - timedelta(hours=4)
            return found, list(await usecases.schedule.list_meetings(uow, found.id, since=since))

        found, meetings = ctx.run(work)
        ctx.out.print(meeting_table(found, meetings))

    @meetings_app.command("schedule")
    def meetings_schedule(
        start: Annotated[str, typer.Argument(help="Local start, 'YYYY-MM-DD HH:MM'.")],
        minutes: Annotated[int, typer.Option(help="Duration in minutes.")] = 120,
        title: Annotated[str, typer.Option(help="Title.")] = "",
        location: Annotated[str, typer.Option(help="Place.")] = "",
        force: Annotated[bool, typer.Option(
            "--force", help="Schedule it even when another meeting holds that time.")] = False,
        council: CouncilOption = None,
    ) -> None:
        """Schedule an extraordinary meeting (refused at a time another meeting holds, unless
        --force)."""
        async def work(uow: UnitOfWork) -> tuple[Council, Meeting]:
            found = await council_of(uow, council)
            with _force_hint():
                return found, await usecases.schedule.schedule_meeting(
                    uow, found.id, local_start=start, actor=operator(), now=ctx.clock.now(),
                    duration_minutes=minutes, title=title, location=location, force=force)

        found, meeting = ctx.run(work)
        ctx.out.print(f"Meeting {meeting_ref(meeting.id)} scheduled for "
                      f"{local_start(found, meeting)}.")
        if note := short_notice_note(found, meeting):
            ctx.out.print(note)

    @meetings_app.command("reschedule")
    def meetings_reschedule(
        meeting_id: MeetingArgument,
        start: Annotated[str, typer.Argument(help="New local start, 'YYYY-MM-DD HH:MM'.")],
        reason: Annotated[str, typer.Option(help="Why it moves.")] = "",
        force: Annotated[bool, typer.Option(
            "--force", help="Move it even when another meeting holds that time.")] = False,
        council: CouncilOption = None,
    ) -> None:
        """Move one meeting; the rest of the series stays as it is (refused to a time another
        meeting holds, unless --force)."""
        async def work(uow: UnitOfWork) -> tuple[Council, Meeting]:
            found = await council_of(uow, council)
            with _force_hint():
                return found, await usecases.schedule.reschedule_meeting(
                    uow, found.id, meeting_id, local_start=start, actor=operator(),
                    now=ctx.clock.now(), reason=reason, force=force)

        found, meeting = ctx.run(work)
        ctx.out.print(f"Meeting {meeting_ref(meeting.id)} moved to "
                      f"{local_start(found, meeting)}.")

    @meetings_app.command("cancel")
    def meetings_cancel(
        meeting_id: MeetingArgument,
        council: CouncilOption = None,
    ) -> None:
        """Cancel one meeting; the rest of the series stays as it is."""
        async def work(uow: UnitOfWork) -> Meeting:
            found = await council_of(uow, council)
            return await usecases.schedule.cancel_meeting(
                uow, found.id, meeting_id, actor=operator(), now=ctx.clock.now())

        meeting = ctx.run(work)
        ctx.out.print(f"Meeting {meeting_ref(meeting.id)} cancelled.")

    # --- appraisal ------------------------------------------------------------------------------

    def progress(message: str) -> None:
        ctx.err.print(message, markup=False, highlight=False)

    @export_app.command("appraisal")
    def export_appraisal(
        period: PeriodOption,
        output: Annotated[Path, typer.Option("--output", "-o", help="The file to write.")],
        file_format: Annotated[ExportFormat, typer.Option(
            "--format", "-f", help="xlsx, csv, docx or png.")] = ExportFormat.XLSX,
        council: CouncilOption = None,
    ) -> None:
        """The appraisal table of every CIO in a period, as a spreadsheet, report or chart."""
        async def work(uow: UnitOfWork) -> tuple[Council, Appraisal, list[Explained]]:
            found = await council_of(uow, council)
            # A bad period is refused before any progress line claims to tally it.
            progress(f"Tallying {parse_period(period).label} for {found.name}...")
            table = await usecases.appraisal.council_table(
                uow, found.id, period=period, actor=operator(), now=ctx.clock.now())
            cards: list[Explained] = []
            if file_format is ExportFormat.DOCX:
                codes = sorted({row.department_code for row in table.rows})
                for number, code in enumerate(codes, start=1):
                    progress(f"Explaining {code} ({number}/{len(codes)})...")
                    cards += await usecases.appraisal.explain(
                        uow, found.id, period=period, actor=operator(), now=ctx.clock.now(),
                        code=code)
            return found, table, cards

        found, table, cards = ctx.run(work)
        progress(f"Writing {file_format.value} ({len(table.rows)} rows)...")
        try:
            data = _appraisal_file(file_format, table, found.language, cards)
        except ExportError as error:
            ctx.fail(str(error))
        _write_whole(ctx, output, data)
        ctx.out.print(f"Wrote {output} ({len(data)} bytes, {len(table.rows)} rows).")

    @appraisal_app.command("show")
    def appraisal_show(period: PeriodOption, council: CouncilOption = None) -> None:
        """The appraisal table as text."""
        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            table = await usecases.appraisal.council_table(
                uow, found.id, period=period, actor=operator(), now=ctx.clock.now())
            return table_text("en", table)

        ctx.out.print(ctx.run(work), markup=False, highlight=False)

    @appraisal_app.command("explain")
    def appraisal_explain(
        period: PeriodOption,
        department: Annotated[str, typer.Option("--department", "-d", help="Department code.")],
        council: CouncilOption = None,
    ) -> None:
        """Every figure of a department's CIO(s) in a period, with the records behind it."""
        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            cards = await usecases.appraisal.explain(
                uow, found.id, period=period, actor=operator(), now=ctx.clock.now(),
                code=department)
            if not cards:
                return f"No CIO of {department.strip().upper()} served in {period}."
            return "\n\n".join(card_text("en", card) for card in cards)

        ctx.out.print(ctx.run(work), markup=False, highlight=False)

    @appraisal_app.command("weights")
    def appraisal_weights(
        attendance: Annotated[int | None, typer.Option(help="Weight of attendance.")] = None,
        agenda: Annotated[int | None, typer.Option(help="Weight of agenda contribution.")] = None,
        votes: Annotated[int | None, typer.Option(help="Weight of vote participation.")] = None,
        actions: Annotated[int | None, typer.Option(help="Weight of actions on time.")] = None,
        excused: Annotated[str | None, typer.Option(
            help="neutral (left out of attendance) or absent (counted as not attended).")] = None,
        council: CouncilOption = None,
    ) -> None:
        """Show the council's score weights, or change the parts given."""
        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            if all(v is None for v in (attendance, agenda, votes, actions, excused)):
                current = await usecases.appraisal.weights(uow, found.id)
            else:
                current = await usecases.appraisal.set_weights(
                    uow, found.id, actor=operator(), now=ctx.clock.now(), attendance=attendance,
                    agenda=agenda, votes=votes, actions=actions, excused=excused)
            return f"{found.name}: {weights_line('en', current)}"

        ctx.out.print(ctx.run(work), markup=False, highlight=False)

    # --- calendar -------------------------------------------------------------------------------

    @calendar_app.command("link")
    def calendar_link(
        council: CouncilOption = None,
        member: Annotated[str | None, typer.Option(
            "--member", "-m", help="Member id, tg:<telegram id> or @username; without it, the "
                                   "council's shared feed.")] = None,
        reset: Annotated[bool, typer.Option(
            "--reset", help="Revoke the current link and issue a new one.")] = False,
    ) -> None:
        """Print a feed's https and webcal:// links (shown once: the server keeps a hash)."""
        public_url = ctx.settings().public_url
        if public_url is None:
            ctx.fail("COUNCIL_PUBLIC_URL is not set: the service has no public address for links")

        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            member_id = None
            if member is not None:
                async with uow:
                    member_id = (await usecases.common.member_by_ref(uow, found.id, member)).id
            return await usecases.calendar.issue_token(
                uow, found.id, actor=operator(), now=ctx.clock.now(), member_id=member_id,
                reset=reset, again="`calendar link --reset`")

        https, webcal = feed_links(public_url, ctx.run(work))
        ctx.out.print(https, markup=False, highlight=False, soft_wrap=True)
        ctx.out.print(webcal, markup=False, highlight=False, soft_wrap=True)

    @calendar_app.command("export")
    def calendar_export(
        output: Annotated[Path, typer.Option("--output", "-o", help="The .ics file to write.")],
        council: CouncilOption = None,
    ) -> None:
        """Write the council's feed (every meeting) as an .ics file."""
        async def work(uow: UnitOfWork) -> bytes:
            found = await council_of(uow, council)
            return await usecases.calendar.council_feed(uow, found.id, now=ctx.clock.now())

        data = ctx.run(work)
        _write_whole(ctx, output, data)
        ctx.out.print(f"Wrote {output} ({len(data)} bytes).", markup=False, highlight=False)

    # --- export ---------------------------------------------------------------------------------

    @export_app.command("minutes")
    def export_minutes(
        meeting_id: MeetingArgument,
        output: Annotated[Path, typer.Option("--output", "-o", help="The .docx file to write.")],
        style: Annotated[str | None, typer.Option(
            help="en or gbt9704 (GB/T 9704 纪要); default: the council's language.")] = None,
        template: Annotated[Path | None, typer.Option(
            help="A .docx whose styles, header and footer the minutes use.")] = None,
        revision: Annotated[int | None, typer.Option(
            help="A stored revision, byte for byte as it was sent.")] = None,
        council: CouncilOption = None,
    ) -> None:
        """Write a meeting's minutes: the latest revision (drafted if need be), a stored one with
        --revision, or a working copy in another --style or on a --template (not stored)."""
        if revision is not None and (style is not None or template is not None):
            ctx.fail("--revision writes the stored file as it is; leave out --style and "
                     "--template")
        chosen = None
        if style is not None:
            try:
                chosen = usecases.minutes.parse_style(style)
            except CouncilError as error:
                ctx.fail(str(error))
        letterhead = _read_file(ctx, template) if template is not None else None

        async def work(uow: UnitOfWork) -> tuple[bytes, str]:
            found = await council_of(uow, council)
            if revision is not None:
                stored = await usecases.minutes.revision_of(uow, found.id, meeting_id, revision,
                                                            actor=operator())
                return stored.data, f"revision {stored.revision}, SHA-256 {stored.sha256}"
            if chosen is not None or letterhead is not None:
                data = await usecases.minutes.working_copy(uow, found.id, meeting_id,
                                                           actor=operator(), style=chosen,
                                                           template=letterhead)
                return data, "working copy, not stored"
            issued = await usecases.minutes.draft_minutes(uow, found.id, meeting_id,
                                                          actor=operator(), now=ctx.clock.now())
            state = "approved" if issued.revision.approved else "draft"
            return issued.revision.data, (f"revision {issued.revision.revision} ({state}), "
                                          f"SHA-256 {issued.revision.sha256}")

        data, what = ctx.run(work)
        _write_whole(ctx, output, data)
        ctx.out.print(f"Minutes of meeting {meeting_ref(meeting_id)} written to {output}: "
                      f"{what}.",
                      markup=False, highlight=False, soft_wrap=True)

    @export_app.command("link")
    def export_link(
        meeting_id: MeetingArgument,
        revision: Annotated[int, typer.Option(help="The stored revision to link to.")],
        days: Annotated[int, typer.Option(min=1, max=90, help="Days the link works.")] = 7,
        council: CouncilOption = None,
    ) -> None:
        """Print a signed link to a stored revision, served by `serve` until it expires
        (needs COUNCIL_PUBLIC_URL and COUNCIL_DOWNLOAD_SECRET)."""
        settings = ctx.settings()
        if settings.public_url is None or settings.download_secret is None:
            ctx.fail("download links need COUNCIL_PUBLIC_URL and COUNCIL_DOWNLOAD_SECRET")
        secret = settings.download_secret.get_secret_value().encode()
        public_url = settings.public_url

        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            await usecases.minutes.revision_of(uow, found.id, meeting_id, revision,
                                               actor=operator())
            return minutes_link(public_url, secret, meeting_id, revision, now=ctx.clock.now(),
                                lifetime=timedelta(days=days))

        ctx.out.print(ctx.run(work), markup=False, highlight=False, soft_wrap=True)

    @template_app.command("set")
    def template_set(
        file: Annotated[Path, typer.Argument(help="A .docx with the styles Normal, Title, "
                                                  "Heading 1 and Heading 2.")],
        council: CouncilOption = None,
    ) -> None:
        """Write the council's minutes on its own template (letterhead, header, footer)."""
        data = _read_file(ctx, file)

        async def work(uow: UnitOfWork) -> Council:
            found = await council_of(uow, council)
            await usecases.minutes.set_template(uow, found.id, data, actor=operator(),
                                                now=ctx.clock.now())
            return found

        found = ctx.run(work)
        ctx.out.print(f"Template set for {found.name}: {file.name} ({len(data)} bytes).",
                      markup=False, highlight=False, soft_wrap=True)

    @template_app.command("reset")
    def template_reset(council: CouncilOption = None) -> None:
        """Go back to the built-in style."""
        async def work(uow: UnitOfWork) -> tuple[Council, bool]:
            found = await council_of(uow, council)
            return found, await usecases.minutes.reset_template(uow, found.id, actor=operator(),
                                                                now=ctx.clock.now())

        found, removed = ctx.run(work)
        ctx.out.print(f"{found.name} uses the built-in style" + (
            " again." if removed else "; it had no template."), markup=False, highlight=False)

    # --- audit ----------------------------------------------------------------------------------

    @audit_app.command("verify")
    def audit_verify() -> None:
        """Check the hash chain of every council's audit log; exit 1 if it was tampered with."""
        checked, breaks = ctx.run(usecases.councils.verify_audit)
        if not breaks:
            ctx.out.print(f"Audit log intact: {checked} events verified.")
            return
        for found in breaks:
            ctx.err.print(f"audit: council {found.council_id} event {found.seq}: {found.reason}",
                          markup=False, highlight=False)
        ctx.err.print(f"Audit log BROKEN: {len(breaks)} problem(s) in {checked} events.")
        raise typer.Exit(1)

    return app


def _show_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"cio-council {version('cio-council')}")
        raise typer.Exit


def _appraisal_file(file_format: ExportFormat, table: Appraisal, language: str,
                    cards: list[Explained]) -> bytes:
    if file_format is ExportFormat.CSV:
        return exports.to_csv(table, language=language)
    if file_format is ExportFormat.PNG:
        return exports.to_png(table, language=language)
    if file_format is ExportFormat.DOCX:
        return exports.to_docx(table, language=language, explanations=[
            (card.row, evidence(language, card)) for card in cards])
    return exports.to_xlsx(table, language=language)


def _write_whole(ctx: _Context, path: Path, data: bytes) -> None:
    """Writes the file in one piece: a reader never sees half of it, and a failure leaves none."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        ctx.fail(f"cannot write {path}: {error.strerror or error}")


def _read_file(ctx: _Context, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        ctx.fail(f"cannot read {path}: {error.strerror}")


@contextmanager
def _force_hint() -> Iterator[None]:
    """A time another meeting holds: the command line may insist."""
    try:
        yield
    except SlotTaken as error:
        raise SlotTaken(error.template + "; or give --force to keep both", **error.params
                        ) from error


def _parse_date(ctx: _Context, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        ctx.fail(f"{text[:20]!r} is not a date (YYYY-MM-DD)")


def _redact(url: str) -> str:
    """The URL without a password, for printing."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        rest = f"{user}:***@{rest.split('@', 1)[1]}"
    return f"{scheme}{sep}{rest}"


def main() -> None:
    """The console script: a usage mistake is one `error:` line and exit 2, like every other."""
    app = make_app()
    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError as error:
        typer.echo(error.ctx.get_help() if error.ctx else "")
        sys.exit(EXIT_USAGE)
    except click_errors.UsageError as error:
        where = f" (see `{error.ctx.command_path} --help`)" if error.ctx else ""
        message = error.format_message().replace("Value error, ", "")  # pydantic's prefix
        typer.echo(f"error: {message}{where}", err=True)
        sys.exit(EXIT_USAGE)
    except click_errors.ClickException as error:
        typer.echo(f"error: {error.format_message()}", err=True)
        sys.exit(error.exit_code)
    except typer.Abort:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(1)  # the reader went away (`| head`): nothing left to say
    sys.exit(code if isinstance(code, int) else 0)
