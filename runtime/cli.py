"""The ``jimu`` command (click, on the Flask app).

``jimu serve | worker | migrate (init-db) | create-user | link-account | create-token | revoke-token | list-tokens |
import | export | validate | purge | backup | restore | import-records | files move``.
Errors a user can fix are ``click.UsageError``s that say the fix.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from engines.errors import JimuError, ValidationErrors


def _create_app(*_args, **_kw) -> Flask:
    """A start refused with a fix (an old schema, a missing setting) is one line, not a traceback."""
    from .app import create_app
    try:
        return create_app()
    except JimuError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """Jimu (积木): a metadata-driven no-code application platform."""


def _jimu():
    from .context import current_jimu
    return current_jimu()


def _fail(exc: JimuError) -> None:
    lines = [f"{exc.code}: {exc.message}"]
    if isinstance(exc, ValidationErrors):
        lines += [f"  {e.get('pointer', '')} [{e.get('code')}] {e.get('message')}" for e in exc.errors]
    raise click.UsageError("\n".join(lines))


@main.command("migrate", with_appcontext=False)  # it makes its own app: every other start refuses an old schema
def migrate() -> None:
    """Create or migrate the platform tables: the deploy step, run once before starting (or after
    upgrading) the web and worker processes, which on PostgreSQL refuse an old schema. Safe to run
    from several places at once (an advisory lock serializes it)."""
    from .app import create_app
    app = create_app({"AUTO_MIGRATE": True})  # create_app runs runtime.migrate.upgrade
    jimu = app.extensions["jimu"]
    click.echo(f"database ready: {jimu.engine.url.render_as_string(hide_password=True)}")
    jimu.dispose()


main.add_command(migrate, "init-db")  # the first install's name for the same step


@main.command("validate")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def validate(package: Path) -> None:
    """Check an app package as import would (against this database's apps and users) and print
    every error with its JSON pointer."""
    from apps import PackageError

    from . import installer
    try:
        with _jimu().read() as conn:
            app = installer.compile(conn, package)
    except PackageError as exc:
        for e in exc.errors:
            click.echo(f"{e.get('pointer') or '/'}: [{e.get('code')}] {e.get('message')}", err=True)
        click.echo(f"{len(exc.errors)} error(s) in {package}", err=True)
        sys.exit(1)
    pkg = app.package
    click.echo(f"ok: {pkg.key} {pkg.version} ({len(pkg.forms)} forms, {len(pkg.flows)} flows, "
               f"{len(pkg.rules)} rules, {len(pkg.reports)} reports)")


@main.command("import")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="show the diff, change nothing")
@click.option("--if-newer", is_flag=True, help="do nothing when this version (or a newer one) is installed")
@click.option("--allow-downgrade", is_flag=True)
@with_appcontext
def import_(package: Path, dry_run: bool, if_newer: bool, allow_downgrade: bool) -> None:
    """Install or upgrade an app package (all or nothing)."""
    from . import installer
    jimu = _jimu()
    try:
        with jimu.begin() as conn:
            app = installer.compile(conn, package)
            pkg = app.package
            plan = installer.plan(conn, app)
            for line in plan.diff.summary_lines("en"):
                click.echo(f"  {line}")
            if dry_run or (if_newer and plan.action in ("unchanged", "downgrade")):
                click.echo(f"{plan.action}: {pkg.key} {plan.from_version or '-'} → {pkg.version} (nothing applied)")
                return
            installer.install(conn, app, now=jimu.now(), allow_downgrade=allow_downgrade)
    except JimuError as exc:
        _fail(exc)
    click.echo(f"{plan.action}: {pkg.key} {plan.from_version or '-'} → {pkg.version}")


@main.command("export")
@click.argument("app_key")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="file (default: stdout)")
@with_appcontext
def export(app_key: str, output: Path | None) -> None:
    """Write an installed app as a package."""
    from . import installer
    try:
        with _jimu().read() as conn:
            pkg = installer.export(conn, app_key)
    except JimuError as exc:
        _fail(exc)
    text = json.dumps(pkg, ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)


@main.command("import-records")
@click.argument("form")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="whose permissions apply (and who is audited)")
@click.option("--map", "maps", multiple=True, metavar="HEADING=FIELD",
              help="column heading → field key (repeatable; default: headings matched to field labels)")
@click.option("--link-key", "link_keys", multiple=True, metavar="FIELD=KEY",
              help="find linked records of link FIELD by their field KEY (default: the title field; id for ids)")
@click.option("--mode", type=click.Choice(["valid", "all"]), default="valid", show_default=True,
              help="valid: import the valid rows and keep the rejected ones; all: all or nothing")
@click.option("--skip-rules", is_flag=True, help="do not run rules and flows on the new records (audited)")
@click.option("--rejected", type=click.Path(dir_okay=False, path_type=Path),
              help="write the rejected rows with their errors here (.csv or .xlsx)")
@with_appcontext
def import_records(form, file, username, maps, link_keys, mode, skip_rules, rejected) -> None:
    """Import records of FORM from an .xlsx or .csv FILE through the same checks, audit, rules and
    flows as any create; runs here, step by step, each step committed (``all``: nothing is written
    unless every row is valid)."""
    from .auth.principal import load_principal
    from .dataio import importer, writers
    jimu = _jimu()
    mapping = _pairs(maps, "--map", "HEADING=FIELD") or None
    keys = _pairs(link_keys, "--link-key", "FIELD=KEY")
    try:
        with jimu.begin() as conn:
            principal = load_principal(conn, _user_id(conn, username))
            with open(file, "rb") as stream:
                ref = jimu.services.files.save(stream, file.name, None, conn=conn, user_id=principal.user_id,
                                               now=jimu.now())
            iid = importer.start(jimu, conn, principal, form, ref["id"], file.name, mapping=mapping, mode=mode,
                                 skip_rules=skip_rules, link_keys=keys, queue=False)
        more = True
        while more:
            with jimu.begin() as conn:
                more = importer.step(jimu, conn, iid)
                state = importer.status(conn, principal, iid)
            click.echo(f"  {state['phase']}: {state['done_rows']} rows, {state['imported']} imported, "
                       f"{state['rejected']} rejected", err=True)
        if rejected and state["rejected"]:
            with jimu.read() as conn:
                fmt = "xlsx" if rejected.suffix.lower() == ".xlsx" else "csv"
                header, rows = importer.rejected_table(conn, iid, principal.language or "zh-CN")
                with open(rejected, "wb") as out:
                    for chunk in writers.stream(fmt, header, rows):
                        out.write(chunk)
            click.echo(f"rejected rows written to {rejected}", err=True)
    except JimuError as exc:
        _fail(exc)
    click.echo(f"{state['status']}: {state['imported']} imported, {state['rejected']} rejected"
               + (f" ({state['error']})" if state["error"] else ""))
    if state["status"] != "done":
        sys.exit(1)


def _pairs(items, option: str, shape: str) -> dict[str, str]:
    out = {}
    for item in items:
        left, sep, right = item.partition("=")
        if not sep or not left.strip():
            raise click.UsageError(f"{option} takes {shape}, e.g. {option} 部门=编码")
        out[left.strip()] = right.strip()
    return out


@main.command("create-user")
@click.argument("username")
@click.option("--password", help="default: a random one, printed once")
@click.option("--admin", is_flag=True)
@click.option("--role", "roles", multiple=True)
@click.option("--group", "groups", multiple=True)
@click.option("--name", "display_name")
@click.option("--email")
@click.option("--if-missing", is_flag=True, help="do nothing if the user exists")
@click.option("--print-login", is_flag=True, help="print the login URL and credentials")
@with_appcontext
def create_user(username, password, admin, roles, groups, display_name, email, if_missing, print_login) -> None:
    """Create a user (and print the generated password)."""
    import secrets

    import sqlalchemy as sa

    from . import db
    from .auth.users import check_password, create_user as _create
    jimu = _jimu()
    with jimu.begin() as conn:
        exists = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username)).first()
        if exists and if_missing:
            click.echo(f"user {username} exists; log in at http://127.0.0.1:5000/login")
            return
        try:
            # a given password meets the same rule as on the admin page; a generated one always mixes kinds
            generated = f"{secrets.token_urlsafe(9)}-{secrets.randbelow(90) + 10}"
            password = check_password(password, username) if password else generated
            _create(conn, username, password, now=jimu.now(), display_name=display_name, email=email,
                    is_admin=admin, roles=list(roles), groups=list(groups))
        except JimuError as exc:
            _fail(exc)
    click.echo(f"created user {username}" + (" (administrator)" if admin else ""))
    if print_login:
        click.echo("=" * 60)
        click.echo("  Jimu is at http://127.0.0.1:5000/login")
        click.echo(f"  username: {username}")
        click.echo(f"  password: {password}")
        click.echo("=" * 60)


def _user_id(conn, username: str) -> int:
    import sqlalchemy as sa

    from . import db
    uid = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username)).scalar()
    if uid is None:
        raise click.UsageError(f"no user {username!r}; create one with `jimu create-user {username}`")
    return uid


@main.command("link-account")
@click.argument("username")
@click.argument("provider", type=click.Choice(["wecom", "dingtalk"]))
@click.argument("account", required=False)
@with_appcontext
def link_account_command(username, provider, account) -> None:
    """Link USERNAME to their user id in WeCom or DingTalk (work messages go there); without ACCOUNT, unlink."""
    from sqlalchemy.exc import IntegrityError

    from .rules.workmsg import link_account
    jimu = _jimu()
    try:
        with jimu.begin() as conn:
            link_account(conn, _user_id(conn, username), provider, account, now=jimu.now())
    except JimuError as exc:
        _fail(exc)
    except IntegrityError:  # the account is another user's already (unique per provider)
        raise click.UsageError(f"{provider} account {account!r} is linked to another user; unlink it first "
                               f"(jimu link-account <that user> {provider})") from None
    click.echo(f"{username}: {provider} account {account}" if account else f"{username}: {provider} account unlinked")


@main.command("create-token")
@click.argument("username")
@click.option("--name", required=True, help="what will use the token, e.g. 'ERP sync'")
@click.option("--read-only", is_flag=True, help="read records and reports only (default: read and write)")
@click.option("--app", "apps", multiple=True, help="limit to this app (repeatable)")
@click.option("--form", "forms", multiple=True, help="limit to this form (repeatable)")
@click.option("--expires-in-days", type=int, help="expire after this many days (default: never)")
@with_appcontext
def create_token_command(username, name, read_only, apps, forms, expires_in_days) -> None:
    """Create an API token for USERNAME and print its secret (shown this once only)."""
    from .auth.tokens import create_token, parse_expiry, parse_scope
    jimu = _jimu()
    now = jimu.now()
    try:
        with jimu.begin() as conn:
            scope = parse_scope(conn, {"access": "read" if read_only else "write", "apps": list(apps),
                                       "forms": list(forms)})
            expires_at = parse_expiry({"expires_in_days": expires_in_days}, now=now)
            tid, secret = create_token(conn, _user_id(conn, username), name, now=now, scope=scope,
                                       expires_at=expires_at, via="cli")
    except JimuError as exc:
        _fail(exc)
    click.echo(f"token {tid} for {username}: {scope.access}"
               + (f", apps {', '.join(scope.apps)}" if scope.apps else "")
               + (f", forms {', '.join(scope.forms)}" if scope.forms else "")
               + (f", expires {expires_at.isoformat()}" if expires_at else ", never expires"))
    click.echo("secret (store it now; it is not shown again):")
    click.echo(secret)


@main.command("revoke-token")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke the API token TOKEN_ID (see `jimu list-tokens`); it is refused from the next request on."""
    from .auth.tokens import revoke_token
    jimu = _jimu()
    try:
        with jimu.begin() as conn:
            token = revoke_token(conn, token_id, now=jimu.now(), actor_id=None, via="cli")
    except JimuError as exc:
        _fail(exc)
    click.echo(f"revoked token {token_id} ({token['name']}) of {token['username']}")


@main.command("list-tokens")
@click.argument("username", required=False)
@with_appcontext
def list_tokens_command(username) -> None:
    """List API tokens (of USERNAME, or everyone's): id, status, user, name, scope, last use."""
    from .auth.tokens import list_tokens, status
    jimu = _jimu()
    with jimu.read() as conn:
        rows = list_tokens(conn, user_id=_user_id(conn, username) if username else None)
    for t in rows:
        scope = t["scope"]
        reach = ",".join(scope["apps"] + scope["forms"]) or "all"
        used = t["last_used_at"].isoformat() if t["last_used_at"] else "never used"
        click.echo(f"{t['id']}\t{status(t, jimu.now())}\t{t['username']}\t{t['name']}\t{t['hint']}…\t"
                   f"{scope['access']}:{reach}\t{used}")


@main.command("demo-data")
@click.option("--app", "app_key", help="only this app's forms (default: every installed app)")
@click.option("--days", default=30, show_default=True, help="play this many days of history, up to now")
@click.option("--scale", default=1.0, show_default=True,
              help="multiply each form's demo_records (e.g. 10 for a larger history; it takes longer)")
@click.option("--seed", default=1, show_default=True, help="the same seed plays the same history")
@click.option("--if-empty", is_flag=True, help="do nothing when the app's forms already hold records")
@click.option("--users/--no-users", default=True, help="create demo_<role>_<n> users for every role first")
@click.option("--password", default="demo-1234", show_default=True, help="password of the demo users")
@with_appcontext
def demo_data(app_key, days, scale, seed, if_empty, users, password) -> None:
    """Play a demo history through the real engines on a moving clock (see runtime/demo.py)."""
    import sqlalchemy as sa

    from . import demo
    jimu = _jimu()
    with jimu.begin() as conn:
        tables = [ft for ft in jimu.catalog if app_key is None or ft.app_key == app_key]
        if not tables:
            raise click.UsageError("no forms installed" + (f" for app {app_key!r}" if app_key else "")
                                   + "; run `jimu import <package>` first")
        if if_empty and any(conn.execute(sa.select(ft.table.c.id).limit(1)).first() for ft in tables):
            click.echo("demo data: forms already hold records; nothing to do")
            return
        if users:
            for key in sorted({ft.app_key for ft in tables if ft.app_key}):
                for name, role in demo.demo_users(conn, key, now=jimu.now(), password=password):
                    click.echo(f"  demo user {name} ({role}), password {password}")
    summary = demo.generate(jimu.config, app_key=app_key, now=jimu.now(), days=days, seed=seed, scale=scale,
                            progress=lambda line: click.echo(f"  {line}"))
    click.echo("demo data: " + ", ".join(f"{k} {v}" for k, v in summary.made.items()))
    click.echo(f"  steps {summary.steps.get('done', 0)} played, {summary.steps.get('skipped', 0)} not due; "
               f"{summary.jobs} jobs run; withheld (not sent): "
               + (", ".join(f"{k} {v}" for k, v in sorted(summary.withheld.items())) or "nothing"))
    if summary.refused:
        click.echo("  refused: " + ", ".join(f"{k} {v}" for k, v in sorted(summary.refused.items())))


@main.command("reindex")
@click.argument("forms", nargs=-1)
@with_appcontext
def reindex(forms) -> None:
    """Write the search documents of every record again (all forms, or the FORMS named)."""
    from .store import search
    jimu = _jimu()
    with jimu.begin() as conn:
        jimu.catalog.refresh(conn)
        unknown = [f for f in forms if f not in jimu.catalog]
        if unknown:
            raise click.UsageError(f"no form {unknown[0]!r} is installed; see the forms with `jimu export <app>`")
        for ft in [jimu.catalog.form(f) for f in forms] or list(jimu.catalog):
            search.install(conn, ft)
            click.echo(f"  {ft.key}: {search.reindex(conn, ft)} records")


@main.command("mail-intake")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True, type=int)
@with_appcontext
def mail_intake(host: str, port: int) -> None:
    """Receive e-mail over SMTP and turn it into records (forms with intake.email)."""
    import threading

    from flask import current_app

    from .intake import start_smtp
    controller = start_smtp(current_app._get_current_object(), host, port)
    click.echo(f"mail intake listening on {host}:{port}; Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@main.command("mail-fetch")
@with_appcontext
def mail_fetch() -> None:
    """Fetch the new messages of every IMAP mailbox now (forms with intake.email.imap); the worker
    also does this every MAIL_POLL_SECONDS."""
    from . import mailbox
    jimu = _jimu()
    forms = mailbox.mailbox_forms(jimu.catalog)
    if not forms:
        raise click.UsageError("no form reads a mailbox: add intake.email.imap to a form's definition")
    for ft in forms:
        try:
            with jimu.begin() as conn:
                counts = mailbox.fetch(jimu, conn, ft)
        except JimuError as exc:
            _fail(exc)
        except (OSError, mailbox.imaplib.IMAP4.error) as exc:
            raise click.UsageError(f"{ft.key}: the mailbox cannot be read: {exc}; check the host, port and "
                                   "security of intake.email.imap") from None
        click.echo(f"{ft.key}: {counts['taken']} taken, {counts['moved']} moved")


@main.command("serve")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--debug", is_flag=True)
@with_appcontext
@click.option("--no-worker", is_flag=True, help="do not run jobs in this process (run `jimu worker` instead)")
def serve(host: str, port: int, debug: bool, no_worker: bool) -> None:
    """Serve Jimu (embedded mode: one threaded process that also runs timers and the outbox).

    For scale use gunicorn 'runtime.wsgi:app' plus any number of `jimu worker` processes.
    """
    from flask import current_app
    from werkzeug.serving import run_simple

    from .app import check_server
    from .jobs import start_embedded_worker
    app = current_app._get_current_object()
    if not app.config.get("BASE_URL"):  # links in mails sent by jobs (status, surveys) need an absolute base
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        app.config["BASE_URL"] = f"http://{shown}:{port}"
    try:
        check_server(app)
    except JimuError as exc:
        _fail(exc)
    if not no_worker:
        _schedule_purge()
        start_embedded_worker(_jimu())
    # run_simple, not app.run: Flask ignores app.run() inside its own CLI
    app.debug = debug
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=debug)


