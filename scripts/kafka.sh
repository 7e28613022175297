#!/usr/bin/env bash
# Run one Apache Kafka node (broker and KRaft controller in one JVM) on 127.0.0.1 for
# the tests that need a real broker. The jars come from Maven Central through
# scripts/kafka/pom.xml. The jars, config, data, pid file and log live in .cache/kafka/.
#
# Usage: scripts/kafka.sh start | stop [--clean] | status | topics [TopicCommand options]
#   start          Download the jars if needed, format the storage on first use, start
#                  the node and wait until it accepts clients. Prints the bootstrap
#                  server (127.0.0.1:PORT) as the last line of stdout. If the node is
#                  already running, prints its bootstrap server and exits 0.
#   stop           Send SIGTERM, wait up to KAFKA_STOP_TIMEOUT seconds, then SIGKILL.
#                  --clean also deletes the data, the config and the logs (not the jars).
#   status         Prints whether the node is running and on which port. Exits 0 if it
#                  is, 3 if it is not.
#   topics         Runs Kafka's TopicCommand against the node, with --list if no options.
#                  Example: scripts/kafka.sh topics --create --topic t --partitions 3
#
# Environment:
#   KAFKA_PORT             client listener port (default 19092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener port (default 19093)
#   KAFKA_HEAP_OPTS        JVM heap options (default "-Xms256m -Xmx512m")
#   KAFKA_OPTS             extra JVM options for the node
#   KAFKA_START_TIMEOUT    seconds to wait for the node to accept clients (default 90)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#   JAVA_HOME              Java 17 or newer (default: `java` on PATH)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pom="$root/scripts/kafka/pom.xml"
cache="$root/.cache/kafka"
lib="$cache/lib"
data="$cache/data"
config="$cache/config"
pid_file="$cache/kafka.pid"
log_file="$cache/kafka.log"

port="${KAFKA_PORT:-19092}"
controller_port="${KAFKA_CONTROLLER_PORT:-19093}"
heap_opts="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
start_timeout="${KAFKA_START_TIMEOUT:-90}"
stop_timeout="${KAFKA_STOP_TIMEOUT:-30}"

# The line KafkaRaftServer logs once the broker serves requests. An open port alone is
# not enough, because Kafka creates the listener before the broker has caught up with
# the metadata log and processes requests only after that.
# NOTE: this text is checked against Kafka 4.4.0 only, so recheck it after an upgrade.
ready_message='Kafka Server started'

fail() {
  echo "kafka.sh: $*" >&2
  exit 1
}

log() {
  echo "kafka.sh: $*" >&2
}

