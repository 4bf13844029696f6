#!/bin/bash
# The official image's topics tool (the compose file's healthcheck runs it).
exec java -Xmx256m -cp '/opt/kafka/libs/*' \
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties \
    org.apache.kafka.tools.TopicCommand "$@"
