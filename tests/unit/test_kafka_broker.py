"""The test broker's own helpers (tests/kafka_broker.py)."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.kafka_broker import KafkaBroker, cluster_id


def test_cluster_ids_are_sixteen_bytes_and_never_read_as_an_option() -> None:
    # one plain URL-safe base64 id in 64 starts with "-", which the format tool
    # takes for an option: a broker start failed that way
    ids = [cluster_id() for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
    assert len(set(ids)) == len(ids)


def _properties(tmp_path: Path, roles: str) -> dict[str, str]:
    node = KafkaBroker(tmp_path / roles, node_id=7, replicas=3, roles=roles)
    node.data_dir.mkdir(parents=True)
    lines = node._properties().read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line)


def test_a_controller_alone_listens_only_as_a_controller(tmp_path: Path) -> None:
    # Kafka refuses a controller-only node with any other listener, or broker settings
    found = _properties(tmp_path, "controller")
    assert found["process.roles"] == "controller"
    assert found["listeners"].startswith("CONTROLLER://")
    assert "," not in found["listeners"]
    assert "advertised.listeners" not in found
    assert "inter.broker.listener.name" not in found
    assert found["leader.imbalance.check.interval.seconds"] == "2"


def test_a_broker_alone_has_no_controller_listener_but_knows_its_name(tmp_path: Path) -> None:
    found = _properties(tmp_path, "broker")
    assert found["process.roles"] == "broker"
    assert "CONTROLLER" not in found["listeners"]
    assert found["controller.listener.names"] == "CONTROLLER"
    assert "CONTROLLER:PLAINTEXT" in found["listener.security.protocol.map"]
    assert found["transaction.state.log.min.isr"] == "2"
    assert "leader.imbalance.check.interval.seconds" not in found  # a controller's


def test_combined_roles_have_both(tmp_path: Path) -> None:
    found = _properties(tmp_path, "broker,controller")
    assert "CONTROLLER://" in found["listeners"]
    assert "PLAINTEXT://" in found["listeners"]
    assert found["request.timeout.ms"] == "6000"
    assert found["leader.imbalance.check.interval.seconds"] == "2"
