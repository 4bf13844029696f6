#!/bin/bash
# As the official apache/kafka image: every KAFKA_* variable is a broker setting
# (KAFKA_LOG_DIRS is log.dirs; "__" stands for "_" and "___" for "-"), CLUSTER_ID
# formats the log directory on first start, and the broker runs in the foreground.
set -euo pipefail
props=/opt/kafka/config/server.properties
: > "$props"
while IFS='=' read -r name value; do
    case "$name" in
        KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_JVM_PERFORMANCE_OPTS) continue ;;
        KAFKA_*) ;;
        *) continue ;;
    esac
    key=${name#KAFKA_}
    key=$(printf '%s' "$key" | sed -e 's/___/-/g' -e 's/__/\x01/g' -e 's/_/./g' -e 's/\x01/_/g' |
          tr '[:upper:]' '[:lower:]')
    printf '%s=%s\n' "$key" "$value" >> "$props"
done < <(env)
logs=$(sed -n 's/^log\.dirs=//p' "$props")
logs=${logs:-/tmp/kraft-combined-logs}
grep -q '^log\.dirs=' "$props" || echo "log.dirs=$logs" >> "$props"
cp=(-cp '/opt/kafka/libs/*' -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties)
if [ ! -f "${logs%%,*}/meta.properties" ]; then
    java "${cp[@]}" kafka.tools.StorageTool format -t "${CLUSTER_ID:?CLUSTER_ID is required}" \
        -c "$props" --ignore-formatted
fi
# shellcheck disable=SC2086 # the heap options are words
exec java ${KAFKA_HEAP_OPTS:--Xmx768m} "${cp[@]}" kafka.Kafka "$props"
