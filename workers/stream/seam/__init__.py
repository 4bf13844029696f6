"""The seam between Faust and Kafka: every patch of Faust (faust_compat) and the
exactly-once commit protocol (transactions)."""
