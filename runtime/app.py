"""The Flask app factory (the Flask tutorial habit).

``create_app(config=None)``: defaults, then ``instance/config.py`` and
``JIMU_*`` environment variables, then the explicit mapping. No app object
exists at import time; each test builds its own.
"""
from __future__ import annotations

import os
import secrets
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Mapping

from flask import Flask

from engines.errors import JimuError

from .context import Jimu, utcnow
from .migrate import check_current, upgrade
from .services import build_services

ENV_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "UPLOAD_DIR", "LANGUAGE", "OUTBOUND_ALLOWLIST", "SMTP_HOST",
                "SMTP_PORT", "SMTP_FROM", "SMTP_USER", "SMTP_PASSWORD", "EMBEDDED_WORKER", "BASE_URL", "TIMEZONE", "FILE_STORE",
                "TRUSTED_PROXIES", "MAIL_POLL_SECONDS",
                "MAIL_MAX_ATTACHMENT_BYTES", "API_RATE_LIMIT", "API_RATE_LIMIT_ANONYMOUS", "API_RATE_WINDOW_SECONDS",
                "SMS_PROVIDER", "SMS_ACCESS_KEY_ID", "SMS_ACCESS_KEY_SECRET", "SMS_SIGN_NAME", "SMS_APP_ID",
                "SMS_REGION", "SMS_ENDPOINT", "SMS_RECEIPT_TOKEN", "SMS_TIMEOUT",
                "WECOM_CORP_ID", "WECOM_CORP_SECRET", "WECOM_AGENT_ID", "WECOM_API_BASE", "DINGTALK_APP_KEY",
                "DINGTALK_APP_SECRET", "DINGTALK_AGENT_ID", "DINGTALK_API_BASE", "DINGTALK_TOKEN_API",
                "DINGTALK_API_V1_BASE", "WORKMSG_USERID_ATTRIBUTE", "WORKMSG_TIMEOUT", "TASK_CHANNELS",
                "TASK_LINK_SECONDS", "CHAT_MAX_HELD")


def _json_setting(name: str, raw: str):
    import json
    try:
        return json.loads(raw)
    except ValueError:
        raise ValueError(f"JIMU_{name} must be a JSON object, such as {{\"orders\": \"a long secret\"}}") from None


