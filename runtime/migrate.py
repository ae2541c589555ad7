"""Run the platform-table migrations (Alembic) on a connection or engine."""
from __future__ import annotations

from pathlib import Path

import re

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
    if engine.dialect.name == "sqlite":
        sqlite_ids_never_reused(engine)


_PK = re.compile(r",\s*PRIMARY KEY \(\s*\"?id\"?\s*\)")
_ID = re.compile(r"(\(\s*\"?id\"?\s+INTEGER\s+NOT NULL)(\s*,)")


def sqlite_ids_never_reused(engine: sa.Engine) -> None:
    """Form tables created before ids were AUTOINCREMENT are rebuilt once with it (SQLite's documented
    table-rebuild procedure, foreign keys off so that dropping the old table cascades nothing); the
    sequence starts after the highest id still present. Already-converted tables are left alone."""
    from .db import forms
    with engine.connect() as conn:
        names = [r for r in conn.execute(sa.select(forms.c.table_name)).scalars()]
        todo = [(n, sql) for n in names
                for sql in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type='table' AND name=?",
                                                (n,)).scalars()
                if sql and "AUTOINCREMENT" not in sql.upper()]
    if not todo:
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA foreign_keys=OFF")
        cur.execute("BEGIN")
        for name, sql in todo:
            new_sql = _PK.sub("", _ID.sub(r"\1 PRIMARY KEY AUTOINCREMENT\2", sql, count=1), count=1)
            if new_sql == sql or "AUTOINCREMENT" not in new_sql:
                raise RuntimeError(f"cannot convert table {name} to AUTOINCREMENT ids: unexpected DDL")
            tmp = f"{name}__rebuild"
            head = re.match(r"CREATE TABLE\s+(\"?[^\s(\"]+\"?)", new_sql)
            new_sql = new_sql[:head.start(1)] + f'"{tmp}"' + new_sql[head.end(1):]
            indexes = [r[0] for r in cur.execute(
                "SELECT sql FROM sqlite_master WHERE type='index' AND tbl_name=? AND sql IS NOT NULL", (name,))]
            cur.execute(new_sql)
            cur.execute(f'INSERT INTO "{tmp}" SELECT * FROM "{name}"')
            cur.execute(f'DROP TABLE "{name}"')
            cur.execute(f'ALTER TABLE "{tmp}" RENAME TO "{name}"')
            for ix in indexes:
                cur.execute(ix)
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise
    finally:
        raw.cursor().execute("PRAGMA foreign_keys=ON")
        raw.close()
