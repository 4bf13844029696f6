"""The seam between Faust and Kafka: every patch of Faust (faust_compat, and
send_buffer for its send buffer) and of aiokafka (aiokafka_compat), and the
exactly-once commit protocol (transactions)."""
