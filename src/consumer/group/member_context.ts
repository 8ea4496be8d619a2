/**
 * What a group membership works with under either protocol — the classic
 * one (membership.ts) and the consumer protocol of KIP-848
 * (consumer_membership.ts): the consumer's connections, its side of a
 * rebalance ({@linkcode MembershipHooks}), the shared liveness, the
 * settings both protocols take, and the start of the heartbeat task from
 * them. Declared once here so the two memberships differ only in what
 * their protocols differ in.
 *
 * @module
 */

import type { HeartbeatThread, Logger } from "../../config.ts";
import type { Cluster, ClusterOptions } from "../../net/cluster.ts";
import type { GroupClient } from "../../net/group_client.ts";
import type { BackoffOptions } from "../../util/async.ts";
import type { TopicPartition } from "../offsets/ack_tracker.ts";
import { type HeartbeatDriver, startHeartbeat } from "./heartbeat_driver.ts";
import type { ConsumerHeartbeatEvent } from "./consumer_heartbeat.ts";
import type { HeartbeatEvent } from "./heartbeat.ts";
import type { HeartbeatTaskSpec } from "./heartbeat_task.ts";
import type { Liveness } from "./liveness.ts";

/** What the consumer does at each step of membership. */
export interface MembershipHooks {
  /** Topic names this member subscribes to now (a RegExp resolved against metadata). */
  subscription(): Promise<string[]>;
  /**
   * Give partitions up cleanly: stop fetching, wait for acks (bounded),
   * commit, onRevoked. Every partition when `partitions` is absent (eager);
   * only these under an incremental protocol, where the others go on.
   */
  revoke(partitions?: TopicPartition[]): Promise<void>;
  /** Membership ended without a clean revoke: drop partitions, nothing committed, onLost. */
  lost(reason: string): Promise<void>;
  /**
   * Partitions newly assigned: start positions, onAssigned, fetch. Eager:
   * the whole assignment; incremental: only the added ones (kept partitions
   * are not touched).
   */
  assigned(partitions: TopicPartition[]): Promise<void>;
  /** An unrecoverable condition: end the stream with it. */
  fatal(error: Error): void;
}

/** Where the member is. */
export type MembershipState = "unjoined" | "joining" | "stable" | "left" | "failed";

/** The consumer's parts a membership works with. */
export interface MemberContext {
  /** The consumer's connections. */
  cluster: Cluster;
  /** The consumer's group client (joins, commits, offset fetches). */
  client: GroupClient;
  /** The consumer's side of a rebalance. */
  hooks: MembershipHooks;
  /** Shared with the heartbeat task: what `ack()` must know at once. */
  liveness: Liveness;
  /** Ends the membership and its heartbeat task. */
  signal: AbortSignal;
}

/** Settings both protocols' memberships take. */
export interface MemberSettings {
  /** The group. */
  groupId: string;
  /** Static membership id. */
  groupInstanceId: string | null;
  /** How long the broker waits for this member in a rebalance (classic: to join; consumer protocol: to revoke). */
  rebalanceTimeoutMs: number;
  /** The poll bound, enforced by the heartbeat task. */
  maxPollIntervalMs: number;
  /** Request timeout of requests other than JoinGroup. */
  requestTimeoutMs: number;
  /** Where the heartbeat task runs. */
  heartbeatThread: HeartbeatThread;
  /** The consumer's connection settings (a heartbeat worker connects on its own). */
  cluster: ClusterOptions;
  /** Pause between failed joins and heartbeats (retryBackoffMs .. retryBackoffMaxMs). */
  retryBackoff: BackoffOptions;
  /** Logger. */
  logger: Required<Logger>;
}

/** The events a task of protocol `P` reports. */
type EventOf<P extends HeartbeatTaskSpec["protocol"]> = P extends "classic" ? HeartbeatEvent
  : ConsumerHeartbeatEvent;

/** Starts a membership's heartbeat task: `task` says which protocol's, `onEvent` gets its events. */
export function startMemberHeartbeat<T extends HeartbeatTaskSpec>(
  ctx: MemberContext,
  settings: MemberSettings,
  task: T,
  onEvent: (event: EventOf<T["protocol"]>) => void,
): HeartbeatDriver {
  return startHeartbeat({
    thread: settings.heartbeatThread,
    client: ctx.client,
    cluster: settings.cluster,
    groupId: settings.groupId,
    retryBackoff: settings.retryBackoff,
    task,
    liveness: ctx.liveness,
    onEvent: (event) => {
      // Only the classic protocol's events carry a generation; a task never
      // reports the other protocol's, and this check is what types them.
      if (("generation" in event) === (task.protocol === "classic")) {
        onEvent(event as EventOf<T["protocol"]>);
      }
    },
    logger: settings.logger,
  });
}
