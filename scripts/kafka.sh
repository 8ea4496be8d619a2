#!/usr/bin/env bash
# Real Apache Kafka for sluice's tests: fetch, start, stop, run its tools.
#
#   scripts/kafka.sh fetch                      download the broker + tools (Maven Central)
#   scripts/kafka.sh libs                       print the libs directory (fetching first)
#   scripts/kafka.sh start [--brokers N] [--name NAME] [--owner PID] [--secure]
#                                               start a KRaft cluster, print its bootstrap
#                                               (already running: print its bootstrap; with
#                                               --owner: exit 3 if another live process owns it;
#                                               --secure: one node with TLS, mTLS, SASL and
#                                               ACLs, described in NAME/secure.json; see
#                                               scripts/kafka/secure.sh)
#   scripts/kafka.sh bootstrap [--name NAME]    print the bootstrap of a running cluster
#   scripts/kafka.sh stop [--name NAME | --all] [--owner PID]
#                                               stop clusters started by this script
#                                               (with --owner: only if PID owns it)
#   scripts/kafka.sh stop-broker  --name NAME --node K [--kill]
#   scripts/kafka.sh start-broker --name NAME --node K
#                                               stop / restart one node of a cluster
#   scripts/kafka.sh status                     list clusters and their nodes
#   scripts/kafka.sh tool NAME [ARGS...]        run a Kafka tool (see `tool --list`)
#
# Environment:
#   KAFKA_VERSION      Kafka version to fetch and run (default: KAFKA_DEFAULT_VERSION of
#                      scripts/kafka/versions.sh, the newest release)
#   SLUICE_CACHE       cache root (default $HOME/.cache/sluice); libs in kafka-$VERSION/libs
#   SLUICE_RUN         state root (default /tmp/sluice-kafka); one directory per cluster NAME
#   SLUICE_M2_REPO     optional Maven local repository (default: Maven's own, ~/.m2)
#   SLUICE_KAFKA_START_TIMEOUT  seconds to wait for a cluster to answer (default 90)
#   SLUICE_KAFKA_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL (default 15)
#   SLUICE_BROKER_HEAP          broker heap options (default by cluster size)
#   SLUICE_BROKER_JAVA_OPTS     extra broker JVM options
#   SLUICE_TOOL_JAVA_OPTS       extra tool JVM options (appended, so they win)
#   SLUICE_TOOL_LOG_LEVEL       tool log level on stderr (default WARN)
#   SLUICE_KAFKA_CDS=0          no class data sharing archives (on by default: they
#                               cut JVM start-up; kept in the libs dir under .cds/)
#   SLUICE_KAFKA_FORMAT=always  format storage with Kafka's StorageTool on every start
#                               (by default only the first start of a version does)
#
# State of cluster NAME lives in $SLUICE_RUN/NAME/: `bootstrap` (127.0.0.1:port,...,
# present while it runs), `ports`, `owner`, `cluster-id`, `version`, `nodes`, and
# per node `nodeK/` with server.properties, pid, server.log (broker log4j),
# stdout.log (JVM output), format.log and data/. `stop` removes data, pids and
# bootstrap, and keeps the logs until the next start of that NAME. A secured
# cluster also has `secure.json`, `tls/` (CA, broker and client certificates)
# and `acls.log`.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CONF_DIR="$SCRIPT_DIR/kafka"
# shellcheck source=scripts/kafka/secure.sh
source "$CONF_DIR/secure.sh"
# shellcheck source=scripts/kafka/versions.sh
source "$CONF_DIR/versions.sh"
VERSION="${KAFKA_VERSION:-$KAFKA_DEFAULT_VERSION}"
CACHE_ROOT="${SLUICE_CACHE:-$HOME/.cache/sluice}"
KAFKA_HOME="$CACHE_ROOT/kafka-$VERSION"
LIBS="$KAFKA_HOME/libs"
RUN_ROOT="${SLUICE_RUN:-/tmp/sluice-kafka}"
START_TIMEOUT="${SLUICE_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${SLUICE_KAFKA_STOP_TIMEOUT:-15}"

