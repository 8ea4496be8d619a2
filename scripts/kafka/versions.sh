# The Kafka releases sluice is tested against: the one place they are pinned.
# Sourced by scripts/kafka.sh and scripts/test.sh; read by tests through the
# environment those scripts export (SLUICE_KAFKA_VERSION, SLUICE_MATRIX_VERSIONS).
#
# KAFKA_DEFAULT_VERSION: the newest release. The main suite's brokers (single,
#   3-node, secured) run it, and the protocol declarations are generated from
#   its kafka-clients jar.
# KAFKA_MATRIX_VERSIONS: one release per line from 3.9 to the newest, oldest
#   first. `deno task test` runs tests/matrix/ against each, one broker after
#   the other, after the main suite.
# shellcheck disable=SC2034 # used by the scripts that source this file
KAFKA_DEFAULT_VERSION=4.4.0
KAFKA_MATRIX_VERSIONS="3.9.2 4.0.2 4.1.2 4.2.2 4.3.2 4.4.0"
