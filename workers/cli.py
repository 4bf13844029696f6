"""The ``enrich`` command line.

Every option has an ``ENRICH_*`` environment variable (see workers.settings);
an option given on the command line wins.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO

import orjson

from workers import __version__, kafka, logs
from workers.errors import ConfigError, EnrichError, TransientError
from workers.inputs import read_records, sample_path
from workers.settings import Settings, load_settings

log = logging.getLogger("workers")

EX_UNAVAILABLE = 69
EX_CONFIG = 78

_FAUST_LEVELS = {"DEBUG": "debug", "INFO": "info", "WARNING": "warn", "WARN": "warn",
                 "ERROR": "error", "CRITICAL": "crit"}


# -- building blocks -----------------------------------------------------------

def build_pipeline(settings: Settings) -> Any:
    """The pipeline for this process; spaCy is loaded only when it tags."""
    from workers.pipeline import Pipeline
    from workers.stages.tag import Tagger, load_model

    tagger = None
    if "tag" in settings.stage_list:
        tagger = Tagger(
            load_model(settings.model),
            language=settings.model_language,
            labels=settings.label_set,
            batch_size=settings.nlp_batch_size,
            chunk_chars=settings.nlp_chunk_chars,
            batch_chars=settings.nlp_batch_chars,
            max_chars=settings.max_tag_chars,
        )
    return Pipeline(settings, tagger)


def run_worker(settings: Settings, *, task: Callable[[], Coroutine[Any, Any, None]] | None = None,
               loglevel: str | None = None) -> int:
    """Run the configured stages as a Faust worker until SIGTERM/SIGINT; the exit code."""
    from workers.app import EnrichWorker, StageAgents, create_app

    pipeline = build_pipeline(settings)
    app = create_app(settings)
    agents = StageAgents(app, settings, pipeline)
    if task is not None:
        app.task(task)
    worker = EnrichWorker(
        app,
        loglevel=_FAUST_LEVELS.get((loglevel or settings.log_level).upper(), "info"),
        redirect_stdouts=False,
        quiet=True,
        stop_timeout=settings.stop_timeout_s,
        agents=agents,
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


def _stop_self() -> None:
    """Stop this worker the way an operator would: SIGTERM, a graceful shutdown."""
    os.kill(os.getpid(), signal.SIGTERM)


# -- commands ------------------------------------------------------------------

def cmd_config(args: argparse.Namespace, settings: Settings) -> int:
    """Print the effective settings, where each came from; secrets masked."""
    from workers.settings import describe

    rows = describe(settings, {k: getattr(args, k, None) for k in _OVERRIDES})
    if args.json:
        print(orjson.dumps({var: {"value": value, "source": source}
                            for var, value, source in rows}).decode())
        return 0
    width = max(len(var) for var, _, _ in rows)
    for var, value, source in rows:
        print(f"{var:<{width}}  {value}  ({source})")
    return 0


EMBEDDED_BROKER_LIMITS = (
    "embedded broker (Tansu, in-memory storage): for development and tests; it has no "
    "Kafka transactions, and librdkafka clients (kcat, confluent-kafka) cannot connect to it")


def _advertised(value: str | None) -> tuple[str | None, int | None]:
    """HOST or HOST:PORT of --advertise."""
    if not value:
        return None, None
    host, sep, port = value.rpartition(":")
    if not sep:
        return value, None
    if not host or not port.isdigit():
        raise ConfigError(f"--advertise: expected HOST or HOST:PORT, got {value!r}")
    return host, int(port)


def cmd_broker(args: argparse.Namespace, settings: Settings) -> int:
    """Run the embedded broker until SIGTERM/SIGINT (0), or until it dies (1)."""
    from workers.broker import EmbeddedBroker

    host, port = _advertised(args.advertise)
    broker = EmbeddedBroker(port=args.port, host=args.host, advertised_host=host,
                            advertised_port=port)
    with broker:
        print(f"embedded broker listening on {args.host}:{broker.port}; "
              f"bootstrap servers: {broker.bootstrap}", flush=True)
        print(EMBEDDED_BROKER_LIMITS, flush=True)
        print("press Ctrl-C to stop", flush=True)
        try:
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            code = broker.wait()
        except KeyboardInterrupt:
            return 0
    print(f"enrich: the embedded broker exited with code {code}", file=sys.stderr)
    return 1


def cmd_topics(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> list[str]:
        await kafka.wait_for_broker(settings, timeout=settings.broker_wait_s)
        return await kafka.create_topics(settings, partitions=args.partitions)

    created = asyncio.run(go())
    for name in settings.topics.values():
        state = "created" if name in created else "exists"
        print(f"{name}\t{state}")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> list[str]:
        await kafka.wait_for_broker(settings, timeout=args.timeout)
        return await kafka.missing_topics(settings)

    missing = asyncio.run(go())
    if missing:
        print(f"broker {settings.broker} is up; missing topics: {', '.join(missing)}",
              file=sys.stderr)
        return EX_UNAVAILABLE
    print(f"broker {settings.broker} is up; all {len(settings.topics)} topics exist")
    return 0


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the worker on this host answers ``/health`` with 200."""
    import urllib.error
    import urllib.request

    if not settings.http_port:
        print("enrich: ENRICH_HTTP_PORT is 0, so the worker serves no /health to probe",
              file=sys.stderr)
        return 1
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else (
        "127.0.0.1")
    url = f"http://{host}:{settings.http_port}/health"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            body = response.read(2000).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        detail = exc.read(2000).decode("utf-8", "replace")
        print(f"enrich: unhealthy ({exc.code}): {detail}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"enrich: no answer from {url}: {exc}", file=sys.stderr)
        return 1
    print(body)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(kafka.wait_for_broker(settings, timeout=settings.broker_wait_s))
    log.info("starting worker for stages %s on %s", ",".join(settings.stage_list),
             settings.broker)
    code = run_worker(settings)
    # Exit now: a batch abandoned by the stop may still be running in its thread,
    # and the interpreter would wait for it. Its offsets were not committed.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _records_from(paths: Sequence[Path]) -> list[tuple[bytes | None, bytes]]:
    records: list[tuple[bytes | None, bytes]] = []
    for path in paths:
        if not path.exists():
            raise ConfigError(f"no such file: {path}")
        records.extend((key, value) for _, key, value in read_records(path))
    return records


def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    records = _records_from(args.files)

    async def go() -> int:
        await kafka.wait_for_broker(settings, timeout=settings.broker_wait_s)
        return await kafka.produce(settings, records, topic=args.topic)

    sent = asyncio.run(go())
    print(f"published {sent} records to {args.topic or settings.topic_raw}", file=sys.stderr)
    return 0


def format_value(value: bytes | None) -> bytes:
    """A record value as one JSON line (non-JSON values wrapped, non-UTF-8 as base64)."""
    if value is None:
        return b"null"
    try:
        orjson.loads(value)
        return value
    except orjson.JSONDecodeError:
        from workers.codec import text_or_base64

        text, encoding = text_or_base64(value)
        return orjson.dumps({"value": text, "encoding": encoding})


def cmd_tail(args: argparse.Namespace, settings: Settings) -> int:
    topic = args.topic or settings.topic_enriched

    async def go() -> int:
        await kafka.wait_for_broker(settings, timeout=settings.broker_wait_s)
        count = 0
        async for rec in kafka.consume(settings, [topic], from_beginning=args.from_beginning,
                                       timeout=args.timeout):
            sys.stdout.buffer.write(format_value(rec.value) + b"\n")
            sys.stdout.flush()
            count += 1
            if args.limit and count >= args.limit:
                break
        return count

    asyncio.run(go())
    return 0


def _dead_letters(settings: Settings, args: argparse.Namespace
                  ) -> tuple[list[tuple[int, int, Any]], set[tuple[int, int]]]:
    """The DLQ's dead letters that pass the command's filters, oldest first, each with
    its (partition, offset) in the DLQ; and the positions already replayed.

    A DLQ value that is neither a dead letter nor a replay marker (someone else
    wrote to the topic) is reported and skipped.
    """
    from pydantic import ValidationError

    from schemas.models import DeadLetter
    from workers import dlq

    try:
        since = dlq.parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None

    async def go() -> tuple[list[tuple[int, int, DeadLetter]], set[tuple[int, int]]]:
        await kafka.wait_for_broker(settings, timeout=settings.broker_wait_s)
        found: list[tuple[int, int, DeadLetter]] = []
        replayed: set[tuple[int, int]] = set()
        async for rec in kafka.read_to_end(settings, settings.topic_dlq):
            marked = dlq.replayed_position(rec.headers, rec.value)
            if marked is not None:
                replayed.add(marked)
                continue
            try:
                record = DeadLetter.model_validate_json(rec.value or b"")
            except ValidationError:
                print(f"enrich: skipping {rec.topic}:{rec.partition}:{rec.offset}: "
                      "not a dead-letter record", file=sys.stderr)
                continue
            if dlq.matches(record, code=args.code, stage=args.stage, since=since):
                found.append((rec.partition, rec.offset, record))
        found.sort(key=lambda f: (f[2].failed_at, f[0], f[1]))
        return found, replayed

    return asyncio.run(go())


def cmd_dlq_list(args: argparse.Namespace, settings: Settings) -> int:
    from workers import dlq

    records, replayed = _dead_letters(settings, args)
    shown = records[-args.limit:] if args.limit else records
    for partition, offset, record in shown:
        if args.json:
            sys.stdout.buffer.write(record.model_dump_json().encode() + b"\n")
        else:
            mark = "  (replayed)" if (partition, offset) in replayed else ""
            print(dlq.describe(record) + mark)
    sys.stdout.flush()
    more = f" (showing the last {len(shown)})" if len(shown) < len(records) else ""
    done = sum((p, o) in replayed for p, o, _ in records)
    again = f"; {done} of them replayed already" if done else ""
    print(f"{len(records)} dead-lettered records in {settings.topic_dlq}{more}{again}",
          file=sys.stderr)
    return 0


def cmd_dlq_replay(args: argparse.Namespace, settings: Settings) -> int:
    """Re-publish original values, under their original keys, to their source topics,
    each dead letter once: a marker in the DLQ remembers what was replayed."""
    from collections import Counter

    from workers import codec, dlq

    found, replayed = _dead_letters(settings, args)
    records = [(p, o, r) for p, o, r in found if (p, o) not in replayed]
    before = len(found) - len(records)
    whole = [(p, o, r) for p, o, r in records if not r.original.truncated]
    truncated = len(records) - len(whole)
    by_topic = Counter(r.source.topic for _, _, r in whole)

    async def send() -> None:
        for topic in by_topic:
            batch = [(p, o, r) for p, o, r in whole if r.source.topic == topic]
            await kafka.produce(settings, [(dlq.original_key(r), dlq.original_bytes(r))
                                           for _, _, r in batch], topic=topic)
            now = codec.utc_now()
            await kafka.produce(settings, [dlq.replay_marker(p, o, to=topic, now=now)
                                           for p, o, _ in batch],
                                topic=settings.topic_dlq,
                                headers=[(dlq.MARKER_HEADER, dlq.REPLAYED)])

    if not args.dry_run:
        asyncio.run(send())
    verb = "would replay" if args.dry_run else "replayed"
    where = ", ".join(f"{n} to {t}" for t, n in sorted(by_topic.items())) or "nothing"
    print(f"{verb} {len(whole)} of {len(records)} matching records ({where})")
    if before:
        print(f"skipped {before} matching records replayed before (each is replayed once; "
              "one that failed again is a new dead letter)", file=sys.stderr)
    if truncated:
        print(f"skipped {truncated} records whose original value was over the size limit "
              "and kept only in part; read them at their source offsets", file=sys.stderr)
    return 0


def cmd_file(args: argparse.Namespace, settings: Settings) -> int:
    from workers.pipeline import Dead, Message

    if not args.input.exists():
        raise ConfigError(f"no such file: {args.input}")
    pipeline = build_pipeline(settings.model_copy(update={"stages": "clean,tag,summarize"}))
    messages = (
        Message(str(args.input), 0, number, key, value)
        for number, key, value in read_records(args.input)
    )
    out: TextIO | Any = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
    dlq: Any = open(args.dlq, "wb") if args.dlq else sys.stderr.buffer  # noqa: SIM115
    enriched = dead = 0
    try:
        for outcome in pipeline.run(messages):
            if isinstance(outcome, Dead):
                dead += 1
                dlq.write(outcome.value + b"\n")
            else:
                enriched += 1
                out.write(outcome.value + b"\n")
    finally:
        if args.output:
            out.close()
        if args.dlq:
            dlq.close()
    print(f"{enriched} enriched, {dead} dead-lettered", file=sys.stderr)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from workers.broker import EmbeddedBroker

    path = args.input or sample_path()
    records = _records_from([path])
    if not records:
        raise ConfigError(f"{path} holds no records")
    print(f"enrich demo: starting the embedded broker, {len(records)} articles from {path}",
          flush=True)
    print(f"enrich demo: {EMBEDDED_BROKER_LIMITS}", flush=True)
    outcome = {"enriched": 0, "dead": 0, "done": False}
    with EmbeddedBroker() as broker:
        settings = settings.model_copy(update={
            "broker": broker.bootstrap, "stages": "clean,tag,summarize",
            "group_id": "enrich-demo",
        })

        async def prepare() -> None:
            await kafka.wait_for_broker(settings, timeout=30)
            await kafka.create_topics(settings)

        asyncio.run(prepare())

        async def drive() -> None:
            try:
                await asyncio.wait_for(_demo_drive(settings, records, outcome, args.json),
                                       timeout=args.timeout)
                outcome["done"] = True
            except TimeoutError:
                print(f"enrich demo: timed out after {args.timeout}s", file=sys.stderr)
            finally:
                _stop_self()

        code = run_worker(settings, task=drive, loglevel="ERROR")
    print(f"enrich demo: {outcome['enriched']} enriched, {outcome['dead']} dead-lettered",
          flush=True)
    return code if outcome["done"] else 1


async def _demo_drive(settings: Settings, records: list[tuple[bytes | None, bytes]],
                      outcome: dict[str, Any], as_json: bool) -> None:
    await kafka.produce(settings, records)
    async for rec in kafka.consume(settings, [settings.topic_enriched, settings.topic_dlq]):
        if rec.topic == settings.topic_dlq:
            outcome["dead"] += 1
        else:
            outcome["enriched"] += 1
        if as_json:
            sys.stdout.buffer.write(format_value(rec.value) + b"\n")
            sys.stdout.flush()
        else:
            print(describe(rec.topic == settings.topic_dlq, rec.value), flush=True)
        if outcome["enriched"] + outcome["dead"] >= len(records):
            return


def describe(dead: bool, value: bytes | None) -> str:
    """A human-readable view of an enriched or dead-lettered record."""
    rec = orjson.loads(value or b"{}")
    if dead:
        return (f"\n✗ dead-lettered at {rec['stage']}: [{rec['code']}] {rec['message']} "
                f"(from {rec['source']['topic']}:{rec['source']['partition']}"
                f":{rec['source']['offset']})")
    lines = [
        "",
        f"■ {rec.get('title') or '(untitled)'}",
        (f"  id {rec['id']} · {rec.get('source') or 'unknown source'} · "
         f"language {rec.get('language')} · {rec['word_count']} words"),
        f"  summary: {rec['summary']}",
    ]
    if rec["entity_list"]:
        shown = ", ".join(f"{e['name']} ({e['label']}, {e['salience']:.2f})"
                          for e in rec["entity_list"][:10])
        lines.append(f"  entities: {shown}")
    if rec["keywords"]:
        lines.append(f"  keywords: {', '.join(rec['keywords'])}")
    return "\n".join(lines)


# -- parser --------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="enrich",
        description="Clean, tag and summarize news articles flowing through Kafka.",
    )
    parser.add_argument("--version", action="version", version=f"enrich {__version__}")
    parser.add_argument("--broker", help="bootstrap servers HOST:PORT (ENRICH_BROKER)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR (ENRICH_LOG_LEVEL)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="run everything on an embedded broker with sample articles")
    p.add_argument("--input", type=Path, help="raw articles (JSON Lines, .html or .txt)")
    p.add_argument("--json", action="store_true", help="print records as JSON Lines")
    p.add_argument("--timeout", type=float, default=180.0, help="give up after S seconds")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("config", help="print the effective settings and their sources")
    p.add_argument("--json", action="store_true", help="as one JSON object")
    p.set_defaults(func=cmd_config)

    p = sub.add_parser("broker", help="run the embedded broker in the foreground "
                       "(development only: no transactions, no librdkafka clients)")
    p.add_argument("--port", type=int, help="port to listen on (default: a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--advertise", metavar="HOST[:PORT]",
                   help="address clients are told to use (default: HOST:PORT), "
                   "for example kafka:9092 in a compose network")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("topics", help="manage the pipeline's topics")
    tsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    tc = tsub.add_parser("create", help="create the topics with the configured partitions")
    tc.add_argument("--partitions", type=int, help="partitions per topic (ENRICH_PARTITIONS)")
    tc.set_defaults(func=cmd_topics)

    p = sub.add_parser("check", help="exit 0 when the broker answers and the topics exist")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the broker")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("health", help="exit 0 when this host's worker answers /health "
                       "(the container healthcheck)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the answer")
    p.set_defaults(func=cmd_health)

    p = sub.add_parser("worker", help="run a long-lived worker for some or all stages")
    p.add_argument("--stages", help="comma-separated: clean,tag,summarize (ENRICH_STAGES)")
    p.add_argument("--group-id", help="consumer group (ENRICH_GROUP_ID)")
    p.add_argument("--batch-size", type=int, help="records per batch (ENRICH_BATCH_SIZE)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("produce", help="publish raw articles from files")
    p.add_argument("files", nargs="+", type=Path, help="JSON Lines, .html or .txt files")
    p.add_argument("--topic", help="topic (default: the raw topic)")
    p.set_defaults(func=cmd_produce)

    p = sub.add_parser("tail", help="print records of a topic as JSON Lines")
    p.add_argument("--topic", help="topic (default: the enriched topic)")
    p.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    p.add_argument("--limit", type=int, help="stop after N records")
    p.add_argument("--timeout", type=float, help="stop after S seconds without a record")
    p.set_defaults(func=cmd_tail)

    p = sub.add_parser("dlq", help="inspect and replay dead-lettered records")
    dsub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, func, text in (
        ("list", cmd_dlq_list, "show dead-lettered records, oldest first"),
        ("replay", cmd_dlq_replay, "re-publish original values to their source topics"),
    ):
        d = dsub.add_parser(name, help=text)
        d.add_argument("--code", help="only records with this error code")
        d.add_argument("--stage", choices=("clean", "tag", "summarize"),
                       help="only records from this stage")
        d.add_argument("--since", help="only records failed since TIME (ISO 8601, or 30m, 2h, 1d)")
        d.set_defaults(func=func)
        if name == "list":
            d.add_argument("--limit", type=int, help="show only the last N")
            d.add_argument("--json", action="store_true", help="print whole records as JSON Lines")
        else:
            d.add_argument("--dry-run", action="store_true",
                           help="count what would be replayed; publish nothing")

    p = sub.add_parser("file", help="run the pipeline offline over a JSON Lines file")
    p.add_argument("input", type=Path, help="raw articles (JSON Lines, .html or .txt)")
    p.add_argument("-o", "--output", type=Path, help="enriched records (default: stdout)")
    p.add_argument("--dlq", type=Path, help="dead-letter records (default: stderr)")
    p.set_defaults(func=cmd_file)
    return parser


_OVERRIDES = ("broker", "log_level", "stages", "group_id", "batch_size")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(**{k: getattr(args, k, None) for k in _OVERRIDES})
        logs.setup(settings.log_level, settings.log_format)
        code: int = args.func(args, settings)
        return code
    except ConfigError as exc:
        print(f"enrich: {exc}", file=sys.stderr)
        return EX_CONFIG
    except TransientError as exc:
        print(f"enrich: {exc}", file=sys.stderr)
        return EX_UNAVAILABLE
    except EnrichError as exc:
        print(f"enrich: [{exc.code}] {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
