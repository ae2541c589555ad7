"""The installed rules, compiled once per change of the installed apps.

Rules come from every installed package's ``rules`` list (``jimu_apps.package``).
The compiled ``RuleSet`` is cached per process and recompiled when an app is
installed or upgraded (every install adds a ``jimu_app_versions`` row); a
``Records`` instance keeps the set it saw, so a bulk import checks only once.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from engines.calendar import BusinessCalendar
from engines.rule import RuleSet, compile_rules
from engines.rule.urls import parse_allowlist

from .. import db


def allowlist(jimu) -> tuple[str, ...]:
    return parse_allowlist(jimu.config.get("OUTBOUND_ALLOWLIST"))


def package_templates(package) -> dict:
    return {t["key"]: t for t in package.get("templates") or [] if isinstance(t, dict) and "key" in t}


def check_rules(rules, allow: tuple[str, ...] | None = None, templates: dict | None = None) -> None:
    """The save-time check: compile every rule of a package being installed and refuse it with all
    problems (JSON pointers under ``/rules/<i>``) — unknown actions, bad templates, private URLs ...
    The allowlist comes from the current app's ``OUTBOUND_ALLOWLIST``, outside a request from the
    ``JIMU_OUTBOUND_ALLOWLIST`` environment variable."""
    from engines.rule import RuleInvalid, compile_rule
    if allow is None:
        import os
        from flask import current_app, has_app_context
        setting = current_app.config.get("OUTBOUND_ALLOWLIST") if has_app_context() else None
        allow = parse_allowlist(setting or os.environ.get("JIMU_OUTBOUND_ALLOWLIST"))
    errors = []
    for i, rule in enumerate(rules or []):
        try:
            compile_rule(rule, order=i, allow=allow, templates=templates)
        except RuleInvalid as exc:
            errors.extend({**e, "pointer": f"/rules/{i}{e.get('pointer', '')}", "rule": rule.get("key")}
                          for e in exc.errors)
    if errors:
        raise RuleInvalid(errors, f"{len(errors)} problem(s) in the package's rules")


class RuleCache:
    def __init__(self, jimu):
        self.jimu = jimu
        self._sig = None
        self._set = RuleSet([])
        self.calendars: dict = {}
        self._lock = threading.Lock()

    def get(self, conn: sa.Connection) -> RuleSet:
        a = db.apps
        v = db.app_versions
        sig = tuple(conn.execute(sa.select(sa.select(sa.func.count(a.c.id)).scalar_subquery(),
                                           sa.select(sa.func.max(v.c.id)).scalar_subquery())).one())
        if sig != self._sig:
            with self._lock:
                if sig != self._sig:
                    defs, templates, calendars = [], {}, {}
                    for key, package in conn.execute(sa.select(a.c.key, a.c.package).order_by(a.c.id)):
                        defs.extend((key, r) for r in (package or {}).get("rules") or [])
                        templates[key] = package_templates(package or {})
                        for cal in (package or {}).get("calendars") or []:
                            try:
                                calendars[cal["key"]] = BusinessCalendar.from_definition(cal)
                            except Exception:  # a broken calendar is the calendar's problem, reported there
                                continue
                    self.calendars = calendars
                    self._set = compile_rules(defs, allow=allowlist(self.jimu), templates=templates)
                    self._sig = sig
        return self._set

    def for_records(self, records) -> RuleSet:
        rs = getattr(records, "_jimu_ruleset", None)
        if rs is None:
            rs = self.get(records.conn)
            records._jimu_ruleset = rs
        return rs


def calendar_for(cache: RuleCache, trigger):
    """The business calendar a time trigger counts on (None: wall-clock time)."""
    key = getattr(trigger, "calendar", None)
    if key is None:
        return None
    try:
        return cache.calendars[key]
    except KeyError:
        from engines.rule import RuleError
        raise RuleError(f"no business calendar {key!r} is installed", code="rule.unknown_calendar",
                        calendar=key) from None
