// Fault injection on the consumer group protocol (KIP-848, `groupProtocol:
// "consumer"`) of the embedded cluster: STALE_MEMBER_EPOCH,
// FENCED_MEMBER_EPOCH and UNKNOWN_MEMBER_ID injected on OffsetFetch,
// OffsetCommit and ConsumerGroupHeartbeat. Whatever the error, the consumer
// must never skip a record, never reset its position to earliest or latest
// (the group has committed offsets), never commit beyond what the reader
// acknowledged, and it must go on reading once the fault is gone.
//
// An injected error is applied to the answer of a request the coordinator
// served (faults.ts): a fenced heartbeat was really processed, so the
// member rejoins at epoch 0 while the coordinator still holds it — the
// same situation as an answer lost on the way back.

import { ErrorCode } from "../src/protocol/error_codes.ts";
import { CODES, registerCases } from "./_kip848_faults.ts";

// OffsetCommit (the commit is retried or given up with the partitions),
// ConsumerGroupHeartbeat (lost partitions, rejoin at epoch 0), and the
// OffsetFetch a member sends when it is assigned partitions (STALE: fetched
// again once a heartbeat moved the epoch; FENCED / UNKNOWN_MEMBER_ID: the
// partitions are given up as lost and the member rejoins — never a reset
// from a refused fetch). The OffsetFetch cases found a reconciliation whose
// failure went unhandled (fixed in consumer_membership.ts).
registerCases(
  CODES.flatMap((errorCode) => [
    { api: "OffsetFetch" as const, errorCode, from: "start" as const, times: 2 },
    { api: "OffsetCommit" as const, errorCode, from: "running" as const, times: 3 },
    {
      api: "ConsumerGroupHeartbeat" as const,
      errorCode,
      from: "running" as const,
      times: 2,
      // Fenced or unknown: lost and rejoin (STALE is not a heartbeat error: retried).
      expectLost: errorCode !== ErrorCode.STALE_MEMBER_EPOCH,
    },
  ]),
);
