"""Run the platform-table migrations (Alembic) on a connection or engine."""
from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the platform tables to ``revision``; safe to run on every start. The migrations have
    one head (``tests/runtime/test_migrate.py`` keeps it so): a second one makes ``"head"`` fail
    loudly instead of leaving an install between branches."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