say() { printf 'kafka: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}
now_ms() { date +%s%3N; }

# Names the java binary in use (path and modification time): a class data
# sharing archive only works with the JVM that wrote it.
java_id() {
  local bin
  bin=$(readlink -f "$(command -v java)")
  printf '%s@%s' "$bin" "$(stat -c %Y "$bin")"
}

# JVM options for short-lived tools: fast start-up (C1 only, class data sharing,
# serial GC, small heap), quiet logging on stderr.
tool_java_opts() {
  printf '%s\n' -Xmx256m -Xms32m -XX:TieredStopAtLevel=1 -Xshare:auto -XX:+UseSerialGC \
    -Djava.awt.headless=true \
    "-Dlog4j2.configurationFile=$CONF_DIR/log4j2-tools.xml" \
    "-Dsluice.tool.log.level=${SLUICE_TOOL_LOG_LEVEL:-WARN}"
}

# ---------------------------------------------------------------------------
# fetch

pom_stamp() {
  local sum
  sum=$(sha256sum "$CONF_DIR/pom.xml" | cut -c1-16)
  printf '%s %s\n' "$VERSION" "$sum"
}

libs_complete() {
  [[ -f "$LIBS/.complete" && "$(cat "$LIBS/.complete")" == "$(pom_stamp)" ]]
}

# Lists the main classes found in Kafka's own jars, so `tool` can pick the
# class that exists in this version without starting a JVM to find out.
index_classes() {
  local dir=$1 jar
  for jar in "$dir"/kafka*.jar; do
    if command -v unzip >/dev/null; then
      unzip -Z1 "$jar"
    else
      jar tf "$jar"
    fi
  done | grep -E '^(kafka|org/apache/kafka)/.*\.class$' | grep -v '\$' |
    sed -e 's/\.class$//' -e 's#/#.#g' | sort -u >"$dir/.classes"
}

fetch() {
  libs_complete && return 0
  command -v mvn >/dev/null || die "mvn (Maven) is not installed; install it (apt-get install maven)"
  command -v java >/dev/null || die "java is not installed; install a JDK 17 (apt-get install openjdk-17-jdk-headless)"
  mkdir -p "$KAFKA_HOME"
  # One fetch at a time per version (parallel starts share the cache).
  exec 8>"$KAFKA_HOME/.lock"
  flock 8
  if libs_complete; then
    exec 8>&-
    return 0
  fi
  local tmp="$KAFKA_HOME/libs.tmp.$$" t0
  t0=$(now_ms)
  rm -rf "$tmp"
  say "fetching Kafka $VERSION from Maven Central into $LIBS"
  local mvn_args=(-q -B -ntp -Dstyle.color=never -f "$CONF_DIR/pom.xml"
    "-Dkafka.version=$VERSION" dependency:copy-dependencies "-DoutputDirectory=$tmp")
  [[ -n "${SLUICE_M2_REPO:-}" ]] && mvn_args+=("-Dmaven.repo.local=$SLUICE_M2_REPO")
  # Maven 3.8 prints stray colour codes even in quiet batch mode: strip them.
  if ! mvn "${mvn_args[@]}" 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
    rm -rf "$tmp"
    die "Maven could not fetch Kafka $VERSION (is Maven Central reachable? see the output above)"
  fi
  local jar
  for jar in "kafka_2.13-$VERSION.jar" "kafka-clients-$VERSION.jar"; do
    [[ -f "$tmp/$jar" ]] || die "Maven finished but $jar is missing from $tmp"
  done
  index_classes "$tmp"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  pom_stamp >"$LIBS/.complete"
  exec 8>&-
  say "fetched $(find "$LIBS" -name '*.jar' | wc -l) jars in $((($(now_ms) - t0) / 1000))s"
}

# ---------------------------------------------------------------------------
# tools

# Short name -> candidate main classes, newest layout first (Kafka 4.x moved
# most tools from kafka.* in the core jar to org.apache.kafka.tools.*).
tool_candidates() {
  case "$1" in
  topics) echo org.apache.kafka.tools.TopicCommand kafka.admin.TopicCommand ;;
  console-producer) echo org.apache.kafka.tools.ConsoleProducer kafka.tools.ConsoleProducer ;;
  console-consumer) echo org.apache.kafka.tools.consumer.ConsoleConsumer kafka.tools.ConsoleConsumer ;;
  consumer-groups) echo org.apache.kafka.tools.consumer.group.ConsumerGroupCommand kafka.admin.ConsumerGroupCommand ;;
  producer-perf-test) echo org.apache.kafka.tools.ProducerPerformance ;;
  consumer-perf-test) echo org.apache.kafka.tools.ConsumerPerformance kafka.tools.ConsumerPerformance ;;
  verifiable-producer) echo org.apache.kafka.tools.VerifiableProducer ;;
  verifiable-consumer) echo org.apache.kafka.tools.VerifiableConsumer ;;
  transactional-message-copier) echo org.apache.kafka.tools.TransactionalMessageCopier ;;
  configs) echo org.apache.kafka.tools.ConfigCommand kafka.admin.ConfigCommand ;;
  broker-api-versions) echo org.apache.kafka.tools.BrokerApiVersionsCommand kafka.admin.BrokerApiVersionsCommand ;;
  storage) echo org.apache.kafka.tools.StorageTool kafka.tools.StorageTool ;;
  get-offsets) echo org.apache.kafka.tools.GetOffsetShell kafka.tools.GetOffsetShell ;;
  metadata-quorum) echo org.apache.kafka.tools.MetadataQuorumCommand ;;
  delete-records) echo org.apache.kafka.tools.DeleteRecordsCommand kafka.admin.DeleteRecordsCommand ;;
  transactions) echo org.apache.kafka.tools.TransactionsCommand ;;
  features) echo org.apache.kafka.tools.FeatureCommand kafka.admin.FeatureCommand ;;
  leader-election) echo org.apache.kafka.tools.LeaderElectionCommand kafka.admin.LeaderElectionCommand ;;
  reassign-partitions) echo org.apache.kafka.tools.reassign.ReassignPartitionsCommand kafka.admin.ReassignPartitionsCommand ;;
  log-dirs) echo org.apache.kafka.tools.LogDirsCommand kafka.admin.LogDirsCommand ;;
  dump-log) echo org.apache.kafka.tools.DumpLogSegments kafka.tools.DumpLogSegments ;;
  e2e-latency) echo org.apache.kafka.tools.EndToEndLatency kafka.tools.EndToEndLatency ;;
  groups) echo org.apache.kafka.tools.GroupsCommand ;;
  acls) echo org.apache.kafka.tools.AclCommand kafka.admin.AclCommand ;;
  *) return 1 ;;
  esac
}
TOOL_NAMES="topics console-producer console-consumer consumer-groups producer-perf-test
consumer-perf-test verifiable-producer verifiable-consumer transactional-message-copier configs
broker-api-versions storage get-offsets metadata-quorum delete-records transactions features
leader-election reassign-partitions log-dirs dump-log e2e-latency groups acls"