check_settings() {
  local name value
  for name in KAFKA_PORT KAFKA_CONTROLLER_PORT; do
    value="${!name:-}"
    [[ -z "$value" ]] && continue
    if ! [[ "$value" =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
      fail "invalid $name '$value': expected a TCP port from 1 to 65535."
    fi
  done
  if [[ "$port" == "$controller_port" ]]; then
    fail "KAFKA_PORT and KAFKA_CONTROLLER_PORT are both $port. Set them to different ports."
  fi
  for name in KAFKA_START_TIMEOUT KAFKA_STOP_TIMEOUT; do
    value="${!name:-}"
    if [[ -n "$value" ]] && ! [[ "$value" =~ ^[1-9][0-9]*$ ]]; then
      fail "invalid $name '$value': expected a whole number of seconds, at least 1."
    fi
  done
}

# Print the path of a java of version 17 or newer, as Kafka 4.x requires.
find_java() {
  local java version
  if [[ -n "${JAVA_HOME:-}" ]]; then
    java="$JAVA_HOME/bin/java"
  else
    java="$(command -v java || true)"
  fi
  if [[ -z "$java" || ! -x "$java" ]]; then
    fail "java not found. Install Java 17 or newer, or set JAVA_HOME."
  fi
  version="$("$java" -XshowSettings:properties -version 2>&1 |
    sed -n 's/^ *java\.specification\.version = //p')"
  if ! [[ "$version" =~ ^[0-9]+$ ]] || ((version < 17)); then
    fail "expected Java 17 or newer for Kafka 4.x, got '${version:-unknown}' from $java." \
      "Set JAVA_HOME to a newer JDK."
  fi
  echo "$java"
}

# Copy the jars named by the pom into $lib, unless the stamp shows they are current.
# The copy goes to a temporary folder first, so an interrupted download never leaves
# a half-filled $lib that looks complete.
fetch_jars() {
  local stamp="$lib/.pom.sha256" expected partial="$cache/lib.partial"
  expected="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$expected" ]]; then
    return
  fi
  command -v mvn >/dev/null 2>&1 || fail "mvn not found. Install Maven 3.6.1 or newer."

  log "downloading the Kafka jars with Maven (log: $cache/maven.log)"
  rm -rf "$partial"
  if ! mvn --batch-mode --no-transfer-progress --file "$pom" \
    dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$partial" \
    >"$cache/maven.log" 2>&1; then
    tail -n 30 "$cache/maven.log" >&2
    fail "Maven failed to download the jars listed in $pom. See $cache/maven.log."
  fi

  echo "$expected" >"$partial/.pom.sha256"
  rm -rf "$lib"
  mv "$partial" "$lib"
}

write_config() {
  mkdir -p "$config" "$data"
  cat >"$config/server.properties" <<EOF
# scripts/kafka.sh rewrites this file on every start, so edit the script instead.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$data

# One node, so every internal topic has one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1

# The broker creates __consumer_offsets and __transaction_state, with all their
# partitions, on the first group join and the first transaction. 5 partitions instead
# of the default 50 keep that step short on a test node.
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5

# Consumers in tests join right away instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

# Tests create their topics with the partition count they need.
auto.create.topics.enable=false
EOF

  cat >"$config/log4j2.properties" <<'EOF'
# Broker log: INFO and above to stdout, which kafka.sh sends to kafka.log.
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
EOF

  cat >"$config/tools-log4j2.properties" <<'EOF'
# Command-line tools: warnings and errors only, to stderr.
appender.stderr.type=Console
appender.stderr.name=STDERR
appender.stderr.target=SYSTEM_ERR
appender.stderr.layout.type=PatternLayout
appender.stderr.layout.pattern=%p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.stderr.ref=STDERR
EOF
}

# Format the log directory once. The cluster id is a random 16-byte id in the
# URL-safe base64 form without padding that Kafka's Uuid.fromString accepts.
format_storage() {
  local java="$1" cluster_id
  [[ -f "$data/meta.properties" ]] && return
  cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')"
  if ! "$java" -cp "$lib/*" -Dlog4j2.configurationFile="$config/tools-log4j2.properties" \
    kafka.tools.StorageTool format \
    --cluster-id "$cluster_id" --config "$config/server.properties" \
    >"$cache/format.log" 2>&1; then
    cat "$cache/format.log" >&2
    fail "formatting the storage in $data failed."
  fi
}

# Print the pid of the running node, or return 1. A pid file whose process is gone,
# or now belongs to another program, does not count.
running_pid() {
  local pid
  [[ -f "$pid_file" ]] || return 1
  pid="$(cat "$pid_file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
  echo "$pid"
}

