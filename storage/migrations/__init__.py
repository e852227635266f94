"""Alembic's script directory; a package so that it ships with the wheel."""
