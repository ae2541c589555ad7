"""Run the platform-table migrations (Alembic) on a connection or engine."""
from __future__ import annotations

from pathlib import Path

import re

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engines.errors import JimuError

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "jimu_alembic_version"
# one key for every process of every installation on the server: migrations are rare and short
ADVISORY_LOCK = 0x4A494D55  # "JIMU"


class SchemaOutdated(JimuError):
    code = "runtime.schema_outdated"


def alembic_config(connection: sa.Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the platform tables to ``revision``; safe to run on every start. The migrations have
    one head (``tests/runtime/test_migrate.py`` keeps it so): a second one makes ``"head"`` fail
    loudly instead of leaving an install between branches.

    On PostgreSQL the whole upgrade runs under a transaction-scoped advisory lock: processes started
    together wait for the first one and then find nothing to do, instead of racing to create the same
    tables (``gunicorn -w 4`` on a fresh database crashed)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
        command.upgrade(alembic_config(conn), revision)
    if engine.dialect.name == "sqlite":
        sqlite_ids_never_reused(engine)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()


def known_revisions() -> set[str]:
    """Every schema revision this code has a migration for (an archive at another one is newer)."""
    return {s.revision for s in ScriptDirectory.from_config(alembic_config(None)).walk_revisions()}


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def check_current(engine: sa.Engine) -> None:
    """Refuse to serve or run jobs on a schema older (or newer) than this code: on PostgreSQL the
    schema is migrated once, by the deploy step ``jimu migrate``, not by every process at start."""
    have, want = current_revision(engine), head_revision()
    if have != want:
        url = engine.url.render_as_string(hide_password=True)
        state = "has no Jimu tables" if have is None else f"is at migration {have}, this code needs {want}"
        raise SchemaOutdated(f"the database {url} {state}; run `jimu migrate` once (the deploy step), "
                             "then start the web and worker processes", have=have, want=want)


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