@main.command("worker")
@click.option("--poll", default=0.5, type=float, help="seconds between polls when idle")
@with_appcontext
def worker(poll: float) -> None:
    """Run due jobs (timers, SLAs, scheduled rules, outgoing messages) until stopped."""
    import logging
    import signal
    import threading

    from flask import current_app

    from .app import check_server
    from .jobs import work_forever
    try:
        check_server(current_app)
    except JimuError as exc:
        _fail(exc)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    _schedule_purge()
    work_forever(_jimu(), poll=poll, stop=stop)


def _schedule_purge() -> None:
    """Whoever runs jobs makes sure tomorrow's purge and the next mailbox poll are queued (once,
    whoever comes first)."""
    from . import mailbox
    from .retention import schedule
    jimu = _jimu()
    with jimu.begin() as conn:
        schedule(conn, jimu.now())
        mailbox.schedule(jimu, conn)


@main.command("purge")
@with_appcontext
def purge() -> None:
    """Delete finished jobs, rule firings, finished imports with their rejected rows and files (and,
    if RETENTION_EVENTS_DAYS is set, audit events) past their retention age, in small batches that never hold writers up. A worker also does this daily."""
    from .retention import purge as run
    counts = run(_jimu())
    click.echo(", ".join(f"{kind}: {n}" for kind, n in counts.items()))


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(file: Path) -> None:
    """Write a consistent snapshot of this installation (platform tables, every app's records, files,
    installed app versions) to FILE, online: writers go on while it runs."""
    import time
    from .backup import backup
    started = time.perf_counter()
    manifest = backup(_jimu(), file)
    click.echo(f"wrote {file}: {sum(manifest['records'].values())} records in {len(manifest['records'])} forms, "
               f"{manifest['files']} files, schema {manifest['schema_revision']}, {file.stat().st_size} bytes, "
               f"{time.perf_counter() - started:.1f} s")
    if manifest["missing_files"]:
        click.echo(f"warning: {len(manifest['missing_files'])} stored files had no bytes on disk", err=True)


