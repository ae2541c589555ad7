"""The installed rules, compiled once per change of the installed apps.

Rules come from every installed package's ``rules`` list (``jimu_apps.package``).
The compiled ``RuleSet`` is cached per process and recompiled when an app is
installed or upgraded (the apps' count and latest ``updated_at`` change); a
``Records`` instance keeps the set it saw, so a bulk import checks only once.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from engines.rule import RuleSet, compile_rules
from engines.rule.urls import parse_allowlist

from .. import db


def allowlist(jimu) -> tuple[str, ...]:
    return parse_allowlist(jimu.config.get("OUTBOUND_ALLOWLIST"))


class RuleCache:
    def __init__(self, jimu):
        self.jimu = jimu
        self._sig = None
        self._set = RuleSet([])
        self._lock = threading.Lock()

    def get(self, conn: sa.Connection) -> RuleSet:
        a = db.apps
        sig = tuple(conn.execute(sa.select(sa.func.count(a.c.id), sa.func.max(a.c.updated_at))).one())
        if sig != self._sig:
            with self._lock:
                if sig != self._sig:
                    defs = []
                    for key, package in conn.execute(sa.select(a.c.key, a.c.package).order_by(a.c.id)):
                        defs.extend((key, r) for r in (package or {}).get("rules") or [])
                    self._set = compile_rules(defs, allow=allowlist(self.jimu))
                    self._sig = sig
        return self._set

    def for_records(self, records) -> RuleSet:
        rs = getattr(records, "_jimu_ruleset", None)
        if rs is None:
            rs = self.get(records.conn)
            records._jimu_ruleset = rs
        return rs
