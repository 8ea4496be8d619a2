/**
 * What a heartbeat task works with under either protocol (heartbeat.ts,
 * consumer_heartbeat.ts), on the event loop or in the Worker: declared once
 * so the two tasks differ only in what their protocols differ in.
 *
 * @module
 */

import type { Logger } from "../../config.ts";
import type { GroupClient } from "../../net/group_client.ts";
import type { Liveness } from "./liveness.ts";

/** The parts a heartbeat task works with; `E` is its protocol's event type. */
export interface HeartbeatTaskContext<E> {
  /** The group client the task sends with (the worker's own there). */
  client: GroupClient;
  /** Shared with the consumer thread: what `ack()` must know at once. */
  liveness: Liveness;
  /** Reports an event to the membership (across the worker boundary there). */
  emit: (event: E) => void;
  /** The consumer's logger (forwarded by message from the worker). */
  logger: Required<Logger>;
  /** Stops the task. */
  signal: AbortSignal;
}