@main.command("restore", with_appcontext=False)  # the target is empty: it makes its own app and migrates
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(file: Path) -> None:
    """Restore a backup FILE into this configuration's empty database (SQLite or PostgreSQL, whichever
    kind wrote it) and file store. A damaged or newer archive is refused before anything is written."""
    import time
    from .app import create_app
    from .backup import check_compatible, read_manifest, restore
    started = time.perf_counter()
    try:
        check_compatible(read_manifest(file))  # before create_app migrates anything
        jimu = create_app({"AUTO_MIGRATE": True}).extensions["jimu"]
        try:
            result = restore(jimu, file)
        finally:
            jimu.dispose()
    except JimuError as exc:
        _fail(exc)
    manifest = result["manifest"]
    click.echo(f"restored {file}: {sum(manifest['records'].values())} records, {manifest['files']} files, "
               f"{len(manifest['apps'])} apps, {time.perf_counter() - started:.1f} s")


@main.command("export-data")
@click.argument("app_key")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def export_data_command(app_key: str, file: Path) -> None:
    """Write one app's package, records and files to FILE, to move the app to another installation."""
    from .appdata import export_data
    try:
        manifest = export_data(_jimu(), app_key, file)
    except JimuError as exc:
        _fail(exc)
    click.echo(f"wrote {file}: {app_key} {manifest['version']}, "
               + ", ".join(f"{k} {v}" for k, v in manifest["records"].items()))


