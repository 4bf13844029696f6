"""The Kafka side: the Faust app and its agents, the one seam where Faust is patched,
plain aiokafka clients for the commands, the embedded broker, metrics and logs."""
