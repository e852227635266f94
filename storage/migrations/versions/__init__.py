"""Schema revisions, newest last; Alembic skips this file."""
