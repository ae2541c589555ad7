"""zh-CN and en UI catalogs (Babel ``.po`` files under ``runtime/translations``).

The catalogs are read with Babel once at start — no compile step — and the
language of a request follows, in order: the switch (``?lang=`` stored in the
session), the user's saved language, the browser's Accept-Language, and the
configured default. Definition labels (``{"zh-CN": ..., "en": ...}``) pick the
same language through ``label()``.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po
from flask import Flask, g, request, session

from engines.form import label_text

LANGUAGES = ("zh-CN", "en")
TRANSLATIONS = Path(__file__).with_name("translations")
_catalogs: dict[str, dict[str, str]] = {}


def load_catalogs() -> dict[str, dict[str, str]]:
    if not _catalogs:
        for lang in LANGUAGES:
            path = TRANSLATIONS / lang.replace("-", "_") / "LC_MESSAGES" / "messages.po"
            if path.exists():
                with path.open("rb") as fh:
                    cat = read_po(fh, locale=lang.replace("-", "_"))
                _catalogs[lang] = {m.id: m.string for m in cat if m.id and m.string}
            else:
                _catalogs[lang] = {}
    return _catalogs


def current_language() -> str:
    if "lang" in g:
        return g.lang
    lang = None
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        session["lang"] = asked
    lang = session.get("lang")
    if lang not in LANGUAGES:
        principal = g.get("principal")
        lang = principal.language if principal is not None and principal.language in LANGUAGES else None
    if lang is None:
        best = request.accept_languages.best_match(["zh-CN", "zh", "en"])
        lang = {"zh": "zh-CN"}.get(best, best) if best else None
    g.lang = lang if lang in LANGUAGES else _default()
    return g.lang


def _default() -> str:
    from flask import current_app
    return current_app.config.get("LANGUAGE", "zh-CN")


def gettext(message: str, **params: Any) -> str:
    text = load_catalogs().get(current_language(), {}).get(message) or message
    return text % params if params else text


_HAN = re.compile(r"[\u4e00-\u9fff]")


def in_language(message: Any, lang: str | None = None) -> Any:
    """One language of a bilingual engine message: widgets and the form engine write a field error
    as "English / 中文" (so an API client reads either); a person reads only the half in their
    language. The split is the last " / " followed by Chinese; a message without one is unchanged."""
    if not isinstance(message, str) or " / " not in message:
        return message
    at = -1
    for m in re.finditer(" / ", message):
        if _HAN.match(message, m.end()):
            at = m.start()
    if at < 0:
        return message
    english, chinese = message[:at].strip(), message[at + 3:].strip()
    return english if (lang or current_language()) == "en" else chinese


def label(value: Any, default: str = "") -> str:
    return label_text(value, current_language(), default)


def deployment_zone() -> ZoneInfo:
    """The deployment's ``TIMEZONE`` (checked at start): every time a person reads is shown in it."""
    from flask import current_app
    return ZoneInfo(str(current_app.config.get("TIMEZONE") or "UTC"))


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored instant as the deployment's wall-clock time (naive values are UTC, as stored);
    empty for none. The one conversion of pages that show platform timestamps."""
    if value is None:
        return ""
    at = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return at.astimezone(deployment_zone()).strftime(fmt)


def init_app(app: Flask) -> None:
    load_catalogs()
    app.jinja_env.globals.update(_=gettext, gettext=gettext, label=label, current_language=current_language,
                                 LANGUAGES=LANGUAGES)
    app.jinja_env.filters["localtime"] = local_time
    app.jinja_env.filters["in_language"] = in_language
