"""A scratch PostgreSQL database for one benchmark run, dropped afterwards.

The benchmarks run as scripts (``python benchmarks/x.py``), so they import this as a sibling.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from storage.db import sync_url


class ScratchDatabaseError(Exception):
    """The server refused to create the database; the message says which server and why."""


@contextmanager
def scratch_postgres(server_url: str, *, prefix: str) -> Iterator[str]:
    """A new, empty database named ``<prefix>_<random>`` on the server of ``server_url``."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(sync_url(server_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        except sqlalchemy.exc.SQLAlchemyError as error:
            shown = make_url(server_url).render_as_string(hide_password=True)
            reason = str(error.orig if isinstance(error, sqlalchemy.exc.DBAPIError) else error)
            raise ScratchDatabaseError(f"could not create a scratch database on {shown}: "
                                       f"{reason.strip().splitlines()[0]}") from None
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
