"""The story steps on the Kafka side: the Faust agents, their changelog-backed tables,
the index and its retention sweep, and the stores (memory, RocksDB). The story rules
they apply are the pure ones in workers.stories."""
