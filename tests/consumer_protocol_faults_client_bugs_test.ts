// KNOWN CLIENT BUG — these tests FAIL on purpose and must not be counted as
// passing. They stay red until the client is fixed (the lead is rewriting
// src/consumer/group/consumer_membership.ts; helpers do not touch it).
//
// STALE_MEMBER_EPOCH, FENCED_MEMBER_EPOCH or UNKNOWN_MEMBER_ID injected on
// the OffsetFetch a consumer-protocol member sends when it is assigned
// partitions (Consumer.#assign -> GroupClient.fetchOffsets, called from the
// onAssigned hook inside ConsumerGroupMembership.#reconcile) is thrown out
// of #reconcile, whose promise chain (`this.#reconciling =
// this.#reconciling.then(() => this.#reconcile(...))`) has no handler: an
// unhandled rejection, which ends a Deno process (the runner records it and
// fails the case instead). Expected, as Java's consumer does: STALE retries
// the fetch after the next heartbeat; FENCED / UNKNOWN_MEMBER_ID give the
// partitions up as lost and rejoin at epoch 0; the stream goes on.
//
// Same cases and invariants as tests/consumer_protocol_faults_test.ts.

import { CODES, registerCases } from "./_kip848_faults.ts";

registerCases(
  CODES.map((errorCode) => ({
    api: "OffsetFetch" as const,
    errorCode,
    from: "start" as const,
    times: 2,
  })),
  "kip848 faults (KNOWN CLIENT BUG, fails)",
);
