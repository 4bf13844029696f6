"""The story index on disk: partitioned writes, undo, snapshots, the data-dir lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
import pytest
from faust.types import TP

from workers.stream.seam.transactions import Write
from workers.stream.stories.store import (
    DiskTable,
    StoreInUse,
    claim,
    disk_bytes,
    memory_in_use,
)
from workers.stream.stories.tables import Held, record_partition

pytest.importorskip("rocksdict")


def disk_table(tmp_path: Path, name: str = "story-buckets") -> Any:
    app = faust.App("stories-test", broker="kafka://localhost:1", datadir=tmp_path)
    schema: Any = faust.Schema(
        key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )
    return DiskTable(app, name=name, partitions=4, schema=schema)


def put(table: Any, partition: int, key: bytes, value: bytes) -> None:
    token = record_partition.set(partition)
    try:
        table.data[key] = value
    finally:
        record_partition.reset(token)


def test_a_write_goes_to_the_database_of_the_record_s_partition(tmp_path: Path) -> None:
    table = disk_table(tmp_path)
    put(table, 2, b"band", b"bucket")
    put(table, 3, b"other", b"x")
    store = table.data
    assert sorted(store._dbs) == [2, 3]
    assert store._dbs[2].get(b"band") == b"bucket" and store._dbs[3].get(b"band") is None
    assert table.data.get(b"band") == b"bucket"  # read without an event: every database
    assert b"other" in table.data and b"nothing" not in table.data
    with pytest.raises(RuntimeError, match="outside a record"):
        table.data[b"k"] = b"v"


def test_an_uncommitted_step_s_writes_are_taken_back_on_disk(tmp_path: Path) -> None:
    table = disk_table(tmp_path)
    put(table, 1, b"a", b"1")
    held = Held()
    for key, value in ((b"a", b"2"), (b"b", b"new")):
        held.hold(table, 1, key, value, Write("changelog", key, value, 1))
        put(table, 1, key, value)
    held.rollback(1)  # outside any record: it says the partition itself
    assert table.data.get(b"a") == b"1" and b"b" not in table.data


def test_a_sweep_reads_a_snapshot_of_the_partitions_it_owns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = disk_table(tmp_path)
    for partition in (0, 1):
        put(table, partition, b"k%d" % partition, b"v")
    owned = {TP(table.changelog_topic.get_topic_name(), 0)}
    monkeypatch.setattr(table.app.assignor, "assigned_actives", lambda: owned)
    items = table.frozen_items()
    put(table, 0, b"later", b"v")  # written after the sweep began: not read
    assert list(items) == [(b"k0", b"v")]


def test_a_worker_claims_its_data_dir_and_clears_what_a_killed_one_left(tmp_path: Path) -> None:
    import gc

    first = disk_table(tmp_path / "a")
    left = Path(first.data.path)
    lock = claim(left)  # as a worker starting
    put(first, 0, b"k", b"v" * 1000)
    assert disk_bytes(left) > 0 and memory_in_use() > 0
    with pytest.raises(StoreInUse, match="its own ENRICH_DATA_DIR"):
        claim(left)  # a second worker on the same data directory
    lock.close()  # the first is killed: its databases stay behind
    first.data._dbs.clear()
    gc.collect()
    again = claim(left)
    assert [p.name for p in left.iterdir()] == ["story-store.lock"]
    again.close()
    fresh = tmp_path / "b" / "tables"
    claim(fresh).close()  # a directory not made yet
    assert fresh.is_dir()
