"""The worker process: the Faust app made from the settings, the pipeline loading
beside it, and the worker run until a signal."""

from __future__ import annotations

import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any

import faust

from workers.pipeline import Pipeline
from workers.settings import Settings
from workers.stream.kafka import connection
from workers.stream.seam import faust_compat, send_buffer
from workers.stream.worker.app import StageAgents


def create_app(settings: Settings, *, idempotent: bool = False, **overrides: Any) -> faust.App:
    """A Faust app configured from settings (the group id is the app id); its producer
    idempotent where ``idempotent`` (the broker gives producer ids).

    Faust's data directory is ``<data_dir>/<app id>``, created here: Faust makes
    only the last level, and would otherwise write into the current directory.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    conf: dict[str, Any] = {
        "broker": [f"kafka://{h.strip()}" for h in settings.broker.split(",")],
        "datadir": settings.data_dir / settings.app_id,
        "store": "memory://",
        "autodiscover": False,
        "web_enabled": False,
        "topic_partitions": settings.partitions,
        "topic_replication_factor": settings.replication_factor,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "broker_session_timeout": settings.group_session_s,
        "broker_heartbeat_interval": settings.heartbeat_interval_s,
        "broker_rebalance_timeout": settings.rebalance_timeout_s,
        "broker_commit_interval": settings.commit_interval_s,
        # every request bounded (Faust's defaults: 90 s, and 20 minutes for a send): a
        # frozen broker costs this, then the client retries against fresh metadata
        "broker_request_timeout": settings.request_timeout_s,
        "producer_request_timeout": settings.request_timeout_s,
        "producer_acks": -1,
        "producer_max_request_size": settings.max_request_bytes,
        "consumer_max_fetch_size": settings.max_request_bytes,
        "stream_wait_empty": False,
        "stream_buffer_maxsize": settings.stream_buffer,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "TableManager": faust_compat.TableManager,
        # No standby copies of the story tables: a worker that takes a partition over
        # rebuilds its tables from the changelog (under a second here). With Faust's
        # standbys, streams stalled for good after a worker joined mid-run on the
        # embedded broker (tests/integration/test_stories.py).
        "table_standby_replicas": 0,
    }
    credentials = connection.faust_credentials(settings)
    if credentials is not None:
        conf["broker_credentials"] = credentials
    conf.update(overrides)
    faust_compat.apply()
    app = faust.App(settings.app_id, **conf)
    faust_compat.set_fetch_wait(app, settings.fetch_max_wait_ms)
    faust_compat.set_bootstrap_wait(app, settings.broker_wait_s)
    faust_compat.set_idempotence(app, idempotent)
    send_buffer.set_send_deadline(app, settings.produce_deadline_s)
    return app


_FAUST_LEVELS = {
    "DEBUG": "debug",
    "INFO": "info",
    "WARNING": "warn",
    "WARN": "warn",
    "ERROR": "error",
    "CRITICAL": "crit",
}


def load_in_background(build: Callable[[], Pipeline]) -> Future[Pipeline]:
    """Build and warm the pipeline in a thread of its own: the model loads while
    the worker starts and joins its group, which is mostly waiting on the broker."""
    loaded: Future[Pipeline] = Future()

    def load() -> None:
        try:
            pipeline = build()
            pipeline.warm()
        except BaseException as exc:  # noqa: BLE001 - handed to the worker, which stops
            loaded.set_exception(exc)
        else:
            loaded.set_result(pipeline)

    threading.Thread(target=load, name="enrich-load", daemon=True).start()
    return loaded


def run(
    settings: Settings,
    build: Callable[[], Pipeline],
    *,
    task: Callable[[], Coroutine[Any, Any, None]] | None = None,
    loglevel: str | None = None,
    launched: float | None = None,
    idempotent: bool = False,
) -> int:
    """Run the configured stages as a Faust worker until SIGTERM/SIGINT; the exit code.

    ``build`` makes the pipeline; it runs (and the pipeline is warmed) while the
    worker joins its group. ``task`` runs beside the agents (the demo drives its
    articles from there); it should wait for ``/ready``'s conditions itself.
    """
    loading = load_in_background(build)
    app = create_app(settings, idempotent=idempotent)
    agents = StageAgents(app, settings, loading, launched=launched)
    if task is not None:
        app.task(task)
    worker = faust_compat.Worker(
        app,
        loglevel=_FAUST_LEVELS.get((loglevel or settings.log_level).upper(), "info"),
        redirect_stdouts=False,
        quiet=True,
        stop_timeout=settings.stop_timeout_s,
        exit_code=lambda: agents.exit_code,
        log_format=settings.log_format,
    )
    worker.spinner = None  # a progress spinner mangles piped output
    code = 0
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        agents.close()
    return agents.exit_code or code
