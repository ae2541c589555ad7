"""The installed rules, compiled once per catalogue revision.

Rules come from every installed package's ``rules`` list (``jimu_apps.package``).
The compiled ``RuleSet`` lives in the one definition cache (``Catalog.compiled``),
dropped when an install or upgrade moves the revision; a ``Records`` instance
keeps the set it saw, so a bulk import checks only once.
"""
from __future__ import annotations

import sqlalchemy as sa

from engines.rule import RuleSet, compile_rules
from engines.rule.urls import parse_allowlist

from .. import db
from ..expr_context import installed_calendars


def allowlist(jimu) -> tuple[str, ...]:
    return parse_allowlist(jimu.config.get("OUTBOUND_ALLOWLIST"))


def package_templates(package) -> dict:
    return {t["key"]: t for t in package.get("templates") or [] if isinstance(t, dict) and "key" in t}


class CompiledRules:
    """The installed rules."""

    def __init__(self, rules: RuleSet):
        self.rules = rules


class RuleCache:
    """The rule runtime's view of the one definition cache (``Catalog.compiled("rules", ...)``)."""

    def __init__(self, jimu):
        self.jimu = jimu

    def compiled(self, conn: sa.Connection) -> CompiledRules:
        return self.jimu.catalog.compiled("rules", conn, self._compile)

    def get(self, conn: sa.Connection) -> RuleSet:
        return self.compiled(conn).rules

    def _compile(self, conn: sa.Connection) -> CompiledRules:
        a = db.apps
        defs, templates = [], {}
        for key, package in conn.execute(sa.select(a.c.key, a.c.package).order_by(a.c.id)):
            defs.extend((key, r) for r in (package or {}).get("rules") or [])
            templates[key] = package_templates(package or {})
        return CompiledRules(compile_rules(defs, allow=allowlist(self.jimu), templates=templates))

    def for_records(self, records) -> RuleSet:
        rs = getattr(records, "_jimu_ruleset", None)
        if rs is None:
            rs = self.get(records.conn)
            records._jimu_ruleset = rs
        return rs


def calendar_for(cache: RuleCache, conn: sa.Connection, trigger):
    """The business calendar a time trigger counts on (None: wall-clock time)."""
    key = getattr(trigger, "calendar", None)
    if key is None:
        return None
    try:
        return installed_calendars(cache.jimu.catalog, conn)[key]
    except KeyError:
        from engines.rule import RuleError
        raise RuleError(f"no business calendar {key!r} is installed", code="rule.unknown_calendar",
                        calendar=key) from None
