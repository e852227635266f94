"""Every row of every table, to prove a refused request changed nothing."""

from __future__ import annotations

import sqlalchemy as sa

from storage.db import sync_url

# Bookkeeping that legitimately moves on every update, even a refused one (`chat_people`: who
# the bot has seen in a council's chat, remembered whatever they asked).
VOLATILE = {"processed_updates", "update_inbox", "alembic_version", "chat_people"}


def snapshot(database_url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = sa.create_engine(sync_url(database_url))
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        with engine.connect() as connection:
            return {name: sorted(map(tuple, connection.execute(table.select())), key=repr)
                    for name, table in metadata.tables.items() if name not in VOLATILE}
    finally:
        engine.dispose()
