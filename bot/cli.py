"""`cio-council`: the command line and composition root (settings -> storage -> use cases).

Errors a user can fix are one line on stderr with exit code 2, and nothing is written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from bot import logs
from bot.clock import SystemClock
from bot.demo import run_demo
from bot.render import local_start, meeting_table
from bot.runner import ServeError
from bot.runner import serve as run_service
from bot.settings import Settings, SettingsError, load_settings
from meetings import usecases
from meetings.domain.errors import CouncilError
from meetings.domain.model import Council, Meeting, Role
from meetings.ports import Clock, UnitOfWork
from storage import Database, backup, migrate

T = TypeVar("T")
EXIT_USAGE = 2

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

    def run(self, work: Callable[[UnitOfWork], Awaitable[T]], *, migrated: bool = True) -> T:
        settings = self.settings()
        url = settings.effective_database_url
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
                      no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    council_app = typer.Typer(help="Create and list councils.", no_args_is_help=True)
    department_app = typer.Typer(help="Departments of a council.", no_args_is_help=True)
    member_app = typer.Typer(help="Members of a council and their roles.", no_args_is_help=True)
    series_app = typer.Typer(help="The regular (bimonthly) meeting series.", no_args_is_help=True)
    meetings_app = typer.Typer(help="Single meetings: list, schedule, move, cancel.",
                               no_args_is_help=True)
    db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
    audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
    for sub, name in [(council_app, "council"), (department_app, "department"),
                      (member_app, "member"), (series_app, "series"), (meetings_app, "meetings"),
                      (db_app, "db"), (audit_app, "audit")]:
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
        settings = ctx.settings()
        url = settings.effective_database_url
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
        ctx.out.print(f"{_redact(url)}: {migrate.status(url)}")

    @app.command()
    def serve(webhook: Annotated[bool, typer.Option(
            "--webhook", help="Receive updates on COUNCIL_PUBLIC_URL instead of long polling.",
    )] = False) -> None:
        """Run the bot and its web service. Without COUNCIL_BOT_TOKEN it runs the local demo."""
        settings = ctx.settings()
        if settings.bot_token is None:
            ctx.out.print("[bold]No COUNCIL_BOT_TOKEN is set:[/] running the local demo.\n")
            demo(directory=None)
            return
        logs.configure(json_lines=settings.log_format == "json", level=settings.log_level,
                       secrets=logs.secrets_of(settings))
        try:
            asyncio.run(run_service(settings, webhook=webhook, clock=ctx.clock))
        except ServeError as error:
            ctx.fail(str(error))

    @app.command()
    def demo(directory: Annotated[Path | None, typer.Option(
            "--dir", help="Where the demo keeps its data (default: ./council-demo).")] = None,
    ) -> None:
        """Set up a sample council with nine departments and print its next year of meetings."""
        run_demo(directory or Path("council-demo"), clock=ctx.clock, console=ctx.out)

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
        """Change a member's role."""
        async def work(uow: UnitOfWork) -> str:
            found = await council_of(uow, council)
            changed = await usecases.councils.set_role(
                uow, found.id, member_ref=member, role=role, actor=operator(),
                now=ctx.clock.now(), department=department)
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

        async def work(uow: UnitOfWork) -> tuple[Council, list[Meeting]]:
            found = await council_of(uow, council)
            _, planned = await usecases.schedule.set_series(
                uow, found.id, spec=spec, actor=operator(), now=ctx.clock.now(),
                starting=first, location=location)
            return found, planned

        found, planned = ctx.run(work)
        ctx.out.print(f"Series set for {found.name}: {len(planned)} meetings planned.")
        ctx.out.print(meeting_table(found, planned))

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
        council: CouncilOption = None,
    ) -> None:
        """Schedule an extraordinary meeting."""
        async def work(uow: UnitOfWork) -> tuple[Council, Meeting]:
            found = await council_of(uow, council)
            return found, await usecases.schedule.schedule_meeting(
                uow, found.id, local_start=start, actor=operator(), now=ctx.clock.now(),
                duration_minutes=minutes, title=title, location=location)

        found, meeting = ctx.run(work)
        ctx.out.print(f"Meeting {meeting.id} scheduled for {local_start(found, meeting)}.")

    @meetings_app.command("reschedule")
    def meetings_reschedule(
        meeting_id: Annotated[int, typer.Argument(help="Meeting id.")],
        start: Annotated[str, typer.Argument(help="New local start, 'YYYY-MM-DD HH:MM'.")],
        reason: Annotated[str, typer.Option(help="Why it moves.")] = "",
        council: CouncilOption = None,
    ) -> None:
        """Move one meeting; the rest of the series stays as it is."""
        async def work(uow: UnitOfWork) -> tuple[Council, Meeting]:
            found = await council_of(uow, council)
            return found, await usecases.schedule.reschedule_meeting(
                uow, found.id, meeting_id, local_start=start, actor=operator(),
                now=ctx.clock.now(), reason=reason)

        found, meeting = ctx.run(work)
        ctx.out.print(f"Meeting {meeting.id} moved to {local_start(found, meeting)}.")

    @meetings_app.command("cancel")
    def meetings_cancel(
        meeting_id: Annotated[int, typer.Argument(help="Meeting id.")],
        council: CouncilOption = None,
    ) -> None:
        """Cancel one meeting; the rest of the series stays as it is."""
        async def work(uow: UnitOfWork) -> Meeting:
            found = await council_of(uow, council)
            return await usecases.schedule.cancel_meeting(
                uow, found.id, meeting_id, actor=operator(), now=ctx.clock.now())

        meeting = ctx.run(work)
        ctx.out.print(f"Meeting {meeting.id} cancelled.")

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
    make_app()()