@main.command("import-data")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_data_command(file: Path) -> None:
    """Install the app in FILE (from jimu export-data) with its records and files; the app must not be
    installed here yet."""
    from .appdata import import_data
    try:
        result = import_data(_jimu(), file)
    except JimuError as exc:
        _fail(exc)
    click.echo(f"imported {result['app']} {result['version']}: "
               + ", ".join(f"{k} {v}" for k, v in result["records"].items()))


@main.command("migrate-instances")
@click.argument("flow")
@click.option("--map", "pairs", multiple=True, metavar="OLD=NEW", help="move tokens waiting at node OLD to NEW")
@click.option("--sla", type=click.Choice(["keep", "recompute"]), default="keep", show_default=True,
              help="keep SLA deadlines and tasks of carried nodes, or recreate them from now")
@click.option("--to", "to_version", type=int, help="the target version (default: the newest)")
@click.option("--dry-run", is_flag=True, help="show what would happen, change nothing")
@with_appcontext
def migrate_instances_command(flow, pairs, sla, to_version, dry_run) -> None:
    """Move FLOW's running instances from older versions onto its newest one, checked: every waiting
    token must land on a node that can hold it; all move in one transaction, or none."""
    from .flows import FlowRuntime
    from .flows import migrate_instances as mi
    mapping = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            raise click.UsageError(f"--map takes OLD=NEW (two node ids), not {pair!r}")
        mapping[old] = new
    jimu = _jimu()
    try:
        with (jimu.read() if dry_run else jimu.begin()) as conn:
            rt = FlowRuntime(jimu, conn)
            result = mi.plan(rt, flow, mapping, sla=sla, to_version=to_version) if dry_run else \
                mi.apply(rt, flow, mapping, sla=sla, to_version=to_version)
    except JimuError as exc:
        _fail(exc)
    for version, per in sorted(result["waiting"].items()):
        click.echo(f"v{version}: " + ", ".join(f"{node} {n}" for node, n in sorted(per.items())))
    click.echo("mapping: " + ", ".join(f"{k} → {v}" for k, v in sorted(result["mapping"].items())))
    for item in result["instances"]:
        moves = "; ".join(f"{m['from']} → {m['to']} ({m['how']})" for m in item["moves"])
        click.echo(f"  instance {item['instance']} (v{item['from_version']}): {moves}")
    for p in result["problems"]:
        click.echo(f"  refused: instance {p['instance']} [{p['code']}] {p['message']}", err=True)
    verb = "would move" if dry_run else "moved"
    click.echo(f"{verb} {len(result['instances'])} instance(s) to v{result['to_version']}")
    if dry_run and result["problems"]:
        sys.exit(1)


