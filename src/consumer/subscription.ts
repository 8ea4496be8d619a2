/**
 * Subscribe mode's topics: the list or RegExp resolved against the cluster's
 * metadata (a named topic that does not exist yet is waited for, with a
 * warning), and the periodic metadata check that asks the membership to
 * rejoin when what the subscription covers changed.
 *
 * Apart from consumer.ts because both halves answer one question — which
 * topics this member subscribes to now — and the membership asks it through
 * {@linkcode MembershipHooks.subscription}.
 *
 * @module
 */

import type { ResolvedOptions } from "../config.ts";
import type { Cluster } from "../net/cluster.ts";
import { KafkaProtocolError } from "../protocol/errors.ts";
import { ErrorCode, errorInfo } from "../protocol/error_codes.ts";
import { sleep } from "../util/async.ts";
import type { MembershipHooks, MembershipState } from "./group/member_context.ts";
import type { Unavailable } from "./unavailable.ts";

/** What the metadata check needs of the group membership (classic or KIP-848). */
export interface SubscribedMembership {
  readonly state: MembershipState;
  /** The topics of the subscription the member joined with. */
  readonly subscribed: readonly string[];
  requestRejoin(reason: string): void;
  /** Classic protocol: rejoin when a subscribed topic's partition count changed. */
  checkMetadata(): void;
}

/** What the subscription reads outside itself. */
export interface SubscriptionDeps {
  cluster: Cluster;
  unavailable: Unavailable;
  opts: ResolvedOptions;
  signal: AbortSignal;
  /** The membership now (null before start-up). */
  membership: () => SubscribedMembership | null;
}

/** The topics this member subscribes to, kept up to date with the cluster. */
export class Subscription implements Pick<MembershipHooks, "subscription"> {
  readonly #d: SubscriptionDeps;

  constructor(deps: SubscriptionDeps) {
    this.#d = deps;
  }

  /** Topic names subscribed now; refreshes the metadata of what it returns. */
  async subscription(): Promise<string[]> {
    const o = this.#d.opts;
    const cluster = this.#d.cluster;
    if (o.mode !== "subscribe") return [];
    if (Array.isArray(o.topics)) {
      // As Java's consumer: a named topic the principal may not read fails
      // the consumer (a RegExp just never matches what it cannot see).
      await cluster.refreshMetadata(o.topics);
      for (const topic of o.topics) {
        const t = cluster.topics.get(topic);
        if (t?.errorCode === ErrorCode.TOPIC_AUTHORIZATION_FAILED) {
          throw KafkaProtocolError.from(ErrorCode.TOPIC_AUTHORIZATION_FAILED, { topic });
        }
        // As Java's consumer: a missing topic is waited for, with a warning.
        if (t === undefined || t.errorCode !== 0 || t.partitions.size === 0) {
          const reason = t === undefined || t.errorCode === 0
            ? "not in the cluster metadata"
            : errorInfo(t.errorCode).name;
          this.#d.unavailable.mark(topic, null, reason);
        } else this.#d.unavailable.clear(topic, null);
      }
      return [...o.topics];
    }
    await cluster.refreshMetadata(null);
    const re = o.topics;
    return [...cluster.topics.keys()].filter((t) => !t.startsWith("__") && re.test(t)).sort();
  }

  /** Periodic metadata: new partitions or newly matching topics start a rebalance. */
  async metadataLoop(): Promise<void> {
    const o = this.#d.opts;
    const { unavailable, signal } = this.#d;
    if (o.mode !== "subscribe") return;
    let last = Date.now();
    while (!signal.aborted) {
      // Every metadataMaxAgeMs; while a subscribed topic does not exist,
      // every retryBackoffMaxMs (it is picked up soon after it is created).
      if (!(await sleep(Math.min(o.metadataMaxAgeMs, o.retryBackoffMaxMs), signal))) {
        return;
      }
      const missing = unavailable.list().some((u) => u.partition === null);
      if (!missing && Date.now() - last < o.metadataMaxAgeMs) continue;
      last = Date.now();
      const m = this.#d.membership();
      if (!m || m.state !== "stable") continue;
      try {
        // subscription() refreshes the metadata of what it returns.
        const missingBefore = unavailable.list().filter((u) => u.partition === null);
        const wanted = await this.subscription();
        const appeared = missingBefore.filter((u) =>
          !unavailable.list().some((n) => n.partition === null && n.topic === u.topic)
        );
        if (appeared.length > 0) {
          m.requestRejoin(`subscribed topic ${appeared[0].topic} exists now`);
          continue;
        }
        const before = [...m.subscribed].sort().join(",");
        if (wanted.sort().join(",") !== before) {
          m.requestRejoin("the set of subscribed topics changed");
          continue;
        }
        m.checkMetadata();
      } catch (e) {
        o.logger.warn("periodic metadata refresh failed", { error: e });
      }
    }
  }
}