tool_class() {
  local name=$1 candidates c
  if [[ "$name" == *.* ]]; then # a fully qualified class name
    echo "$name"
    return 0
  fi
  candidates=$(tool_candidates "$name") || die "unknown tool '$name' (try: scripts/kafka.sh tool --list)"
  for c in $candidates; do
    if grep -qxF "$c" "$LIBS/.classes"; then
      echo "$c"
      return 0
    fi
  done
  die "tool '$name' is not in Kafka $VERSION (looked for: $candidates)"
}

tool() {
  [[ $# -ge 1 ]] || die "usage: kafka.sh tool NAME [ARGS...] (or --list)"
  fetch
  if [[ "$1" == "--list" ]]; then
    local n
    for n in $TOOL_NAMES; do
      printf '%-30s %s\n' "$n" "$( (tool_class "$n") 2>/dev/null || echo '(not in this version)')"
    done
    return 0
  fi
  local name=$1 class
  shift
  class=$(tool_class "$name")
  local opts
  mapfile -t opts < <(tool_java_opts)
  case "$name" in
  # Throughput tools: keep the full JIT (C2) and a larger heap, else they
  # measure the JVM's start-up compiler instead of Kafka's client.
  *-perf-test | e2e-latency | verifiable-*)
    opts=(-Xmx512m -Xms128m -XX:+UseG1GC -Xshare:auto -Djava.awt.headless=true
      "-Dlog4j2.configurationFile=$CONF_DIR/log4j2-tools.xml"
      "-Dsluice.tool.log.level=${SLUICE_TOOL_LOG_LEVEL:-WARN}")
    ;;
  esac
  # Class data sharing: the first successful run of a tool records the classes
  # it loaded in an archive next to the libs; later runs map it and start
  # about 40% faster. A re-fetch replaces the libs and with them the archives.
  # SLUICE_KAFKA_CDS=0 turns this off.
  local jsa="" dump=""
  if [[ "${SLUICE_KAFKA_CDS:-1}" == 1 ]]; then
    jsa="$LIBS/.cds/$class-$(printf '%s %s %s' "$(java_id)" "${opts[*]}" "${SLUICE_TOOL_JAVA_OPTS:-}" | cksum | cut -d' ' -f1).jsa"
    mkdir -p "$LIBS/.cds"
    if [[ -s "$jsa" ]]; then
      opts+=("-XX:SharedArchiveFile=$jsa")
    else
      dump="$jsa.$$"
      opts+=("-XX:ArchiveClassesAtExit=$dump")
    fi
    # JVM warnings to stderr, CDS chatter nowhere: stdout stays the tool's.
    opts+=(-Xlog:disable "-Xlog:all=warning,cds*=off:stderr")
  fi
  # shellcheck disable=SC2206
  [[ -n "${SLUICE_TOOL_JAVA_OPTS:-}" ]] && opts+=(${SLUICE_TOOL_JAVA_OPTS})
  if [[ -z "$dump" ]]; then
    exec java "${opts[@]}" -cp "$LIBS/*" "$class" "$@"
  fi
  local rc=0
  TOOL_DUMP=$dump # global: the EXIT trap runs after this function's locals are gone
  trap 'rm -f -- "$TOOL_DUMP"' EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  java "${opts[@]}" -cp "$LIBS/*" "$class" "$@" || rc=$?
  if [[ $rc -eq 0 && -s "$dump" ]]; then mv -f "$dump" "$jsa"; else rm -f "$dump"; fi
  return $rc
}

# ---------------------------------------------------------------------------
# processes

# True when $pid is a live java process whose command line names $dir, i.e.
# one we started for that cluster (pids get reused; never kill a stranger).
our_java() {
  local pid=$1 dir=$2 cmd
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *java* && "$cmd" == *"$dir/"* ]]
}