@main.group("files")
def files_group() -> None:
    """Uploaded files and their store (FILE_STORE: folder or database)."""


@files_group.command("move")
@click.option("--to", "target", required=True, type=click.Choice(["folder", "database"]),
              help="the store to copy every file into")
@click.option("--from", "source", type=click.Choice(["folder", "database"]),
              help="the store they are in now (default: the other one)")
@click.option("--delete-source", is_flag=True, help="remove each file from the source once its copy is verified")
@with_appcontext
def files_move(target: str, source: str | None, delete_source: bool) -> None:
    """Copy every file into another store, verifying each against its recorded SHA-256. Safe to stop
    and run again: files already in the target with the right checksum are skipped. Then set
    JIMU_FILE_STORE to the target on every web and worker process."""
    from .filestore import store_for
    from .filestore.move import move_files
    source = source or ("folder" if target == "database" else "database")
    if source == target:
        raise click.UsageError("--from and --to name the same store; pick the other one")
    jimu = _jimu()
    report = move_files(jimu, store_for(jimu.config, jimu.engine, source), store_for(jimu.config, jimu.engine, target),
                        delete_source=delete_source)
    click.echo(f"{report.copied} copied, {report.already} already in the {target} store, {len(report.failed)} failed")
    for file_id, why in report.failed:
        click.echo(f"  {file_id}: {why}", err=True)
    if report.failed:
        raise click.ClickException(f"{len(report.failed)} file(s) not moved; fix them and run the command again")
    if (jimu.config.get("FILE_STORE") or "folder") != target:
        click.echo(f"every file is in the {target} store: set JIMU_FILE_STORE={target} on every process")


def init_app(app: Flask) -> None:
    """Jimu's own commands on ``app.cli`` (so ``flask --app runtime.app`` and the test
    runner see them); plugin commands come from the ``jimu.commands`` entry-point group.
    This is the ``cli`` entry point of the ``jimu.extensions`` group: the app factory does
    not import the CLI (the CLI imports the factory)."""
    from importlib.metadata import entry_points
    for name, command in main.commands.items():
        app.cli.add_command(command, name)
    for ep in entry_points(group="jimu.commands"):
        try:
            app.cli.add_command(ep.load(), ep.name)
        except Exception as exc:  # a broken plugin is skipped, not fatal
            app.logger.warning("skipping command plugin %s: %s", ep.name, exc)
