#!/usr/bin/env bash
# Runs sluice's tests against real Kafka (`deno task test [deno test args...]`).
#
# The releases come from scripts/kafka/versions.sh (KAFKA_DEFAULT_VERSION, the
# newest, and KAFKA_MATRIX_VERSIONS, one per release line). Two phases:
#
# 1. The main suite, on the newest release. Fetches Kafka if needed and
#    starts, in parallel (each its own JVMs):
#    - a single broker (cluster name `test`),
#    - a 3-node cluster (`testcluster`), for failover tests,
#    - a secured single broker (`testsecure`: TLS, mutual TLS, SASL, ACLs;
#      `kafka.sh start --secure`), for the tests/secured_* tests,
#    then runs `deno test -A --no-check=remote src/ tests/ "$@"` (tests/matrix/
#    left out; without src/ and tests/ when the arguments name test files,
#    e.g. `deno task test tests/x_test.ts`) with
#      KAFKA_BROKERS          bootstrap string of the broker (127.0.0.1:port)
#      KAFKA_CLUSTER_BROKERS  bootstrap string of the 3-node cluster
#      KAFKA_SECURE_CONFIG    path of the secured broker's secure.json
#                             (listeners, certificates, users; see
#                             scripts/kafka/secure.sh)
#      SLUICE_KAFKA           absolute path of scripts/kafka.sh (for tools)
#      SLUICE_KAFKA_LIBS      the Kafka libs directory (jars)
#      SLUICE_KAFKA_VERSION   the Kafka version of those libs and of the broker
#    then (full runs) the group tests of COOPERATIVE_TESTS again with
#    SLUICE_TEST_ASSIGNORS=cooperative-sticky (members rebalance
#    incrementally unless a test chooses its assignors), and a third time
#    with SLUICE_TEST_GROUP_PROTOCOL=consumer (KIP-848, unless a test ties a
#    member to the classic protocol), and stops every cluster it started.
# 2. The version matrix (full runs only): for each release of
#    KAFKA_MATRIX_VERSIONS, one after the other (two cores cannot start six
#    JVMs at once), fetches it (one Maven run at a time), starts one broker
#    (`matrix-<version>`), runs tests/matrix/ against it with the variables
#    above naming that broker and release (KAFKA_VERSION too, so Kafka's tools
#    are of that release) and stops it.
# Then the version coverage guard (scripts/coverage_guard.ts) judges what every
# test process sent (full runs only). Brokers are stopped whatever happened.
# Prints start times and phase timings, the versions negotiated per release,
# and ends with `tests: N passed, N failed` (both phases); exits non-zero when
# a phase or the guard failed.
#
#   KAFKA_BROKERS=host:port   use that cluster for the main suite; start none
#   KAFKA_CLUSTER_BROKERS=... / KAFKA_SECURE_CONFIG=...
#                             use that cluster instead of starting one
#   SLUICE_TEST_CLUSTER=0     do not start the 3-node cluster
#   SLUICE_TEST_SECURE=0      do not start the secured broker
#   SLUICE_TEST_MATRIX=0      no matrix phase; =only: the matrix phase alone
#   SLUICE_MATRIX_VERSIONS="3.9.2 4.4.0"  run the matrix on these releases only
#                             (the guard then says which rows it cannot judge)
# (the tests that need a cluster that was not started fail: they never skip).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KAFKA="$ROOT/scripts/kafka.sh"
cd "$ROOT" || exit 1

