"""Alembic environment for Jimu's platform tables.

Migrations run on the connection the caller passes in ``config.attributes``
(``runtime.migrate.upgrade``), so tests, ``jimu init-db`` and app start all
use the same engine settings.
"""
from alembic import context

from runtime.db import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  version_table="jimu_alembic_version", render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
