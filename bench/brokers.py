"""The broker a benchmark runs on: the embedded one (Tansu) or Apache Kafka.

Apache Kafka is the test suite's one-node KRaft broker (tests/kafka_broker.py: the
release jars resolved with Maven), so it needs java and mvn.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from workers.stream.embedded.broker import EmbeddedBroker

KINDS = ("embedded", "kafka")
NAMES = {"embedded": "the embedded broker", "kafka": "Apache Kafka"}


class Running(Protocol):
    @property
    def bootstrap(self) -> str: ...

    @property
    def pid(self) -> int | None: ...


@contextlib.contextmanager
def broker(kind: str, logdir: Path) -> Iterator[Running]:
    """A fresh broker of ``kind`` for the length of the block."""
    if kind == "embedded":
        with EmbeddedBroker(log_path=logdir / "broker.log") as running:
            yield running
        return
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    from tests.kafka_broker import KafkaBroker, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        raise SystemExit(reason)
    with (
        tempfile.TemporaryDirectory(dir=logdir) as data,
        KafkaBroker(Path(data), heap="1g") as kafka,
    ):
        print(f"Apache Kafka {kafka.kafka_version} (one KRaft node)", flush=True)
        yield kafka
