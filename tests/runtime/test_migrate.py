"""The platform migrations: one Alembic head, and installs made at the old heads move onto it."""
from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from runtime.migrate import alembic_config, upgrade


def test_the_migrations_have_one_head():
    with sa.create_engine("sqlite://").connect() as conn:
        heads = ScriptDirectory.from_config(alembic_config(conn)).get_heads()
    assert len(heads) == 1, f"Alembic heads {sorted(heads)}: give the new migration down_revision = the current head"


def test_an_install_at_the_three_old_heads_upgrades_to_the_one_head(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    with engine.begin() as conn:  # what `upgrade(engine, "heads")` left on a database before the merge
        for old_head in ("0003_flow", "0004_rules", "0005_builder"):
            command.upgrade(alembic_config(conn), old_head)
    with engine.connect() as conn:
        before = set(conn.execute(sa.text("SELECT version_num FROM jimu_alembic_version")).scalars())
        conn.execute(sa.text("INSERT INTO jimu_rule_firings (at, rule_key, form_key, event, matched, duration_ms, depth) "
                             "VALUES ('2026-01-01', 'r', 'f', 'record.created', 1, 0, 0)"))
        conn.commit()
    assert before == {"0003_flow", "0004_rules", "0005_builder"}
    upgrade(engine)
    with engine.connect() as conn:
        after = list(conn.execute(sa.text("SELECT version_num FROM jimu_alembic_version")).scalars())
        kept = conn.execute(sa.text("SELECT count(*) FROM jimu_rule_firings")).scalar()
        script = ScriptDirectory.from_config(alembic_config(conn))
    assert after == [script.get_current_head()]
    assert kept == 1
    engine.dispose()
