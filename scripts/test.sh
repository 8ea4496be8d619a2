#!/usr/bin/env bash
# Runs sluice's tests against real Kafka (`deno task test [deno test args...]`).
#
# Fetches Kafka if needed, starts a single broker (cluster name `test`), runs
# `deno test -A --no-check=remote src/ tests/ "$@"` (without them when the
# arguments name test files, e.g. `deno task test tests/x_test.ts`) with
#   KAFKA_BROKERS       bootstrap string of the broker (127.0.0.1:port)
#   SLUICE_KAFKA        absolute path of scripts/kafka.sh (for tools)
#   SLUICE_KAFKA_LIBS   the Kafka libs directory (jars)
#   SLUICE_KAFKA_VERSION  the Kafka version of those libs and of the broker
# and stops the broker afterwards, whatever happened. Prints phase timings and
# ends with `tests: N passed, N failed`; exits with deno test's exit code.
#
#   KAFKA_BROKERS=host:port   use that cluster; start and stop nothing
#   SLUICE_TEST_CLUSTER=1     also start a 3-node cluster (name `testcluster`,
#                             in parallel) and export KAFKA_CLUSTER_BROKERS
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KAFKA="$ROOT/scripts/kafka.sh"
cd "$ROOT" || exit 1

now_ms() { date +%s%3N; }
secs() { printf '%d.%01ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }
log() { printf 'test.sh: %s\n' "$*" >&2; }

T_FETCH=0 T_START=0 T_TESTS=0 T_STOP=0
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
  printf 'timings: fetch %s, start %s, tests %s, stop %s\n' \
    "$(secs "$T_FETCH")" "$(secs "$T_START")" "$(secs "$T_TESTS")" "$(secs "$T_STOP")"
}

# Brokers are stopped on every way out: normal end, error, ^C, kill.
TEST_PID=""  # the process group running deno test
STARTERS=()  # subshells running kafka.sh start

# Ends our background subshells and their children (by pid), so that no
# start finishes after the brokers were stopped and no deno test outlives us.
end_children() {
  local pid
  for pid in "${STARTERS[@]}"; do
    pkill -TERM -P "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
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
trap stop_all EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

# No tests ran: say why, print the summary, leave with an error.
abort() {
  log "error: $*"
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

t0=$(now_ms)
if [[ -n "${KAFKA_BROKERS:-}" ]]; then
  log "using KAFKA_BROKERS=$KAFKA_BROKERS (not starting a broker)"
  if [[ "${SLUICE_TEST_CLUSTER:-}" == 1 && -z "${KAFKA_CLUSTER_BROKERS:-}" ]]; then
    log "warning: SLUICE_TEST_CLUSTER=1 with KAFKA_BROKERS set: set KAFKA_CLUSTER_BROKERS too"
  fi
else
  # Both clusters start in parallel. Names: `test` and `testcluster`, or
  # `test-PID` / `testcluster-PID` when another live run owns those.
  STARTED=(test "test-$$")
  [[ "${SLUICE_TEST_CLUSTER:-}" == 1 ]] && STARTED+=(testcluster "testcluster-$$")
  tmp=$(mktemp -d)
  start_one() { # base-name brokers: prints the bootstrap as its last line
    local rc=0
    bash "$KAFKA" start --name "$1" --brokers "$2" --owner $$ || rc=$?
    if [[ $rc -eq 3 ]]; then
      log "cluster '$1' belongs to another run: starting '$1-$$'"
      bash "$KAFKA" start --name "$1-$$" --brokers "$2" --owner $$
    else
      return $rc
    fi
  }
  start_one test 1 >"$tmp/single" &
  pid_single=$!
  STARTERS+=("$pid_single")
  if [[ "${SLUICE_TEST_CLUSTER:-}" == 1 ]]; then
    start_one testcluster 3 >"$tmp/cluster" &
    pid_cluster=$!
    STARTERS+=("$pid_cluster")
  fi
  wait "$pid_single" || abort "the Kafka broker did not start (see above); no tests were run"
  KAFKA_BROKERS=$(tail -n 1 "$tmp/single")
  export KAFKA_BROKERS
  if [[ "${SLUICE_TEST_CLUSTER:-}" == 1 ]]; then
    wait "$pid_cluster" || abort "the 3-node Kafka cluster did not start (see above); no tests were run"
    KAFKA_CLUSTER_BROKERS=$(tail -n 1 "$tmp/cluster")
    export KAFKA_CLUSTER_BROKERS
  fi
  STARTERS=()
  rm -rf "$tmp"
fi
T_START=$(($(now_ms) - t0))
log "KAFKA_BROKERS=$KAFKA_BROKERS${KAFKA_CLUSTER_BROKERS:+ KAFKA_CLUSTER_BROKERS=$KAFKA_CLUSTER_BROKERS}"

# deno test's output goes to the terminal as it comes and to a file, from
# which the final `ok | X passed | Y failed` line is read.
# Extra arguments go to deno test; when they name test files or directories,
# those run instead of all of src/ and tests/ (unit tests sit beside their code).
paths=(src/ tests/)
for arg in "$@"; do
  case "$arg" in
  *.ts | *.tsx | *.js | *.mts | tests/* | ./*) [[ -e "$arg" ]] && paths=() && break ;;
  esac
done
report=$(mktemp)
t0=$(now_ms)
# In the background so that a signal to this script is handled at once (bash
# runs traps only between foreground commands), and in a process group of its
# own so that ending it also ends the Kafka tools the tests were running.
# shellcheck disable=SC2016 # expanded by the inner bash
setsid bash -c '
  report=$1
  shift
  "$@" 2>&1 | tee "$report"
  exit "${PIPESTATUS[0]}"
' test-runner "$report" deno test -A --no-check=remote "${paths[@]}" "$@" &
TEST_PID=$!
rc=0
wait "$TEST_PID" || rc=$?
TEST_PID=""
T_TESTS=$(($(now_ms) - t0))

stop_all
timings
# A run that had to use its own names cleans up after itself when all passed.
if [[ $rc -eq 0 ]]; then
  for name in "${STARTED[@]}"; do
    [[ "$name" == *-$$ ]] && rm -rf "${RUN_ROOT:?}/$name"
  done
fi

summary=$(sed -e 's/\x1b\[[0-9;]*m//g' "$report" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n 1)
rm -f "$report"
if [[ -n "$summary" ]]; then
  passed=$(sed -E 's/^[A-Za-z]+ \| ([0-9]+) passed.*/\1/' <<<"$summary")
  failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$summary")
  echo "tests: ${passed:-0} passed, ${failed:-0} failed"
else
  # No summary: deno test stopped before running tests (e.g. a type error).
  log "deno test printed no summary (exit code $rc)"
  echo "tests: 0 passed, 0 failed"
  [[ $rc -ne 0 ]] || rc=1
fi
exit "$rc"