def _secret_key(instance: Path) -> str:
    """A per-installation secret kept in the instance folder, so sessions survive restarts."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _check_timezone(name: Any) -> None:
    """A wrong TIMEZONE would shift every date bucket, ``today()`` and displayed time: refuse it at start."""
    from zoneinfo import ZoneInfo
    try:
        ZoneInfo(str(name or "UTC"))
    except (ValueError, KeyError, OSError):
        raise ValueError(f"TIMEZONE {name!r} is not an IANA time zone name; set JIMU_TIMEZONE to one "
                         "such as Asia/Shanghai or UTC") from None


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"JIMU_{name} must be 1 or 0 (true or false), not {value!r}")


class ServerMisconfigured(JimuError):
    code = "runtime.server_misconfigured"


def check_server(app: Flask) -> None:
    """What a web or worker process on a server database needs before it starts: every process,
    on every host, must sign links with one key (a worker signs the status links it mails, a web
    process checks them) and build them on one public address. Refuses with the fix instead of
    starting processes that disagree."""
    if str(app.config["DATABASE_URL"]).startswith("sqlite"):
        return
    missing = [name for name in ("SECRET_KEY", "BASE_URL") if not app.config.get(name)]
    if missing:
        raise ServerMisconfigured(
            "on PostgreSQL every web and worker process needs " + " and ".join(f"JIMU_{m}" for m in missing)
            + ": export the same JIMU_SECRET_KEY (a long random string) and JIMU_BASE_URL (the public "
            "address, such as https://jimu.example.com) to all of them", missing=missing)


EXTENSIONS = "jimu.extensions"


class ExtensionFailed(JimuError):
    code = "runtime.extension_failed"


def init_extensions(app: Flask) -> list[str]:
    """Plug in every installed extension of the ``jimu.extensions`` entry-point group (the builder,
    the CLI, third-party add-ons) by calling its ``init_app(app)``, in name order. The factory names
    none of them. An extension that fails stops the start with its name and the fix: an app that
    silently lacks its builder or commands is worse than one that does not start."""
    found = sorted(entry_points(group=EXTENSIONS), key=lambda ep: ep.name)
    if not any(ep.name == "cli" and ep.value == "runtime.cli:init_app" for ep in found):
        raise ExtensionFailed(f"Jimu's own {EXTENSIONS} entry points are not installed: the installed package "
                              "metadata is older than setup.cfg; reinstall it (`make venv`, or "
                              "`pip install -e .` in the checkout)", code="runtime.stale_install")
    loaded = []
    for ep in found:
        try:
            ep.load()(app)
        except Exception as exc:
            raise ExtensionFailed(f"extension {ep.name!r} ({ep.value}) of {EXTENSIONS} failed: "
                                  f"{type(exc).__name__}: {exc}; fix it, or uninstall the package that "
                                  "provides it", extension=ep.name) from exc
        loaded.append(ep.name)
    app.extensions["jimu.extensions"] = tuple(loaded)
    return loaded


def _trust_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies, take the client's address, scheme and host from
    their ``X-Forwarded-*`` headers (Werkzeug's ProxyFix), so rate limits, login throttling, the audit
    log and absolute links see the visitor rather than the proxy. Unset (0), those headers are ignored:
    anyone can send them, so trusting them without a proxy would let a client pick its own address."""
    raw = app.config.get("TRUSTED_PROXIES") or 0
    try:
        hops = int(raw)
    except (TypeError, ValueError):
        hops = -1
    if not 0 <= hops <= 10:
        raise ValueError(f"TRUSTED_PROXIES {raw!r} must be the number of reverse proxies in front of Jimu "
                         "(0 to 10; e.g. JIMU_TRUSTED_PROXIES=1 behind one nginx)")
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops,
                                x_prefix=hops)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                instance_path=os.environ.get("JIMU_INSTANCE_PATH") or str(Path.cwd() / "instance"))
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(
        DATABASE_URL=f"sqlite:///{instance / 'jimu.sqlite'}",
        UPLOAD_DIR=str(instance / "files"),
        LANGUAGE="zh-CN",
        MAX_CONTENT_LENGTH=50 * 2**20,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_AS_ASCII=False,
        AUTO_MIGRATE=None,      # None: SQLite migrates at start, PostgreSQL needs `jimu migrate`
        EMBEDDED_WORKER=None,   # None: on for SQLite (the web process runs the jobs), off for PostgreSQL
        TIMEZONE="UTC",
    )
    app.config.from_pyfile("config.py", silent=True)
    for name in ENV_SETTINGS:
        if f"JIMU_{name}" in os.environ:
            app.config[name] = os.environ[f"JIMU_{name}"]
    if "JIMU_HOOK_SECRETS" in os.environ:  # a JSON object: form key → the hook's shared secret
        app.config["HOOK_SECRETS"] = _json_setting("HOOK_SECRETS", os.environ["JIMU_HOOK_SECRETS"])
    if "JIMU_IMAP_PASSWORDS" in os.environ:  # a JSON object: form key → the password of its IMAP mailbox
        app.config["IMAP_PASSWORDS"] = _json_setting("IMAP_PASSWORDS", os.environ["JIMU_IMAP_PASSWORDS"])
    if config:
        app.config.update(config)
    sqlite = str(app.config["DATABASE_URL"]).startswith("sqlite")
    for name in ("AUTO_MIGRATE", "EMBEDDED_WORKER"):
        app.config[name] = sqlite if app.config.get(name) is None else _flag(name, app.config[name])
    if sqlite and not app.config.get("SECRET_KEY"):
        # one process on one disk: a secret in the instance folder is shared by whoever signs; on a server
        # database the processes may sit on several hosts, so SECRET_KEY is required (check_server)
        app.config["SECRET_KEY"] = _secret_key(instance)
    _check_timezone(app.config.get("TIMEZONE"))
    from .api.ratelimit import check_settings
    check_settings(app.config)
    from .http import init_http
    init_http(app)
    import schemas
    schemas.check_all()  # a missing schema file stops the start (schemas.MissingSchema)
    _trust_proxies(app)
    app.json.ensure_ascii = False

    jimu = Jimu(app.config, clock=app.config.get("CLOCK") or utcnow, wire=build_services)
    app.extensions["jimu"] = jimu
    from .store import search
    search.warm()  # the Chinese segmenter's dictionary, loaded in the background once per process
    if app.config["AUTO_MIGRATE"]:
        upgrade(jimu.engine)
    else:
        check_current(jimu.engine)

    from . import i18n
    from .api import bp as api_bp
    from .api.docs import bp as api_docs_bp
    from .api.errors import register_error_handlers
    from .auth import init_auth
    from .security import init_security
    from .ui import bp as ui_bp

    i18n.init_app(app)
    init_auth(app)
    init_security(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_docs_bp)
    app.register_blueprint(ui_bp)
    from .ui.chat import init_socket
    init_socket(app)
    register_error_handlers(app)
    init_extensions(app)
    return app
