#!/usr/bin/env bash
# `deno task demo:kafka`: runs examples/demo.ts against KAFKA_BROKERS, or
# against a local single-node Kafka that this script starts and stops.
# (`deno task demo` runs it on the embedded cluster, without Java.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -z "${KAFKA_BROKERS:-}" ]]; then
  trap 'bash scripts/kafka.sh stop --name demo >/dev/null 2>&1 || true' EXIT
  echo "KAFKA_BROKERS is not set: starting a local Kafka (first run downloads it from Maven Central)..."
  KAFKA_BROKERS=$(bash scripts/kafka.sh start --name demo | tail -n 1)
  export KAFKA_BROKERS
fi
deno run -A examples/demo.ts