# Print the client port of the running node from its config, which may differ from
# KAFKA_PORT in this shell if the node was started with another value.
running_port() {
  sed -n 's|^advertised\.listeners=PLAINTEXT://127\.0\.0\.1:||p' "$config/server.properties" \
    2>/dev/null || true
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Serialize start and stop, so that two concurrent starts do not launch two nodes.
take_lock() {
  mkdir -p "$cache"
  exec 9>"$cache/kafka.lock"
  flock 9
}

start() {
  local java pid deadline p
  take_lock
  if pid="$(running_pid)"; then
    log "already running (pid $pid)"
    echo "127.0.0.1:$(running_port)"
    return
  fi
  rm -f "$pid_file"
  for p in "$port" "$controller_port"; do
    if port_open "$p"; then
      fail "port $p on 127.0.0.1 is in use by another program." \
        "Stop it, or set KAFKA_PORT and KAFKA_CONTROLLER_PORT."
    fi
  done

  java="$(find_java)"
  fetch_jars
  write_config
  format_storage "$java"

  # Keep the previous run's log for a post-mortem.
  [[ -f "$log_file" ]] && mv "$log_file" "$log_file.1"

  # setsid detaches the node from this shell's session, so closing the terminal or
  # a Ctrl-C in it does not stop the node. The inner shell writes its own pid, which
  # exec hands on to java. 9>&- closes the lock, or the node would hold it forever.
  # shellcheck disable=SC2016,SC2086 # $$ expands in the inner shell; the options are lists
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pid_file" \
    "$java" $heap_opts -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    ${KAFKA_OPTS:-} -Dlog4j2.configurationFile="$config/log4j2.properties" \
    -cp "$lib/*" kafka.Kafka "$config/server.properties" \
    </dev/null >"$log_file" 2>&1 9>&- &

  # The inner shell writes the pid file within milliseconds of the launch.
  for _ in {1..50}; do
    [[ -s "$pid_file" ]] && break
    sleep 0.1
  done

  deadline=$((SECONDS + start_timeout))
  while true; do
    if ! pid="$(running_pid)"; then
      rm -f "$pid_file"
      tail -n 40 "$log_file" >&2
      fail "the node exited during startup. The full log is $log_file."
    fi
    if port_open "$port" && grep -q "$ready_message" "$log_file" 2>/dev/null; then
      break
    fi
    if ((SECONDS >= deadline)); then
      tail -n 40 "$log_file" >&2
      fail "timed out after ${start_timeout}s (KAFKA_START_TIMEOUT) waiting for the node" \
        "to serve clients on 127.0.0.1:$port. It is still running as pid $pid," \
        "and its log is $log_file."
    fi
    sleep 0.5
  done

  log "started (pid $pid), log: $log_file"
  echo "127.0.0.1:$port"
}

stop() {
  local clean=false pid deadline
  case "${1:-}" in
    '') ;;
    --clean) clean=true ;;
    *) fail "unknown option '$1' for stop. Expected --clean or no option." ;;
  esac
  take_lock

  if pid="$(running_pid)"; then
    kill -TERM "$pid"
    deadline=$((SECONDS + stop_timeout))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not exit ${stop_timeout}s after SIGTERM (KAFKA_STOP_TIMEOUT)," \
        "so sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      while kill -0 "$pid" 2>/dev/null; do
        sleep 0.1
      done
    fi
    log "stopped (pid $pid)"
  else
    log "not running"
  fi
  rm -f "$pid_file"

  if [[ "$clean" == true ]]; then
    rm -rf "$data" "$config" "$log_file" "$log_file.1" "$cache/format.log"
    log "deleted the data, config and logs in $cache"
  fi
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "running (pid $pid) on 127.0.0.1:$(running_port)"
  else
    echo "not running"
    exit 3
  fi
}

topics() {
  local java
  running_pid >/dev/null || fail "not running. Start it with scripts/kafka.sh start."
  java="$(find_java)"
  (($# > 0)) || set -- --list
  "$java" -cp "$lib/*" -Dlog4j2.configurationFile="$config/tools-log4j2.properties" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$(running_port)" "$@"
}

check_settings
command="${1:-}"
shift || true
case "$command" in
  start) start ;;
  stop) stop "$@" ;;
  status) status ;;
  topics) topics "$@" ;;
  *)
    echo "usage: scripts/kafka.sh start | stop [--clean] | status | topics [options]" >&2
    exit 2
    ;;
esac