now_ms() { date +%s%3N; }
secs() { printf '%d.%01ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }
log() { printf 'test.sh: %s\n' "$*" >&2; }

T_FETCH=0 T_START=0 T_TESTS=0 T_STOP=0
START_DETAILS="" # per cluster start times, for the timings line
STARTED=() # cluster names this script may have started (stopped if it owns them)
RUN_ROOT="${SLUICE_RUN:-/tmp/sluice-kafka}" # as in kafka.sh
STOPPED=""

stop_all() {
  [[ -n "$STOPPED" ]] && return 0
  STOPPED=1
  [[ ${#STARTED[@]} -gt 0 ]] || return 0
  local t0 name pids=()
  t0=$(now_ms)
  for name in "${STARTED[@]}"; do
    [[ -f "$RUN_ROOT/$name/owner" ]] || continue
    bash "$KAFKA" stop --name "$name" --owner $$ &
    pids+=($!)
  done
  [[ ${#pids[@]} -eq 0 ]] || wait "${pids[@]}"
  T_STOP=$(($(now_ms) - t0))
}

timings() {
  printf 'timings: fetch %s, start %s%s, tests %s, stop %s\n' "$(secs "$T_FETCH")" \
    "$(secs "$T_START")" "${START_DETAILS:+ ($START_DETAILS)}" "$(secs "$T_TESTS")" "$(secs "$T_STOP")"
}

# Brokers are stopped on every way out: normal end, error, ^C, kill.
TEST_PID=""  # the process group running deno test
STARTERS=()  # process groups running kafka.sh fetch/start (see start_bg)

# Ends our background process groups (by id), so that no start or fetch
# (Maven) finishes after the brokers were stopped and no deno test outlives
# us. Brokers run in sessions of their own (kafka.sh) and are stopped by
# stop_all.
end_children() {
  local pid
  for pid in "${STARTERS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  # deno test runs in its own process group (see below): end all of it.
  [[ -z "$TEST_PID" ]] || kill -TERM -- "-$TEST_PID" 2>/dev/null || true
  STARTERS=()
  TEST_PID=""
}

# shellcheck disable=SC2317 # invoked by trap
on_signal() {
  end_children
  exit "$1"
}
START_TMP="" # the starters' output files
START_T0=""  # when the starts began (while they run)
# shellcheck disable=SC2317 # invoked by trap
on_exit() {
  stop_all
  [[ -z "$START_TMP" ]] || rm -rf "$START_TMP"
}
trap on_exit EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# No tests ran: say why, print the summary, leave with an error.
abort() {
  log "error: $*"
  [[ -z "$START_T0" ]] || T_START=$(($(now_ms) - START_T0))
  end_children
  stop_all
  timings
  echo "tests: 0 passed, 0 failed"
  exit 1
}

t0=$(now_ms)
SLUICE_KAFKA_LIBS=$(bash "$KAFKA" libs) || abort "could not fetch Kafka (see above)"
T_FETCH=$(($(now_ms) - t0))
SLUICE_KAFKA_VERSION="${KAFKA_VERSION:-$(basename "$(dirname "$SLUICE_KAFKA_LIBS")" | sed 's/^kafka-//')}"
export SLUICE_KAFKA="$KAFKA" SLUICE_KAFKA_LIBS SLUICE_KAFKA_VERSION

# Extra arguments go to deno test; when they name test files or directories,
# those run instead of all of src/ and tests/ (unit tests sit beside their code).
paths=(src/ tests/)
for arg in "$@"; do
  case "$arg" in
  *.ts | *.tsx | *.js | *.mts | tests/* | ./*) [[ -e "$arg" ]] && paths=() && break ;;
  esac
done
# The matrix phase belongs to full runs; SLUICE_TEST_MATRIX=only runs it alone.
MATRIX_MODE=off
case "${SLUICE_TEST_MATRIX:-1}" in
0) ;;
only) MATRIX_MODE=only ;;
*) [[ ${#paths[@]} -eq 0 ]] || MATRIX_MODE=on ;;
esac

# Which clusters to start: key, cluster name, nodes, Kafka version, variable.
CLUSTERS=()
if [[ $MATRIX_MODE == only ]]; then
  log "SLUICE_TEST_MATRIX=only: the version matrix alone, no main suite"
elif [[ -n "${KAFKA_BROKERS:-}" ]]; then
  log "using KAFKA_BROKERS=$KAFKA_BROKERS (not starting a broker)"
  if [[ "${SLUICE_TEST_CLUSTER:-1}" != 0 && -z "${KAFKA_CLUSTER_BROKERS:-}" ]]; then
    log "warning: KAFKA_BROKERS is set but KAFKA_CLUSTER_BROKERS is not: the 3-node cluster tests will fail"
  fi
  if [[ "${SLUICE_TEST_SECURE:-1}" != 0 && -z "${KAFKA_SECURE_CONFIG:-}" ]]; then
    log "warning: KAFKA_BROKERS is set but KAFKA_SECURE_CONFIG is not: the secured tests will fail"
  fi
else
  CLUSTERS+=("single test 1 $SLUICE_KAFKA_VERSION KAFKA_BROKERS")
  if [[ "${SLUICE_TEST_CLUSTER:-1}" != 0 && -z "${KAFKA_CLUSTER_BROKERS:-}" ]]; then
    CLUSTERS+=("cluster testcluster 3 $SLUICE_KAFKA_VERSION KAFKA_CLUSTER_BROKERS")
  fi
  # "secure" as the node count: kafka.sh start --secure (one node).
  if [[ "${SLUICE_TEST_SECURE:-1}" != 0 && -z "${KAFKA_SECURE_CONFIG:-}" ]]; then
    CLUSTERS+=("secure testsecure secure $SLUICE_KAFKA_VERSION KAFKA_SECURE_CONFIG")
  fi
fi

# Starts one cluster (fetching its Kafka version first, when not cached):
# writes the bootstrap to $dir/$key (for the secured broker, nodes "secure":
# the path of its secure.json), the start time in ms to $dir/$key.ms and
# the fetch time to $dir/$key.fetch.ms; exits with 4 when the fetch failed.
# Names: NAME, or NAME-OWNER when another live run owns NAME. Runs in a
# process group of its own.
# shellcheck disable=SC2317 # invoked by the inner bash (export -f)
start_cluster() { # dir key name nodes version owner
  local dir=$1 key=$2 name=$3 n=$4 version=$5 owner=$6 t0 rc=0 size=(--brokers "$4")
  [[ "$n" != secure ]] || size=(--secure)
  export KAFKA_VERSION=$version
  t0=$(now_ms)
  bash "$KAFKA" fetch || return 4
  echo $(($(now_ms) - t0)) >"$dir/$key.fetch.ms"
  t0=$(now_ms)
  bash "$KAFKA" start --name "$name" "${size[@]}" --owner "$owner" >"$dir/$key" || rc=$?
  if [[ $rc -eq 3 ]]; then
    log "cluster '$name' belongs to another run: starting '$name-$owner'"
    rc=0
    name="$name-$owner"
    bash "$KAFKA" start --name "$name" "${size[@]}" --owner "$owner" >"$dir/$key" || rc=$?
  fi
  if [[ $rc -eq 0 && "$n" == secure ]]; then
    echo "${SLUICE_RUN:-/tmp/sluice-kafka}/$name/secure.json" >>"$dir/$key"
  fi
  echo $(($(now_ms) - t0)) >"$dir/$key.ms"
  return "$rc"
}

t0=$(now_ms)
START_T0=$t0
if [[ ${#CLUSTERS[@]} -gt 0 ]]; then
  # All clusters start in parallel, each in a process group of its own (so
  # that end_children can end a start or a Maven fetch with all its children).
  export -f start_cluster log now_ms
  export KAFKA
  START_TMP=$(mktemp -d)
  pids=()
  for spec in "${CLUSTERS[@]}"; do
    read -r key name n version var <<<"$spec"
    STARTED+=("$name" "$name-$$")
    # shellcheck disable=SC2016 # expanded by the inner bash
    setsid bash -c 'start_cluster "$@"' start-cluster "$START_TMP" "$key" "$name" "$n" "$version" $$ &
    pids+=($!)
    STARTERS+=("$!")
  done
  for i in "${!CLUSTERS[@]}"; do
    read -r key name n version var <<<"${CLUSTERS[$i]}"
    rc=0
    wait "${pids[$i]}" || rc=$?
    [[ $rc -ne 4 ]] || abort "could not fetch Kafka $version (see above); no tests were run"
    [[ $rc -eq 0 ]] ||
      abort "the Kafka $version cluster '$name' ($n node(s)) did not start (see above); no tests were run"
    bootstrap=$(tail -n 1 "$START_TMP/$key")
    [[ -n "$bootstrap" ]] || abort "no bootstrap for the Kafka $version cluster '$name'; no tests were run"
    export "$var=$bootstrap"
    ms=$(cat "$START_TMP/$key.ms")
    fetch_ms=$(cat "$START_TMP/$key.fetch.ms")
    detail="$name $(secs "$ms")"
    # The default version was fetched above (T_FETCH); others are fetched here.
    [[ "$version" == "$SLUICE_KAFKA_VERSION" ]] || detail+=" after fetch $version $(secs "$fetch_ms")"
    START_DETAILS+="${START_DETAILS:+, }$detail"
    log "cluster '$name' ($n node(s), Kafka $version) ready: started in $(secs "$ms")$(
      [[ "$version" == "$SLUICE_KAFKA_VERSION" ]] || printf ', fetch %s' "$(secs "$fetch_ms")"
    )"
  done
  STARTERS=()
  rm -rf "$START_TMP"
  START_TMP=""
fi
T_START=$(($(now_ms) - t0))
START_T0=""
[[ $MATRIX_MODE == only ]] || log "KAFKA_BROKERS=$KAFKA_BROKERS${KAFKA_CLUSTER_BROKERS:+ KAFKA_CLUSTER_BROKERS=$KAFKA_CLUSTER_BROKERS}${KAFKA_SECURE_CONFIG:+ KAFKA_SECURE_CONFIG=$KAFKA_SECURE_CONFIG}"

# The version coverage guard (scripts/coverage_guard.ts): every test process
# records, under SLUICE_API_RECORD_DIR, which (API, version) it sent to which
# broker and whether the answer was clean; brokers.tsv names the real Kafka
# brokers of this run (every port of every cluster started here, matrix
# brokers included) and matrix.txt the versions planned
# (scripts/kafka/versions.sh) and run.
# shellcheck source=scripts/kafka/versions.sh
source "$ROOT/scripts/kafka/versions.sh"
SLUICE_API_RECORD_DIR=$(mktemp -d)
export SLUICE_API_RECORD_DIR
RAN_VERSIONS=""
# Adds the ports of cluster NAME (if this run started it) to brokers.tsv.
record_brokers() { # name version
  local dir port
  for dir in "$RUN_ROOT/$1-$$" "$RUN_ROOT/$1"; do
    [[ -f "$dir/ports" && "$(cat "$dir/owner" 2>/dev/null)" == "$$" ]] || continue
    while read -r port; do
      printf '127.0.0.1:%s\t%s\t%s\n' "$port" "$2" "$(basename "$dir")"
    done <"$dir/ports" >>"$SLUICE_API_RECORD_DIR/brokers.tsv"
    [[ " $RAN_VERSIONS " == *" $2 "* ]] || RAN_VERSIONS+="${RAN_VERSIONS:+ }$2"
    return 0
  done
}
for spec in "${CLUSTERS[@]}"; do
  read -r key name n version var <<<"$spec"
  record_brokers "$name" "$version"
done

# Runs deno test in the background (so that a signal to this script is
# handled at once: bash runs traps only between foreground commands) and in
# a process group of its own (so that ending it also ends the Kafka tools the
# tests were running); its output goes to the terminal and to file $1.
# Sets DENO_RC.
run_deno_test() { # report-file deno-test-args...
  local report=$1
  shift
  # shellcheck disable=SC2016 # expanded by the inner bash
  setsid bash -c '
    report=$1
    shift
    "$@" 2>&1 | tee "$report"
    exit "${PIPESTATUS[0]}"
  ' test-runner "$report" deno test -A --no-check=remote "$@" &
  TEST_PID=$!
  DENO_RC=0
  wait "$TEST_PID" || DENO_RC=$?
  TEST_PID=""
}

# `passed failed` from deno test's final `ok | X passed | Y failed` line in
# file $1; nothing when it printed none (it stopped before running tests).
deno_counts() {
  local summary
  summary=$(sed -e 's/\x1b\[[0-9;]*m//g' "$1" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n 1)
  [[ -n "$summary" ]] || return 0
  printf '%s %s\n' "$(sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*/\1/' <<<"$summary")" \
    "$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")"
}

PASSED=0 FAILED=0 rc=0
# Adds one deno test run's counts (file $1, exit code $2) to the totals.
count_run() { # report rc what
  local counts
  counts=$(deno_counts "$1")
  if [[ -z "$counts" ]]; then
    log "$3: deno test printed no summary (exit code $2)"
    [[ $rc -ne 0 ]] || rc=1
    return
  fi
  read -r p f <<<"$counts"
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + ${f:-0}))
  [[ $2 -eq 0 || $rc -ne 0 ]] || rc=$2
}

# The group tests the cooperative and consumer-protocol passes run again (see below).
COOPERATIVE_TESTS=(tests/consumer_group_test.ts tests/consumer_commit_test.ts
  tests/consumer_failover_test.ts tests/consumer_subscribe_test.ts tests/consumer_regexp_test.ts
  tests/consumer_record_acks_test.ts tests/consumer_listener_seek_test.ts
  tests/consumer_liveness_test.ts tests/verifiable_consumer_test.ts)

report=$(mktemp)
if [[ $MATRIX_MODE != only ]]; then
  t0=$(now_ms)
  ignore=()
  # The trailing slash matters: with `src/ tests/` given, deno 2.9 still ran
  # tests/matrix/ under --ignore=./tests/matrix (a minute of the main suite).
  [[ ${#paths[@]} -eq 0 ]] || ignore=(--ignore=./tests/matrix/)
  run_deno_test "$report" "${ignore[@]}" "${paths[@]}" "$@"
  count_run "$report" "$DENO_RC" "main suite"
  if [[ ${#paths[@]} -gt 0 ]]; then # a full run (no test files named)
    # The group tests again, every member cooperative-sticky (KIP-429) unless
    # a test chooses its assignors: the same behaviour under incremental
    # rebalancing (tests/_consumer_helpers.ts reads SLUICE_TEST_ASSIGNORS).
    log "the group tests again under cooperative-sticky"
    SLUICE_TEST_ASSIGNORS=cooperative-sticky run_deno_test "$report" "${COOPERATIVE_TESTS[@]}" "$@"
    count_run "$report" "$DENO_RC" "group tests under cooperative-sticky"
    # And under the consumer group protocol (KIP-848), on both targets: every
    # member not tied to the classic protocol by its options.
    log "the group tests again under the consumer group protocol"
    SLUICE_TEST_GROUP_PROTOCOL=consumer run_deno_test "$report" "${COOPERATIVE_TESTS[@]}" "$@"
    count_run "$report" "$DENO_RC" "group tests under the consumer group protocol"
  fi
  T_TESTS=$(($(now_ms) - t0))
  stop_all
fi
# From here on, STARTED holds the matrix broker of the moment (stopped on
# every way out); DONE_CLUSTERS the clusters already stopped.
DONE_CLUSTERS=("${STARTED[@]}")
STARTED=()
STOPPED=""

# The version matrix: one release after the other, each its own broker.
T_MATRIX=0 MATRIX_DETAILS="" MATRIX_FAILED=""
if [[ $MATRIX_MODE != off ]]; then
  matrix_t0=$(now_ms)
  for version in ${SLUICE_MATRIX_VERSIONS:-$KAFKA_MATRIX_VERSIONS}; do
    name="matrix-$version"
    t0=$(now_ms)
    if ! libs=$(KAFKA_VERSION=$version bash "$KAFKA" libs); then
      log "matrix: could not fetch Kafka $version (see above)"
      MATRIX_FAILED+=" $version(fetch)"
      [[ $rc -ne 0 ]] || rc=1
      continue
    fi
    t_fetch=$(($(now_ms) - t0))
    t0=$(now_ms)
    STARTED=("$name" "$name-$$")
    src=0
    bootstrap=$(KAFKA_VERSION=$version bash "$KAFKA" start --name "$name" --owner $$ | tail -n 1) || src=$?
    if [[ $src -eq 3 ]]; then
      name="$name-$$"
      src=0
      bootstrap=$(KAFKA_VERSION=$version bash "$KAFKA" start --name "$name" --owner $$ | tail -n 1) || src=$?
    fi
    t_start=$(($(now_ms) - t0))
    if [[ $src -ne 0 || -z "$bootstrap" ]]; then
      log "matrix: the Kafka $version broker '$name' did not start (see above)"
      MATRIX_FAILED+=" $version(start)"
      [[ $rc -ne 0 ]] || rc=1
      continue
    fi
    record_brokers "$name" "$version"
    log "matrix: Kafka $version at $bootstrap (fetch $(secs "$t_fetch"), start $(secs "$t_start"))"
    t0=$(now_ms)
    export KAFKA_BROKERS=$bootstrap KAFKA_VERSION=$version SLUICE_KAFKA_VERSION=$version \
      SLUICE_KAFKA_LIBS=$libs
    unset KAFKA_CLUSTER_BROKERS KAFKA_SECURE_CONFIG
    run_deno_test "$report" tests/matrix/
    mrc=$DENO_RC
    t_tests=$(($(now_ms) - t0))
    count_run "$report" "$mrc" "matrix $version"
    [[ $mrc -eq 0 ]] || MATRIX_FAILED+=" $version"
    t0=$(now_ms)
    bash "$KAFKA" stop --name "$name" --owner $$ >/dev/null 2>&1 || true
    DONE_CLUSTERS+=("${STARTED[@]}")
    STARTED=()
    MATRIX_DETAILS+="${MATRIX_DETAILS:+, }$version $(secs $((t_fetch + t_start + t_tests + $(now_ms) - t0)))"
  done
  T_MATRIX=$(($(now_ms) - matrix_t0))
fi
rm -f "$report"
printf 'planned %s\nran %s\n' "$KAFKA_MATRIX_VERSIONS" "$RAN_VERSIONS" >"$SLUICE_API_RECORD_DIR/matrix.txt"

stop_all
timings
[[ $MATRIX_MODE == off ]] ||
  printf 'matrix: %s (%s)%s\n' "$(secs "$T_MATRIX")" "$MATRIX_DETAILS" \
    "${MATRIX_FAILED:+; failed on:$MATRIX_FAILED}"

# The versions negotiated per release (written by tests/matrix/): API rows,
# release columns.
shopt -s nullglob
negotiated=("$SLUICE_API_RECORD_DIR"/negotiated-*.tsv)
shopt -u nullglob
if [[ ${#negotiated[@]} -gt 0 ]]; then
  echo "negotiated versions (tests/matrix/):"
  awk -F '\t' '
    FNR == 1 { v = FILENAME; sub(/.*negotiated-/, "", v); sub(/\.tsv$/, "", v); vs[++n] = v }
    { if (!($1 in seen)) { seen[$1] = 1; names[++m] = $1 } got[$1, v] = $2 }
    END {
      printf "  %-22s", "API"; for (i = 1; i <= n; i++) printf " %7s", vs[i]; printf "\n"
      for (j = 1; j <= m; j++) {
        printf "  %-22s", names[j]
        for (i = 1; i <= n; i++) printf " %7s", ((names[j], vs[i]) in got) ? got[names[j], vs[i]] : "-"
        printf "\n"
      }
    }' "${negotiated[@]}"
fi

# The guard judges a whole run only (test files named on the command line
# prove less than it asks); it fails the run on an API whose highest version
# no real broker answered cleanly.
if [[ ${#paths[@]} -gt 0 && $MATRIX_MODE != only && -s "$SLUICE_API_RECORD_DIR/brokers.tsv" ]]; then
  if ! deno run -A scripts/coverage_guard.ts --dir "$SLUICE_API_RECORD_DIR"; then
    log "the version coverage guard failed (see its table above)"
    [[ $rc -ne 0 ]] || rc=1
  fi
fi
rm -rf "$SLUICE_API_RECORD_DIR"
# A run that had to use its own names cleans up after itself when all passed.
if [[ $rc -eq 0 ]]; then
  for name in "${DONE_CLUSTERS[@]}" "${STARTED[@]}"; do
    [[ "$name" == *-$$ ]] && rm -rf "${RUN_ROOT:?}/$name"
  done
fi

echo "tests: $PASSED passed, $FAILED failed"
[[ $rc -ne 0 || $FAILED -eq 0 ]] || rc=1
exit "$rc"
