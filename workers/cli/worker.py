"""Running stages: ``enrich worker``, and ``enrich health`` that probes one."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import urllib.error
import urllib.request

from workers import stage_table
from workers.cli.common import add_command, against_broker
from workers.errors import ConfigError, ExitCode
from workers.settings import Settings

log = logging.getLogger("workers")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = add_command(
        sub,
        "worker",
        "run a long-lived worker for some or all stages until SIGTERM/SIGINT",
        "enrich worker",
        "enrich worker --stages tag --group-id enrich   # scale the tagger on its own",
    )
    p.add_argument(
        "--stages",
        help="comma-separated, of "
        + ",".join(stage_table.names())
        + " and any a plugin adds (ENRICH_STAGES; default: all)",
    )
    p.add_argument("--group-id", help="consumer group (ENRICH_GROUP_ID)")
    p.add_argument("--batch-size", type=int, help="records per batch (ENRICH_BATCH_SIZE)")
    p.set_defaults(func=worker)

    p = add_command(
        sub,
        "health",
        "exit 0 when this host's worker answers /health (the container healthcheck)",
        "ENRICH_HTTP_PORT=8000 enrich health",
    )
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer")
    p.set_defaults(func=health)


def worker(args: argparse.Namespace, settings: Settings) -> int:
    from workers.launch import LAUNCHED
    from workers.loading import build_pipeline, check_model
    from workers.stream.worker import process

    check_model(settings)
    _check_http_port(settings)
    _check_data_dir(settings)
    from workers.stream.kafka import admin

    async def ready() -> bool:
        short = await admin.replication_shortfall(settings)
        for topic, replicas in sorted(short.items()):
            log.warning(
                "topic %s has %d replicas, fewer than ENRICH_REPLICATION_FACTOR=%d: a broker "
                "lost can lose or stall its records",
                topic,
                replicas,
                settings.replication_factor,
            )
        return await admin.supports_idempotence(settings)

    idempotent = against_broker(settings, ready)
    log.info("starting worker for stages %s on %s", ",".join(settings.stage_list), settings.broker)
    code = process.run(
        settings, lambda: build_pipeline(settings), launched=LAUNCHED, idempotent=idempotent
    )
    # Exit now: a batch abandoned by the stop may still be running in its thread,
    # and the interpreter would wait for it. Its offsets were not committed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _check_http_port(settings: Settings) -> None:
    """Refuse to start, in one line, when the HTTP port is taken: found only once the
    worker runs, it would log "ready" and then exit."""
    from workers.stream.embedded.broker import port_in_use

    host, port = settings.http_host, settings.http_port
    if port and port_in_use(host, port):
        raise ConfigError(
            f"ENRICH_HTTP_PORT: {host}:{port} is already in use; choose another port "
            "(or 0 for no HTTP endpoint)"
        )


def _check_data_dir(settings: Settings) -> None:
    """Refuse to start, in one line and before the broker, when the data directory
    cannot be made or written: Faust would fail there with a traceback, later."""
    import tempfile

    folder = settings.data_dir / settings.app_id
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(
            f"ENRICH_DATA_DIR: {settings.data_dir} cannot hold the worker's data "
            f"({exc.strerror or exc}); name a directory this user can write"
        ) from None


def health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the worker on this host answers ``/health`` with 200."""
    if not settings.http_port:
        print(
            "enrich: ENRICH_HTTP_PORT is 0, so the worker serves no /health to probe",
            file=sys.stderr,
        )
        return ExitCode.ERROR
    wildcard = settings.http_host in ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound
    host = "127.0.0.1" if wildcard else settings.http_host
    url = f"http://{host}:{settings.http_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            body = response.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        print(f"enrich: unhealthy ({exc.code}): {detail}", file=sys.stderr)
        return ExitCode.ERROR
    except OSError as exc:
        print(f"enrich: no answer from {url}: {exc}", file=sys.stderr)
        return ExitCode.ERROR
    print(body)
    return ExitCode.OK
