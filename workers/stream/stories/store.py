"""The story index on disk: Faust's RocksDB store (through ``rocksdict``), with the
story steps' partitioning and one memory budget for every partition's database.

``ENRICH_STORY_STORE=rocksdb`` puts the story index (pending, buckets, signatures,
answers, decisions) here instead of in memory: the index then costs disk, not
memory, as it grows. It stays changelog-backed, as in memory: the changelogs are
the truth, and the local databases a copy of them.

- **Partitions.** Faust's store takes a write's partition from the current event,
  which a batch taken with ``take_events`` does not set; here it is that of the
  record being handled (``record_partition``), as for the in-memory tables.
- **Memory.** Faust opens each partition's database with a 2 GiB block cache and
  three 64 MiB write buffers of its own: 5 tables and 8 partitions could take
  gigabytes. Here every database shares one block cache, which also holds the
  index and filter blocks and is charged for the write buffers: the index's
  memory is ``BLOCK_CACHE_BYTES`` however many articles it holds.
- **Restarts.** A worker killed mid-step may have written to its local databases
  what its changelogs never received (a transaction that never committed, a
  changelog send never acknowledged). So the local copy is not trusted across a
  process: a worker starting clears the databases it finds and rebuilds them from
  the changelogs, as the in-memory store does. Rebuilding takes time in
  proportion to the index (``docs/stories.md``); memory stays bounded. A lock on the
  data directory makes a second worker sharing it fail at once, instead of
  clearing the databases of the first (``StoreInUse``).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from faust.stores import rocksdb as faust_rocksdb

from workers.errors import ConfigError
from workers.stream.stories.tables import PartitionTable, record_partition

#: The one block cache of every story database, write buffers charged to it.
BLOCK_CACHE_BYTES = 128 * 1024**2
#: Of which the write buffers (memtables) of all the databases together.
WRITE_BUFFER_BYTES = 64 * 1024**2
_WRITE_BUFFER_EACH = 8 * 1024**2
_MAX_OPEN_FILES = 128  # per database: table readers beyond these are opened as needed

_shared: dict[str, Any] = {}


def _budget() -> tuple[Any, Any]:
    """The process's block cache and write buffer manager, made once."""
    import rocksdict

    if not _shared:
        cache = rocksdict.Cache(BLOCK_CACHE_BYTES)
        _shared["cache"] = cache
        _shared["buffers"] = rocksdict.WriteBufferManager.new_write_buffer_manager_with_cache(
            WRITE_BUFFER_BYTES, False, cache
        )
    return _shared["cache"], _shared["buffers"]


def memory_in_use() -> int:
    """Bytes the shared block cache holds now (write buffers included); 0 before use."""
    return int(_shared["cache"].get_usage()) if _shared else 0


class BoundedOptions(faust_rocksdb.RocksDBOptions):
    """Each database's options, all drawing on the one memory budget."""

    def as_options(self) -> Any:
        import rocksdict

        cache, buffers = _budget()
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        options.set_max_open_files(_MAX_OPEN_FILES)
        options.set_write_buffer_size(_WRITE_BUFFER_EACH)
        options.set_max_write_buffer_number(2)
        options.set_write_buffer_manager(buffers)
        options.set_compression_type(rocksdict.DBCompressionType.lz4())
        tables = rocksdict.BlockBasedOptions()
        tables.set_bloom_filter(10, False)
        tables.set_block_cache(cache)
        tables.set_cache_index_and_filter_blocks(True)
        tables.set_pin_l0_filter_and_index_blocks_in_cache(True)
        options.set_block_based_table_factory(tables)
        return options

    def open(self, path: Path, *, read_only: bool = False) -> Any:
        import rocksdict

        return rocksdict.Rdict(
            str(path), options=self.as_options(), access_type=rocksdict.AccessType.read_write()
        )


class PartitionStore(faust_rocksdb.Store):
    """Faust's RocksDB store, writing each key to the database of the partition of
    the record being handled, with ``BoundedOptions``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["options"] = {"driver": "rocksdict"}  # popped by Faust: one dict per store
        super().__init__(*args, **kwargs)
        self.rocksdb_options = BoundedOptions(use_rocksdict=True)

    def _set(self, key: bytes, value: bytes | None) -> None:
        partition = record_partition.get()
        if partition is None:
            raise RuntimeError(f"table {self.table_name} written outside a record")
        self._key_index[key] = partition
        self._db_for_partition(partition).put(key, value)


class StoreInUse(ConfigError):
    """Another worker holds the data directory."""


def claim(tables: Path) -> IO[bytes]:
    """Lock ``tables`` (Faust's table directory) for this process, and clear the
    databases a worker before it left there; the lock file, held open until the
    process ends. Raises ``StoreInUse`` when another worker holds it."""
    tables.mkdir(parents=True, exist_ok=True)
    lock = open(tables / "story-store.lock", "ab")  # noqa: SIM115 - held for the process
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise StoreInUse(
            f"another worker keeps its story index in {tables}: give each worker its "
            "own ENRICH_DATA_DIR"
        ) from None
    for entry in tables.iterdir():
        if entry.name.startswith("story-") and entry != Path(lock.name):
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                os.unlink(entry)
    return lock


def disk_bytes(tables: Path) -> int:
    """Bytes the story databases take on disk under ``tables``."""
    return sum(
        f.stat().st_size for f in tables.rglob("*") if f.is_file() and f.name != "story-store.lock"
    )


class DiskTable(PartitionTable):
    """A story table kept in a ``PartitionStore``."""

    def _new_store_by_url(self, url: Any) -> Any:
        schema: Any = self.schema  # its serializers: the table's own are not set
        return PartitionStore(
            url,
            self.app,
            self,
            table_name=self.name,
            key_type=schema.key_type,
            key_serializer=schema.key_serializer,
            value_serializer=schema.value_serializer,
            value_type=schema.value_type,
            loop=self.loop,
        )

    def frozen_items(self) -> Iterator[tuple[Any, Any]]:
        """The items as they are now, read lazily through an iterator on each
        partition's database made here (a RocksDB iterator reads the database as
        it was when made): a copy of the index would take the memory the disk
        saves. (``rocksdict``'s ``Snapshot.items`` reads the live database.)"""
        store: Any = self.data
        cursors = [db.iter() for db in store._dbs_for_actives()]

        def items() -> Iterator[tuple[Any, Any]]:
            for cursor in cursors:
                cursor.seek_to_first()
                while cursor.valid():
                    key = cursor.key()
                    if key != store.offset_key:
                        yield key, cursor.value()
                    cursor.next()

        return items()
