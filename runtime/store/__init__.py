"""The record store: one real table per form, generated physical names.

- ``mapping``: FormTable — a form's SQLAlchemy Core tables built from its
  spec and the catalogue's field → physical-name mapping;
- ``catalog``: the installed forms, cached per process and reloaded when the
  catalogue revision moves (another process published);
- ``evolve``: publishing a form creates or evolves its tables online with
  Alembic's operations API (add columns, retire fields, never drop data);
- ``records``: create / bulk-create / read / update / delete / list.
"""
from .catalog import Catalog
from .mapping import FormTable
from .records import RecordStore

__all__ = ["Catalog", "FormTable", "RecordStore"]
