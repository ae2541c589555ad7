"""WSGI entry for gunicorn: ``gunicorn -w 2 'runtime.wsgi:app'``.

A server process starts only when it can work with the others: on PostgreSQL the schema must be current
(``jimu migrate``) and JIMU_SECRET_KEY and JIMU_BASE_URL set (``check_server``). EMBEDDED_WORKER (on by
default for SQLite, where no ``jimu worker`` is expected) runs the jobs — timers, SLAs, outgoing mail —
in a thread of the process that imports this module (each gunicorn worker; with ``--preload`` the master
alone, as forked workers keep no threads); with it off, run ``jimu worker`` next to the web processes."""
import gc
import os

from .app import check_server, create_app


def _serve():
    application = create_app()
    check_server(application)
    if application.config["EMBEDDED_WORKER"]:
        from .jobs import start_embedded_worker
        from .retention import schedule
        jimu = application.extensions["jimu"]
        with jimu.begin() as conn:
            schedule(conn, jimu.now())
        start_embedded_worker(jimu)
    elif str(application.config["DATABASE_URL"]).startswith("sqlite"):
        application.logger.warning("JIMU_EMBEDDED_WORKER=0 on SQLite: timers and outgoing mail run only "
                                   "while `jimu worker` runs next to this process")
    _settle_heap()
    _own_connections(application.extensions["jimu"])
    return application


def _own_connections(jimu) -> None:
    """Each process talks to the database on connections it opened itself. With ``--preload`` gunicorn
    builds the app here, in its master, which reads the database on the way (the schema check, the
    schedule), and forks the workers from it: a worker using a connection its master opened shares one
    server session with the other workers, whose statements and answers then cross (rows answering
    another worker's query, errors, a worker left waiting). The master's pooled connections are closed
    before it forks, and a forked process drops any it inherits without closing them (the parent's
    sessions stay up) and opens its own on first use."""
    engine = jimu.engine
    engine.dispose()
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))


def _settle_heap() -> None:
    """Move what every request uses (modules, the catalogue, the segmenter's dictionary of some
    350,000 words, waited for here) out of the garbage collector's sight: it would otherwise walk
    all of it in every full collection, about one per thousand creates, 100 ms each on this kind
    of machine (0.1 ms a request on average, and a stall for the request it falls on)."""
    from .store import search
    search.ready()
    gc.collect()
    gc.freeze()


app = _serve()
