"""The test broker's own helpers (tests/kafka_broker.py)."""

from __future__ import annotations

import base64

from tests.kafka_broker import cluster_id


def test_cluster_ids_are_sixteen_bytes_and_never_read_as_an_option() -> None:
    # one plain URL-safe base64 id in 64 starts with "-", which the format tool
    # takes for an option: a broker start failed that way
    ids = [cluster_id() for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)