node_pid() { # prints the pid of node dir $1 when it is alive and ours
  local node=$1 pid
  [[ -f "$node/pid" ]] || return 1
  pid=$(cat "$node/pid")
  our_java "$pid" "$node" || return 1
  echo "$pid"
}

# SIGTERM every pid, wait up to STOP_TIMEOUT seconds for all, SIGKILL the rest
# (their pids are added to KILLED).
KILLED=" "
terminate() {
  local pids=("$@") pid deadline alive
  [[ ${#pids[@]} -gt 0 ]] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
  while :; do
    alive=()
    for pid in "${pids[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive+=("$pid")
    done
    [[ ${#alive[@]} -eq 0 ]] && return 0
    if [[ $(now_ms) -ge $deadline ]]; then
      say "pids ${alive[*]} still running after ${STOP_TIMEOUT}s: SIGKILL"
      KILLED+=" ${alive[*]} "
      kill -KILL "${alive[@]}" 2>/dev/null || true
      sleep 0.2
      return 0
    fi
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------
# ports

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Picks $2 free ports for cluster dir $1 and records them in $1/ports. Ports
# come from 20000-31999 (below Linux's ephemeral range, so outgoing
# connections do not take them), skipping ports in use and ports recorded by
# other clusters; a lock makes parallel starts pick disjoint ports.
pick_ports() {
  local dir=$1 count=$2 reserved p picked=()
  mkdir -p "$RUN_ROOT"
  exec 9>"$RUN_ROOT/.ports.lock"
  flock 9
  reserved=" $(cat "$RUN_ROOT"/*/ports 2>/dev/null | tr "\n" " " || true) "
  while [[ ${#picked[@]} -lt $count ]]; do
    p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    [[ "$reserved" == *" $p "* ]] && continue
    port_in_use "$p" && continue
    picked+=("$p")
    reserved+="$p "
  done
  printf '%s\n' "${picked[@]}" >"$dir/ports"
  exec 9>&-
}

# ---------------------------------------------------------------------------
# readiness

# Sends ApiVersions v0 (correlation id 1, client id "sluice") and checks the
# answer: correlation id 1, error code 0. Proves the listener serves requests.
api_versions_ok() {
  local port=$1 out
  out=$(
    exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
    printf '\x00\x00\x00\x10\x00\x12\x00\x00\x00\x00\x00\x01\x00\x06sluice' >&3
    timeout 3 head -c 10 <&3 | od -An -v -tx1 | tr -d ' \n'
  ) 2>/dev/null || return 1
  [[ "${out:8:12}" == "000000010000" ]]
}

log_tail() { # prints the end of a node's logs to stderr
  local node=$1 f
  for f in "$node/stdout.log" "$node/server.log"; do
    [[ -s "$f" ]] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n "${2:-40}" "$f" >&2
  done
}

# Waits until every node dir given ("node:port:logoffset") logged "Kafka
# Server started" after logoffset and answers ApiVersions on its port.
wait_ready() {
  local deadline specs=("$@") spec node port off pending
  deadline=$(($(now_ms) + START_TIMEOUT * 1000))
  while :; do
    pending=()
    for spec in "${specs[@]}"; do
      IFS=: read -r node port off <<<"$spec"
      if ! node_pid "$node" >/dev/null; then
        say "error: the broker in $node exited during start-up"
        log_tail "$node" 60
        return 1
      fi
      if tail -c "+$((off + 1))" "$node/server.log" 2>/dev/null | grep -q 'Kafka Server started' &&
        api_versions_ok "$port"; then
        continue
      fi
      pending+=("$spec")
    done
    [[ ${#pending[@]} -eq 0 ]] && return 0
    specs=("${pending[@]}")
    if [[ $(now_ms) -ge $deadline ]]; then
      for spec in "${specs[@]}"; do
        IFS=: read -r node port off <<<"$spec"
        say "error: the broker in $node (port $port) did not answer within ${START_TIMEOUT}s"
        log_tail "$node" 60
      done
      return 1
    fi
    sleep 0.25
  done
}

# ---------------------------------------------------------------------------
# clusters

default_name() { if [[ "$1" -eq 1 ]]; then echo single; else echo cluster; fi; }

node_count() { cat "$1/nodes" 2>/dev/null || echo 0; }

alive_nodes() { # prints node numbers that run
  local dir=$1 k
  for ((k = 1; k <= $(node_count "$dir"); k++)); do
    node_pid "$dir/node$k" >/dev/null && echo "$k"
  done
  return 0
}

running() { [[ -f "$1/bootstrap" && -n "$(alive_nodes "$1")" ]]; }

write_config() { # dir node-number nodes
  local dir=$1 k=$2 n=$3 node="$1/node$2" bport cport voters="" i rf min_isr
  bport=$(sed -n "$((2 * k - 1))p" "$dir/ports")
  cport=$(sed -n "$((2 * k))p" "$dir/ports")
  for ((i = 1; i <= n; i++)); do
    voters+="${voters:+,}$i@127.0.0.1:$(sed -n "$((2 * i))p" "$dir/ports")"
  done
  rf=$((n < 3 ? n : 3))
  min_isr=$((rf > 1 ? 2 : 1))
  mkdir -p "$node/data"
  cat >"$node/server.properties" <<EOF
# Generated by scripts/kafka.sh start: node $k of $n, cluster $(basename "$dir").
process.roles=broker,controller
node.id=$k
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$node/data

# Test-friendly group and topic defaults (GUIDE.md section 4).
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$min_isr
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$min_isr
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
# The consumer group protocol (KIP-848): quick heartbeats and failure detection for tests.
group.consumer.min.session.timeout.ms=6000
group.consumer.session.timeout.ms=10000
group.consumer.min.heartbeat.interval.ms=500
group.consumer.heartbeat.interval.ms=1000

# Small machine: fewer threads, a small cleaner buffer, faster failure detection.
num.network.threads=2
num.io.threads=4
log.cleaner.dedupe.buffer.size=16777216
broker.heartbeat.interval.ms=1000
broker.session.timeout.ms=6000
EOF
}

launch_node() { # node-dir heap...; prints "node:port:logoffset"
  local node=$1 port off opts
  shift
  port=$(sed -n 's#^listeners=PLAINTEXT://127.0.0.1:\([0-9]*\),.*#\1#p' "$node/server.properties")
  off=$(stat -c %s "$node/server.log" 2>/dev/null || echo 0)
  opts=("$@" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35
    -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true
    "-Dkafka.logs.dir=$node" "-Dlog4j2.configurationFile=$CONF_DIR/log4j2-broker.xml")
  # shellcheck disable=SC2206
  [[ -n "${SLUICE_BROKER_JAVA_OPTS:-}" ]] && opts+=(${SLUICE_BROKER_JAVA_OPTS})
  # Class data sharing roughly halves broker start-up on a small machine. The
  # archive is written when a broker exits cleanly (so the first cluster of a
  # version pays a few seconds at stop); only one node records it.
  rm -f "$node/cds-dump"
  if [[ "${SLUICE_KAFKA_CDS:-1}" == 1 ]]; then
    local jsa
    jsa="$LIBS/.cds/kafka.Kafka-$(printf '%s %s' "$(java_id)" "${SLUICE_BROKER_JAVA_OPTS:-}" | cksum | cut -d' ' -f1).jsa"
    mkdir -p "$LIBS/.cds"
    if [[ -s "$jsa" ]]; then
      opts+=("-XX:SharedArchiveFile=$jsa")
    elif [[ "$node" == */node1 ]]; then
      local dump="$jsa.$$.$RANDOM"
      opts+=("-XX:ArchiveClassesAtExit=$dump")
      printf '%s\n%s\n' "$dump" "$jsa" >"$node/cds-dump"
    fi
    opts+=(-Xlog:disable "-Xlog:all=warning,cds*=off:stdout")
  fi
  # setsid: the broker outlives this script and ignores the terminal's ^C
  # (stop it with `kafka.sh stop`).
  local launcher=()
  command -v setsid >/dev/null && launcher=(setsid)
  "${launcher[@]}" java "${opts[@]}" -cp "$LIBS/*" kafka.Kafka "$node/server.properties" \
    >>"$node/stdout.log" 2>&1 </dev/null &
  echo $! >"$node/pid"
  echo "$node:$port:$off"
}

broker_heap() { # nodes
  if [[ -n "${SLUICE_BROKER_HEAP:-}" ]]; then
    echo "$SLUICE_BROKER_HEAP"
  elif [[ "$1" -eq 1 ]]; then
    echo "-Xmx512m -Xms256m"
  else
    echo "-Xmx384m -Xms128m"
  fi
}

new_uuid() { # a Kafka Uuid: 16 random bytes, base64url, no padding
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    [[ "$id" =~ ^[A-Za-z0-9] ]] && echo "$id" && return 0
  done
}

# Formats the storage of nodes 1..$2 of cluster dir $1. Kafka's format writes
# meta.properties (cluster id, node id, a random directory id) and
# bootstrap.checkpoint (the feature levels of this Kafka version, nothing
# specific to the cluster). The first format of a version runs Kafka's
# StorageTool (a JVM per node) and keeps its bootstrap.checkpoint; later
# starts write meta.properties themselves and copy the checkpoint, which saves
# seconds of JVM start-up. SLUICE_KAFKA_FORMAT=always forces StorageTool.
# Optional: $3 the checkpoint's file name in the cache, then extra StorageTool
# arguments (the secured cluster's --add-scram users: its checkpoint carries
# their salted credentials, the same for every start).
format_nodes() {
  local dir=$1 n=$2 k cid ckpt="$KAFKA_HOME/${3:-bootstrap.checkpoint}" fpids=() topts
  local extra=("${@:4}")
  cid=$(cat "$dir/cluster-id")
  if [[ -s "$ckpt" && "${SLUICE_KAFKA_FORMAT:-}" != always ]]; then
    for ((k = 1; k <= n; k++)); do
      printf 'node.id=%s\ndirectory.id=%s\nversion=1\ncluster.id=%s\n' \
        "$k" "$(new_uuid)" "$cid" >"$dir/node$k/data/meta.properties"
      cp "$ckpt" "$dir/node$k/data/bootstrap.checkpoint"
      echo "formatted from $ckpt" >"$dir/node$k/format.log"
    done
    return 0
  fi
  mapfile -t topts < <(tool_java_opts)
  for ((k = 1; k <= n; k++)); do
    java "${topts[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format \
      --cluster-id "$cid" --config "$dir/node$k/server.properties" "${extra[@]}" \
      >"$dir/node$k/format.log" 2>&1 &
    fpids+=($!)
  done
  for ((k = 1; k <= n; k++)); do
    if ! wait "${fpids[$((k - 1))]}"; then
      say "error: formatting the storage of node $k failed:"
      cat "$dir/node$k/format.log" >&2
      return 1
    fi
  done
  # Keep the checkpoint only when format wrote exactly the two files above.
  if [[ "$(find "$dir/node1/data" -mindepth 1 -printf "%f\n" | sort | tr "\n" " ")" == "bootstrap.checkpoint meta.properties " ]]; then
    cp "$dir/node1/data/bootstrap.checkpoint" "$ckpt.$$" && mv -f "$ckpt.$$" "$ckpt"
  fi
  return 0
}

start() {
  local n=1 name="" owner="" secure=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
    --secure) secure=1 && shift ;;
    --brokers) n=${2:?--brokers needs a number} && shift 2 ;;
    --name) name=${2:?--name needs a value} && shift 2 ;;
    --owner) owner=${2:?--owner needs a pid} && shift 2 ;;
    *) die "start: unknown argument '$1'" ;;
    esac
  done
  [[ -z "$owner" || "$owner" =~ ^[0-9]+$ ]] || die "start: --owner must be a pid, got '$owner'"
  [[ "$n" =~ ^[1-9]$ ]] || die "start: --brokers must be 1-9, got '$n'"
  [[ -z "$secure" || "$n" == 1 ]] || die "start: --secure starts a single node (no --brokers)"
  [[ -n "$name" ]] || name=$(default_name "$n")
  [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || die "start: bad --name '$name'"
  local dir="$RUN_ROOT/$name"
  # Ownership: `--owner PID` (scripts/test.sh passes its pid) claims the
  # cluster for that process. Another owner's cluster is never reused or
  # stopped while that process lives; one whose owner died is restarted.
  local prev="" prev_alive=""
  [[ -f "$dir/owner" ]] && prev=$(cat "$dir/owner")
  [[ -n "$prev" ]] && kill -0 "$prev" 2>/dev/null && prev_alive=1
  if running "$dir"; then
    if [[ -z "$owner" || "$prev" == "$owner" ]]; then
      say "cluster '$name' is already running ($(alive_nodes "$dir" | wc -l) of $(node_count "$dir") nodes up)"
      cat "$dir/bootstrap"
      return 0
    elif [[ -n "$prev" && -z "$prev_alive" ]]; then
      say "cluster '$name' was left running by process $prev, which is gone: restarting it"
    else
      say "cluster '$name' is in use by ${prev:+process }${prev:-someone else (started without --owner)}"
      exit 3
    fi
  elif [[ -n "$prev_alive" && "$prev" != "$owner" ]]; then
    say "cluster '$name' is being started by process $prev"
    exit 3
  fi
  [[ -d "$dir" ]] && stop_cluster "$dir" quiet && rm -rf "$dir"
  fetch
  local t0
  t0=$(now_ms)
  mkdir -p "$dir"
  [[ -z "$owner" ]] || echo "$owner" >"$dir/owner"
  echo "$n" >"$dir/nodes"
  echo "$VERSION" >"$dir/version"
  local extra_ports=0
  [[ -z "$secure" ]] || extra_ports=${#SECURE_LISTENERS[@]}
  pick_ports "$dir" $((2 * n + extra_ports))
  new_uuid >"$dir/cluster-id"
  local k specs=() bootstrap="" heap format_args=()
  for ((k = 1; k <= n; k++)); do write_config "$dir" "$k" "$n"; done
  if [[ -n "$secure" ]]; then
    secure_certs "$dir"
    secure_config "$dir"
    mapfile -t format_args < <(secure_scram_args)
    format_args=("bootstrap-secure-$(printf '%s\n' "${format_args[@]}" | cksum | cut -d' ' -f1).checkpoint"
      "${format_args[@]}")
  fi
  format_nodes "$dir" "$n" "${format_args[@]}" || {
    stop_cluster "$dir" quiet
    exit 1
  }
  heap=$(broker_heap "$n")
  for ((k = 1; k <= n; k++)); do
    # shellcheck disable=SC2086
    specs+=("$(launch_node "$dir/node$k" $heap)")
    bootstrap+="${bootstrap:+,}127.0.0.1:$(sed -n "$((2 * k - 1))p" "$dir/ports")"
  done
  if ! wait_ready "${specs[@]}"; then
    say "error: Kafka $VERSION cluster '$name' did not start; logs in $dir (node*/server.log, node*/stdout.log)"
    stop_cluster "$dir" quiet
    exit 1
  fi
  if [[ -n "$secure" ]]; then
    secure_acls "$dir" || {
      say "error: could not create the ACLs of the secured cluster '$name' (see above)"
      stop_cluster "$dir" quiet
      exit 1
    }
    secure_describe "$dir"
  fi
  echo "$bootstrap" >"$dir/bootstrap"
  local ms=$(($(now_ms) - t0))
  say "cluster '$name' ($n node(s)${secure:+, secured: $dir/secure.json}, Kafka $VERSION) up in $((ms / 1000)).$((ms % 1000 / 100))s; state in $dir"
  echo "$bootstrap"
}

# After node dir $1 stopped: keep the class archive its JVM wrote at exit,
# unless it had to be killed (a partial archive is useless).
keep_cds_dump() {
  local node=$1 pid=${2:-} dump jsa
  [[ -f "$node/cds-dump" ]] || return 0
  { read -r dump && read -r jsa; } <"$node/cds-dump" || true
  rm -f "$node/cds-dump"
  if [[ -n "$pid" && "$KILLED" != *" $pid "* && -s "$dump" && ! -s "$jsa" ]]; then
    mv -f "$dump" "$jsa"
  else
    rm -f "$dump"
  fi
}

# Stops every node of the cluster in $1 that we started, removes the data and
# pid files; keeps the logs (overwritten by the next start of that name).
stop_cluster() {
  local dir=$1 quiet=${2:-} k pids=() pid node_pids=()
  for ((k = 1; k <= $(node_count "$dir"); k++)); do
    pid=$(node_pid "$dir/node$k") || pid=""
    node_pids[k]=$pid
    [[ -n "$pid" ]] && pids+=("$pid")
  done
  terminate "${pids[@]}"
  for ((k = 1; k <= $(node_count "$dir"); k++)); do
    keep_cds_dump "$dir/node$k" "${node_pids[k]}"
  done
  rm -f "$dir/bootstrap" "$dir/ports" "$dir/owner" "$dir"/node*/pid
  rm -rf "$dir"/node*/data
  [[ -n "$quiet" ]] || say "stopped cluster '$(basename "$dir")' (${#pids[@]} process(es)); logs kept in $dir"
  return 0
}

stop() {
  local name="" all="" owner=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
    --name) name=${2:?--name needs a value} && shift 2 ;;
    --all) all=1 && shift ;;
    --owner) owner=${2:?--owner needs a pid} && shift 2 ;;
    *) die "stop: unknown argument '$1'" ;;
    esac
  done
  if [[ -n "$all" ]]; then
    local d
    for d in "$RUN_ROOT"/*/; do
      [[ -f "$d/nodes" ]] && stop_cluster "${d%/}"
    done
    return 0
  fi
  [[ -n "$name" ]] || name=single
  [[ -d "$RUN_ROOT/$name" ]] || {
    say "no cluster named '$name' in $RUN_ROOT"
    return 0
  }
  if [[ -n "$owner" && "$(cat "$RUN_ROOT/$name/owner" 2>/dev/null)" != "$owner" ]]; then
    say "cluster '$name' does not belong to process $owner: left alone"
    return 0
  fi
  stop_cluster "$RUN_ROOT/$name"
}

node_args() { # parses --name NAME --node K [--kill]; sets NAME NODE KILL
  NAME="" NODE="" KILL=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
    --name) NAME=${2:?--name needs a value} && shift 2 ;;
    --node) NODE=${2:?--node needs a number} && shift 2 ;;
    --kill) KILL=1 && shift ;;
    *) die "unknown argument '$1'" ;;
    esac
  done
  [[ -n "$NAME" ]] || NAME=cluster
  [[ "$NODE" =~ ^[0-9]+$ ]] || die "--node K is required"
  [[ -f "$RUN_ROOT/$NAME/bootstrap" ]] || die "cluster '$NAME' is not running"
  [[ -f "$RUN_ROOT/$NAME/node$NODE/server.properties" ]] || die "cluster '$NAME' has no node $NODE"
}

stop_broker() {
  node_args "$@"
  local node="$RUN_ROOT/$NAME/node$NODE" pid
  if ! pid=$(node_pid "$node"); then
    say "node $NODE of '$NAME' is not running"
    return 0
  fi
  if [[ -n "$KILL" ]]; then
    KILLED+=" $pid "
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
  else
    terminate "$pid"
  fi
  keep_cds_dump "$node" "$pid"
  rm -f "$node/pid"
  say "stopped node $NODE of '$NAME' (pid $pid$([[ -n "$KILL" ]] && echo ', SIGKILL'))"
}

start_broker() {
  node_args "$@"
  local dir="$RUN_ROOT/$NAME" node="$RUN_ROOT/$NAME/node$NODE" spec heap
  if node_pid "$node" >/dev/null; then
    say "node $NODE of '$NAME' is already running"
  else
    fetch
    heap=$(broker_heap "$(node_count "$dir")")
    # shellcheck disable=SC2086
    spec=$(launch_node "$node" $heap)
    wait_ready "$spec" || die "node $NODE of '$NAME' did not start again"
    say "node $NODE of '$NAME' is up"
  fi
  cat "$dir/bootstrap"
}

bootstrap() {
  local name=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
    --name) name=${2:?--name needs a value} && shift 2 ;;
    *) die "bootstrap: unknown argument '$1'" ;;
    esac
  done
  [[ -n "$name" ]] || name=single
  running "$RUN_ROOT/$name" || die "cluster '$name' is not running (start it: scripts/kafka.sh start --name $name)"
  cat "$RUN_ROOT/$name/bootstrap"
}

status() {
  local d k any=""
  for d in "$RUN_ROOT"/*/; do
    d=${d%/}
    [[ -f "$d/nodes" ]] || continue
    any=1
    if running "$d"; then
      printf '%s: Kafka %s, %s, nodes up: %s\n' "$(basename "$d")" "$(cat "$d/version")" \
        "$(cat "$d/bootstrap")" "$(alive_nodes "$d" | tr '\n' ' ')"
    else
      printf '%s: stopped\n' "$(basename "$d")"
    fi
  done
  [[ -n "$any" ]] || echo "no clusters in $RUN_ROOT"
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; }

cmd=${1:-}
[[ $# -gt 0 ]] && shift
case "$cmd" in
fetch) fetch ;;
libs)
  fetch
  echo "$LIBS"
  ;;
start) start "$@" ;;
stop) stop "$@" ;;
bootstrap) bootstrap "$@" ;;
stop-broker) stop_broker "$@" ;;
start-broker) start_broker "$@" ;;
status) status ;;
tool) tool "$@" ;;
help | -h | --help) usage ;;
*)
  usage
  exit 2
  ;;
esac
