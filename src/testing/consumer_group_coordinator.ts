/**
 * The consumer-protocol group coordinator of the embedded cluster (KIP-848,
 * ConsumerGroupHeartbeat), modelled on Kafka 4.x's GroupMetadataManager and
 * CurrentAssignmentBuilder:
 *
 * - The group epoch goes up when a member joins or leaves, a subscription or
 *   the chosen assignor changes, or the subscribed topics' metadata changes;
 *   the target assignment is then computed at once by the server assignor
 *   (`uniform` by default, or `range`) and its epoch is the group epoch.
 * - Each member reconciles to its target incrementally. A member that must
 *   give partitions up keeps its epoch and is told to revoke them (its
 *   answer's assignment leaves them out); they stay pending revocation, held
 *   by it, until a heartbeat of it no longer lists them as owned. Only then
 *   does it move to the target epoch. A partition still held by another
 *   member (assigned or pending revocation) is not given to its new owner:
 *   the new owner is at the target epoch with the partition unreleased and
 *   receives it in the answer to a later heartbeat, once it is free. So no
 *   partition is held by two members at any time.
 * - Session timeout (the broker's setting: the member does not choose it)
 *   and rebalance timeout (a member that does not revoke in time) fence the
 *   member: it is removed and its partitions are freed.
 * - Leaving: epoch -1 removes the member; -2 (static member) keeps it and
 *   its assignment reserved until the session timeout, for a member with the
 *   same instance id to take over.
 *
 * Offsets stay in the classic {@linkcode GroupCoordinator} (one offsets
 * store, as in Kafka); a group id is either a classic or a consumer group.
 *
 * @module
 */

import { ErrorCode } from "../protocol/error_codes.ts";
import {
  type AssignorMember,
  type AssignorTopic,
  DEFAULT_ASSIGNOR,
  partitionKey,
  SERVER_ASSIGNORS,
  splitKey,
} from "./consumer_assignors.ts";
import type { ConsumerGroupDescribeResponseMember } from "../protocol/messages/consumer_group_describe.ts";
import { type GroupClock, realClock } from "./group_coordinator.ts";

const {
  NONE,
  COORDINATOR_NOT_AVAILABLE,
  INVALID_REQUEST,
  UNKNOWN_MEMBER_ID,
  FENCED_MEMBER_EPOCH,
  FENCED_INSTANCE_ID,
  UNRELEASED_INSTANCE_ID,
  UNSUPPORTED_ASSIGNOR,
  INVALID_REGULAR_EXPRESSION,
  GROUP_ID_NOT_FOUND,
  STALE_MEMBER_EPOCH,
  NON_EMPTY_GROUP,
} = ErrorCode;

/** Partitions by topic id, as the protocol carries them. */
export interface TopicPartitions {
  /** Topic id. */
  topicId: string;
  /** Partition indexes. */
  partitions: number[];
}

/** A ConsumerGroupHeartbeat request, as the coordinator takes it. */
export interface ConsumerHeartbeat {
  /** Group id. */
  readonly groupId: string;
  /** Member id (client-generated since v1). */
  readonly memberId: string;
  /** Member epoch: 0 joins, -1 leaves, -2 leaves as a static member. */
  readonly memberEpoch: number;
  /** Static member id, or null. */
  readonly instanceId: string | null;
  /** Rack, or null (unchanged). */
  readonly rackId: string | null;
  /** Rebalance timeout; -1: unchanged. */
  readonly rebalanceTimeoutMs: number;
  /** Subscribed topic names; null: unchanged. */
  readonly subscribedTopicNames: readonly string[] | null;
  /** Subscribed regular expression; null: unchanged, "" clears it. */
  readonly subscribedTopicRegex: string | null;
  /** Server assignor; null: unchanged. */
  readonly serverAssignor: string | null;
  /** Owned partitions; null: unchanged since the last heartbeat. */
  readonly topicPartitions: readonly TopicPartitions[] | null;
  /** Client id of the connection. */
  readonly clientId: string;
  /** Client host of the connection. */
  readonly clientHost: string;
}

/** A ConsumerGroupHeartbeat answer. */
export interface ConsumerHeartbeatResult {
  /** Error code. */
  errorCode: number;
  /** Why, for errors. */
  errorMessage: string | null;
  /** The member id, or null on error. */
  memberId: string | null;
  /** The member's epoch after this heartbeat. */
  memberEpoch: number;
  /** When to send the next heartbeat. */
  heartbeatIntervalMs: number;
  /** The member's assignment, when it changed or was asked for (null: unchanged). */
  assignment: TopicPartitions[] | null;
}

/** The topics a coordinator sees: the cluster's metadata. */
export interface TopicCatalog {
  /** Every topic: name, id, partition count. */
  topics(): Iterable<AssignorTopic>;
}

/** Broker-level settings (Kafka's `group.consumer.*`). */
export interface ConsumerGroupSettings {
  /** `group.consumer.session.timeout.ms`. */
  readonly sessionTimeoutMs: number;
  /** `group.consumer.heartbeat.interval.ms`. */
  readonly heartbeatIntervalMs: number;
}

/** Kafka's consumer group states. */
export type ConsumerGroupStateName = "Empty" | "Assigning" | "Reconciling" | "Stable" | "Dead";

/**
 * A member as ConsumerGroupDescribe shows it: the response's member, with
 * its assignments as topic-partition lists.
 */
export type ConsumerMemberSummary =
  & Omit<ConsumerGroupDescribeResponseMember, "assignment" | "targetAssignment" | "memberType">
  & {
    /** What it holds now (assigned, not pending revocation). */
    assignment: TopicPartitions[];
    /** Its target. */
    targetAssignment: TopicPartitions[];
  };

/** A consumer group as ConsumerGroupDescribe shows it. */
export interface ConsumerGroupSummary {
  /** Group id. */
  groupId: string;
  /** State. */
  state: ConsumerGroupStateName;
  /** Group epoch. */
  groupEpoch: number;
  /** Target assignment epoch. */
  assignmentEpoch: number;
  /** The assignor in use. */
  assignorName: string;
  /** Members. */
  members: ConsumerMemberSummary[];
}

type MemberState = "stable" | "unrevoked" | "unreleased";

interface Member {
  readonly id: string;
  instanceId: string | null;
  rackId: string | null;
  clientId: string;
  clientHost: string;
  epoch: number;
  previousEpoch: number;
  state: MemberState;
  assigned: Set<string>;
  pendingRevocation: Set<string>;
  topicNames: string[];
  regex: string | null;
  assignor: string | null;
  rebalanceTimeoutMs: number;
  sessionTimer: unknown;
  rebalanceTimer: unknown;
}

interface Group {
  readonly id: string;
  epoch: number;
  assignmentEpoch: number;
  assignor: string;
  readonly members: Map<string, Member>;
  target: Map<string, Set<string>>;
  /** Partition → the member holding it (assigned or pending revocation). */
  readonly owners: Map<string, string>;
  /** The subscribed topics' metadata the target was computed from. */
  metadata: string;
  readonly staticMembers: Map<string, string>;
}

/** What the coordinator needs of the classic one: whether a group id is taken there. */
export interface ClassicGroups {
  /** The classic state of a group ("Dead" when unknown). */
  stateOf(groupId: string): string;
}

const setsEqual = (a: ReadonlySet<string>, b: ReadonlySet<string>) =>
  a.size === b.size && [...a].every((x) => b.has(x));

/** Partition keys grouped by topic id, topics and partitions sorted. */
export function byTopic(keys: Iterable<string>): TopicPartitions[] {
  const out = new Map<string, number[]>();
  for (const k of keys) {
    const { topicId, partition } = splitKey(k);
    const list = out.get(topicId);
    if (list) list.push(partition);
    else out.set(topicId, [partition]);
  }
  return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([topicId, ps]) => ({
    topicId,
    partitions: ps.sort((x, y) => x - y),
  }));
}

function keysOf(tps: readonly TopicPartitions[]): Set<string> {
  const out = new Set<string>();
  for (const t of tps) for (const p of t.partitions) out.add(partitionKey(t.topicId, p));
  return out;
}

/**
 * Compiles a subscription regex. Kafka evaluates it with RE2/J (Java); the
 * embedded cluster uses a JavaScript RegExp matched against the whole topic
 * name, which agrees for the common syntax (character classes, `.*`,
 * alternation) but not for every construct. Null when it does not compile.
 */
function compileRegex(source: string): RegExp | null {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return null;
  }
}

/** The consumer-protocol group coordinator: every consumer group of the cluster. */
export class ConsumerGroupCoordinator {
  readonly #clock: GroupClock;
  readonly #catalog: TopicCatalog;
  readonly #settings: ConsumerGroupSettings;
  readonly #classic: ClassicGroups;
  readonly #groups = new Map<string, Group>();
  #closed = false;

  /** Builds a coordinator over `catalog`'s topics, refusing group ids `classic` holds. */
  constructor(
    catalog: TopicCatalog,
    classic: ClassicGroups,
    settings: ConsumerGroupSettings,
    clock: GroupClock = realClock,
  ) {
    this.#catalog = catalog;
    this.#classic = classic;
    this.#settings = settings;
    this.#clock = clock;
  }

  /** Whether `groupId` is a consumer-protocol group. */
  has(groupId: string): boolean {
    return this.#groups.has(groupId);
  }

  /** Whether `groupId` is a consumer group with members. */
  hasMembers(groupId: string): boolean {
    return (this.#groups.get(groupId)?.members.size ?? 0) > 0;
  }

  /**
   * Drops an empty consumer group (its offsets stay with the classic
   * coordinator), so that the id can become a classic group, as Kafka
   * converts an empty group. False when it has members.
   */
  releaseIfEmpty(groupId: string): boolean {
    return this.deleteGroup(groupId) !== NON_EMPTY_GROUP;
  }

  /** Deletes an empty consumer group: NONE, NON_EMPTY_GROUP or GROUP_ID_NOT_FOUND. */
  deleteGroup(groupId: string): number {
    const g = this.#groups.get(groupId);
    if (g === undefined) return GROUP_ID_NOT_FOUND;
    if (g.members.size > 0) return NON_EMPTY_GROUP;
    this.#groups.delete(groupId);
    return NONE;
  }

  // -------------------------------------------------------------------------
  // ConsumerGroupHeartbeat

  /** Handles a ConsumerGroupHeartbeat. */
  heartbeat(req: ConsumerHeartbeat): ConsumerHeartbeatResult {
    const fail = (errorCode: number, errorMessage: string | null = null) => ({
      errorCode,
      errorMessage,
      memberId: null,
      // Kafka leaves the epoch at its default (0) in error answers.
      memberEpoch: 0,
      heartbeatIntervalMs: 0,
      assignment: null,
    });
    if (this.#closed) return fail(COORDINATOR_NOT_AVAILABLE);
    const invalid = this.#invalid(req);
    if (invalid !== null) return fail(INVALID_REQUEST, invalid);
    if (req.serverAssignor !== null && !SERVER_ASSIGNORS.has(req.serverAssignor)) {
      return fail(
        UNSUPPORTED_ASSIGNOR,
        `Assignor ${req.serverAssignor} is not supported. Supported assignors: ` +
          `${[...SERVER_ASSIGNORS.keys()].join(", ")}.`,
      );
    }
    if (req.subscribedTopicRegex !== null && req.subscribedTopicRegex !== "") {
      if (compileRegex(req.subscribedTopicRegex) === null) {
        return fail(
          INVALID_REGULAR_EXPRESSION,
          `SubscribedTopicRegex \`${req.subscribedTopicRegex}\` is not a valid regular expression.`,
        );
      }
    }
    let g = this.#groups.get(req.groupId);
    if (g === undefined) {
      const classic = this.#classic.stateOf(req.groupId);
      if (classic !== "Dead" && classic !== "Empty") {
        return fail(GROUP_ID_NOT_FOUND, `Group ${req.groupId} is not a consumer group.`);
      }
      if (req.memberEpoch !== 0) {
        return fail(
          UNKNOWN_MEMBER_ID,
          `Member ${req.memberId} is not a member of group ${req.groupId}.`,
        );
      }
      g = this.#newGroup(req.groupId);
    }
    if (req.memberEpoch < 0) return this.#leave(g, req) ?? fail(UNKNOWN_MEMBER_ID);

    let m = g.members.get(req.memberId);
    let joined = false;
    if (req.memberEpoch === 0) {
      if (req.instanceId !== null) {
        const r = this.#joinStatic(g, req);
        if (typeof r === "number") return fail(r);
        m = r.member;
        joined = r.joined;
      } else if (m === undefined) {
        m = this.#newMember(g, req);
        joined = true;
      }
      // An existing member joining again at epoch 0 (its answer was lost,
      // or it thinks itself fenced) keeps what the group holds for it and
      // gets its whole assignment in the answer, as Kafka does.
    } else {
      if (m === undefined) {
        return fail(
          UNKNOWN_MEMBER_ID,
          `Member ${req.memberId} is not a member of group ${req.groupId}.`,
        );
      }
      if (req.instanceId !== null && m.instanceId !== req.instanceId) {
        return fail(FENCED_INSTANCE_ID);
      }
      const fenced = this.#fencedEpoch(m, req);
      if (fenced !== null) return fail(FENCED_MEMBER_EPOCH, fenced);
    }
    m = m!;
    m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    if (req.rackId !== null) m.rackId = req.rackId;
    if (req.rebalanceTimeoutMs > 0) m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    let bump = joined;
    if (req.subscribedTopicNames !== null) {
      const names = [...new Set(req.subscribedTopicNames)].sort();
      if (names.join("\u0000") !== m.topicNames.join("\u0000")) bump = true;
      m.topicNames = names;
    }
    if (req.subscribedTopicRegex !== null) {
      const regex = req.subscribedTopicRegex === "" ? null : req.subscribedTopicRegex;
      if (regex !== m.regex) bump = true;
      m.regex = regex;
    }
    if (req.serverAssignor !== null && req.serverAssignor !== m.assignor) {
      m.assignor = req.serverAssignor;
      bump = true;
    }
    const metadata = this.#metadataOf(g);
    if (metadata !== g.metadata) bump = true;
    if (bump) this.#bumpEpoch(g);

    const beforeAssigned = new Set(m.assigned);
    const owned = req.topicPartitions === null ? null : keysOf(req.topicPartitions);
    this.#reconcile(g, m, owned);
    this.#touch(g, m);
    // As Kafka: the assignment goes in the answer to a join, to a full
    // request (after an error the member may have missed one), and when it
    // changed; a new epoch alone is told by memberEpoch.
    const full = req.rebalanceTimeoutMs !== -1 && req.topicPartitions !== null &&
      (req.subscribedTopicNames !== null || req.subscribedTopicRegex !== null);
    const changed = !setsEqual(beforeAssigned, m.assigned);
    return {
      errorCode: NONE,
      errorMessage: null,
      memberId: m.id,
      memberEpoch: m.epoch,
      heartbeatIntervalMs: this.#settings.heartbeatIntervalMs,
      assignment: req.memberEpoch === 0 || full || changed ? byTopic(m.assigned) : null,
    };
  }

  /** Kafka's request checks (throwIfConsumerGroupHeartbeatRequestIsInvalid), null when valid. */
  #invalid(req: ConsumerHeartbeat): string | null {
    if (req.groupId === "") return "GroupId can't be empty.";
    if (req.memberId === "") return "MemberId can't be empty.";
    if (req.instanceId === "") return "InstanceId can't be empty.";
    if (req.rackId === "") return "RackId can't be empty.";
    if (req.memberEpoch < -2) return `MemberEpoch is invalid: ${req.memberEpoch}.`;
    if (req.memberEpoch === -2 && req.instanceId === null) {
      return "InstanceId can't be null when leaving as a static member.";
    }
    if (req.memberEpoch === 0) {
      if (req.rebalanceTimeoutMs === -1) {
        return "RebalanceTimeoutMs must be provided in first request.";
      }
      if (req.topicPartitions === null) return "TopicPartitions must be empty when (re-)joining.";
      if (req.topicPartitions.some((t) => t.partitions.length > 0)) {
        return "TopicPartitions must be empty when (re-)joining.";
      }
      if (req.subscribedTopicNames === null && req.subscribedTopicRegex === null) {
        return "Subscription must be provided in first request.";
      }
    }
    return null;
  }

  /**
   * Kafka's epoch check: a newer epoch than the member's is fenced; an older
   * one too, unless it is the previous epoch and the owned partitions are a
   * subset of the assignment (the answer that bumped the epoch was lost).
   */
  #fencedEpoch(m: Member, req: ConsumerHeartbeat): string | null {
    if (req.memberEpoch === m.epoch) return null;
    if (req.memberEpoch < m.epoch && req.memberEpoch === m.previousEpoch) {
      const owned = req.topicPartitions === null ? null : keysOf(req.topicPartitions);
      if (owned !== null && [...owned].every((k) => m.assigned.has(k))) return null;
    }
    return `The consumer group member has a smaller or larger member epoch (${req.memberEpoch}) ` +
      `than the one known by the group coordinator (${m.epoch}). The member must abandon all ` +
      `its partitions and rejoin.`;
  }

  #newGroup(id: string): Group {
    const g: Group = {
      id,
      epoch: 0,
      assignmentEpoch: 0,
      assignor: DEFAULT_ASSIGNOR,
      members: new Map(),
      target: new Map(),
      owners: new Map(),
      metadata: "",
      staticMembers: new Map(),
    };
    this.#groups.set(id, g);
    return g;
  }

  #newMember(g: Group, req: ConsumerHeartbeat): Member {
    const m: Member = {
      id: req.memberId,
      instanceId: req.instanceId,
      rackId: req.rackId,
      clientId: req.clientId,
      clientHost: req.clientHost,
      epoch: 0,
      previousEpoch: 0,
      state: "stable",
      assigned: new Set(),
      pendingRevocation: new Set(),
      topicNames: [],
      regex: null,
      assignor: null,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      sessionTimer: undefined,
      rebalanceTimer: undefined,
    };
    g.members.set(m.id, m);
    if (m.instanceId !== null) g.staticMembers.set(m.instanceId, m.id);
    return m;
  }

  /**
   * A static member joining: a new instance takes over the reservation of
   * one that left with epoch -2 (its assignment and epoch, no rebalance); an
   * instance id held by a live member is UNRELEASED_INSTANCE_ID.
   */
  #joinStatic(g: Group, req: ConsumerHeartbeat): { member: Member; joined: boolean } | number {
    const instanceId = req.instanceId!;
    const heldBy = g.staticMembers.get(instanceId);
    const old = heldBy === undefined ? undefined : g.members.get(heldBy);
    if (old === undefined) {
      const existing = g.members.get(req.memberId);
      if (existing !== undefined) return { member: existing, joined: false };
      return { member: this.#newMember(g, req), joined: true };
    }
    if (old.id === req.memberId) {
      if (old.epoch === -2) old.epoch = old.previousEpoch;
      return { member: old, joined: false };
    }
    if (old.epoch !== -2) return UNRELEASED_INSTANCE_ID;
    this.#clearTimers(old);
    g.members.delete(old.id);
    const m = this.#newMember(g, req);
    m.epoch = old.previousEpoch;
    m.previousEpoch = old.previousEpoch;
    m.state = old.state;
    m.assigned = old.assigned;
    m.pendingRevocation = old.pendingRevocation;
    m.topicNames = old.topicNames;
    m.regex = old.regex;
    m.assignor = old.assignor;
    const target = g.target.get(old.id);
    g.target.delete(old.id);
    if (target) g.target.set(m.id, target);
    for (const [k, holder] of g.owners) if (holder === old.id) g.owners.set(k, m.id);
    return { member: m, joined: false };
  }

  #leave(g: Group, req: ConsumerHeartbeat): ConsumerHeartbeatResult | null {
    const m = g.members.get(req.memberId);
    if (m === undefined) return null;
    if (req.memberEpoch === -2 && m.instanceId !== null) {
      // Reserved for the instance's return until the session times out.
      if (m.epoch !== -2) m.previousEpoch = m.epoch;
      m.epoch = -2;
      this.#touch(g, m);
    } else {
      this.#remove(g, m);
    }
    return {
      errorCode: NONE,
      errorMessage: null,
      memberId: m.id,
      memberEpoch: req.memberEpoch,
      heartbeatIntervalMs: 0,
      assignment: null,
    };
  }

  /** Removes a member (leave, expiry, fencing): its partitions are freed, the group rebalances. */
  #remove(g: Group, m: Member): void {
    if (g.members.get(m.id) !== m) return;
    this.#clearTimers(m);
    g.members.delete(m.id);
    if (m.instanceId !== null && g.staticMembers.get(m.instanceId) === m.id) {
      g.staticMembers.delete(m.instanceId);
    }
    for (const [k, holder] of [...g.owners]) if (holder === m.id) g.owners.delete(k);
    g.target.delete(m.id);
    this.#bumpEpoch(g);
  }

  // -------------------------------------------------------------------------
  // target assignment and reconciliation

  /** The subscribed topics of the group, resolved (names and regexes) against metadata. */
  #subscribedTopics(g: Group): Map<string, AssignorTopic> {
    const all = new Map<string, AssignorTopic>();
    for (const t of this.#catalog.topics()) all.set(t.name, t);
    const out = new Map<string, AssignorTopic>();
    for (const m of g.members.values()) {
      for (const name of this.#resolved(m, all)) out.set(name, all.get(name)!);
    }
    return out;
  }

  #resolved(m: Member, all: ReadonlyMap<string, AssignorTopic>): Set<string> {
    const out = new Set(m.topicNames.filter((n) => all.has(n)));
    const re = m.regex === null ? null : compileRegex(m.regex);
    if (re !== null) { for (const name of all.keys()) if (re.test(name)) out.add(name); }
    return out;
  }

  #metadataOf(g: Group): string {
    return [...this.#subscribedTopics(g).values()]
      .map((t) => `${t.name}/${t.id}/${t.partitions}`)
      .sort()
      .join(",");
  }

  /** A new group epoch, and the target assignment for it. */
  #bumpEpoch(g: Group): void {
    g.epoch++;
    const all = new Map<string, AssignorTopic>();
    for (const t of this.#catalog.topics()) all.set(t.name, t);
    const topics = this.#subscribedTopics(g);
    g.metadata = this.#metadataOf(g);
    // The assignor most members ask for; the default when none does.
    const votes = new Map<string, number>();
    for (const m of g.members.values()) {
      if (m.assignor !== null) votes.set(m.assignor, (votes.get(m.assignor) ?? 0) + 1);
    }
    g.assignor = [...votes].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ??
      DEFAULT_ASSIGNOR;
    const members: AssignorMember[] = [...g.members.values()]
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((m) => ({
        id: m.id,
        topics: this.#resolved(m, all),
        previous: g.target.get(m.id) ?? new Set(),
      }));
    g.target = SERVER_ASSIGNORS.get(g.assignor)!(members, topics);
    g.assignmentEpoch = g.epoch;
  }

  /**
   * Moves a member towards its target (Kafka's CurrentAssignmentBuilder):
   * revocations first (the epoch waits until the member no longer owns
   * them), then the new epoch with the partitions that are free; those still
   * held elsewhere come with a later heartbeat.
   */
  #reconcile(g: Group, m: Member, owned: ReadonlySet<string> | null): void {
    if (m.state === "unrevoked") {
      const revoked = owned !== null && ![...m.pendingRevocation].some((k) => owned.has(k));
      if (!revoked) return;
      for (const k of m.pendingRevocation) if (g.owners.get(k) === m.id) g.owners.delete(k);
      m.pendingRevocation = new Set();
      this.#clearRebalanceTimer(m);
      this.#next(g, m);
      return;
    }
    if (m.epoch !== g.assignmentEpoch) this.#next(g, m);
    else if (m.state === "unreleased") this.#takeFree(g, m);
  }

  #next(g: Group, m: Member): void {
    const target = g.target.get(m.id) ?? new Set<string>();
    const revoke = [...m.assigned].filter((k) => !target.has(k));
    if (revoke.length > 0) {
      for (const k of revoke) {
        m.assigned.delete(k);
        m.pendingRevocation.add(k);
      }
      m.state = "unrevoked";
      this.#startRebalanceTimer(g, m);
      return;
    }
    m.previousEpoch = m.epoch;
    m.epoch = g.assignmentEpoch;
    this.#takeFree(g, m);
  }

  #takeFree(g: Group, m: Member): void {
    const target = g.target.get(m.id) ?? new Set<string>();
    let waiting = false;
    for (const k of target) {
      if (m.assigned.has(k)) continue;
      const holder = g.owners.get(k);
      if (holder === undefined || holder === m.id) {
        m.assigned.add(k);
        g.owners.set(k, m.id);
      } else {
        waiting = true;
      }
    }
    m.state = waiting ? "unreleased" : "stable";
  }

  // -------------------------------------------------------------------------
  // timers

  #touch(g: Group, m: Member): void {
    if (m.sessionTimer !== undefined) this.#clock.clearTimer(m.sessionTimer);
    m.sessionTimer = this.#clock.setTimer(() => {
      m.sessionTimer = undefined;
      this.#remove(g, m);
    }, this.#settings.sessionTimeoutMs);
  }

  #startRebalanceTimer(g: Group, m: Member): void {
    this.#clearRebalanceTimer(m);
    m.rebalanceTimer = this.#clock.setTimer(() => {
      m.rebalanceTimer = undefined;
      // Did not revoke in time: fenced.
      if (m.state === "unrevoked") this.#remove(g, m);
    }, m.rebalanceTimeoutMs);
  }

  #clearRebalanceTimer(m: Member): void {
    if (m.rebalanceTimer !== undefined) this.#clock.clearTimer(m.rebalanceTimer);
    m.rebalanceTimer = undefined;
  }

  #clearTimers(m: Member): void {
    this.#clearRebalanceTimer(m);
    if (m.sessionTimer !== undefined) this.#clock.clearTimer(m.sessionTimer);
    m.sessionTimer = undefined;
  }

  // -------------------------------------------------------------------------
  // offsets validation

  /**
   * Kafka's ConsumerGroup.validateOffsetCommit: a group without members
   * takes a commit with a negative epoch (admin tools); otherwise the member
   * must exist (UNKNOWN_MEMBER_ID) and its epoch must be the member's own
   * (STALE_MEMBER_EPOCH otherwise; Kafka 4.3+ also accepts an older epoch
   * per partition still assigned, KIP-1251, which this does not model). A
   * consumer-protocol member must use OffsetCommit v9+ (UNSUPPORTED_VERSION).
   * NONE when the commit may go ahead.
   */
  validateCommit(
    groupId: string,
    memberId: string,
    memberEpoch: number,
    apiVersion: number,
  ): number {
    const g = this.#groups.get(groupId);
    if (g === undefined) return NONE;
    if (memberEpoch < 0 && g.members.size === 0) return NONE;
    const m = g.members.get(memberId);
    if (m === undefined) return UNKNOWN_MEMBER_ID;
    if (apiVersion < 9) return ErrorCode.UNSUPPORTED_VERSION;
    return memberEpoch === m.epoch ? NONE : STALE_MEMBER_EPOCH;
  }

  /**
   * Kafka's ConsumerGroup.validateOffsetFetch: no member id and a negative
   * epoch (admin tools, clients that do not say) pass; otherwise the member
   * must exist and the epoch be its own.
   */
  validateFetch(groupId: string, memberId: string | null, memberEpoch: number): number {
    const g = this.#groups.get(groupId);
    if (g === undefined) return NONE;
    if (memberId === null && memberEpoch < 0) return NONE;
    const m = memberId === null ? undefined : g.members.get(memberId);
    if (m === undefined) return UNKNOWN_MEMBER_ID;
    return memberEpoch === m.epoch ? NONE : STALE_MEMBER_EPOCH;
  }

  // -------------------------------------------------------------------------
  // describe, list

  /** The state of a consumer group ("Dead" when it is not one). */
  stateOf(groupId: string): ConsumerGroupStateName {
    const g = this.#groups.get(groupId);
    if (g === undefined) return "Dead";
    if (g.members.size === 0) return "Empty";
    if (g.epoch > g.assignmentEpoch) return "Assigning";
    for (const m of g.members.values()) {
      if (m.epoch !== g.assignmentEpoch || m.state !== "stable") return "Reconciling";
    }
    return "Stable";
  }

  /** Describes a consumer group; null when `groupId` is not one. */
  describe(groupId: string): ConsumerGroupSummary | null {
    const g = this.#groups.get(groupId);
    if (g === undefined) return null;
    const all = new Map<string, AssignorTopic>();
    for (const t of this.#catalog.topics()) all.set(t.name, t);
    return {
      groupId,
      state: this.stateOf(groupId),
      groupEpoch: g.epoch,
      assignmentEpoch: g.assignmentEpoch,
      assignorName: g.assignor,
      members: [...g.members.values()].map((m) => ({
        memberId: m.id,
        instanceId: m.instanceId,
        rackId: m.rackId,
        memberEpoch: m.epoch,
        clientId: m.clientId,
        clientHost: m.clientHost,
        subscribedTopicNames: m.topicNames.slice(),
        subscribedTopicRegex: m.regex,
        assignment: byTopic(m.assigned),
        targetAssignment: byTopic(g.target.get(m.id) ?? []),
      })),
    };
  }

  /** Every consumer group, with its state. */
  list(): { groupId: string; state: ConsumerGroupStateName }[] {
    return [...this.#groups.keys()].map((groupId) => ({ groupId, state: this.stateOf(groupId) }));
  }

  /**
   * Who holds each partition right now (assigned or pending revocation), by
   * partition key: for tests of the no-double-ownership invariant.
   */
  holders(groupId: string): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const m of this.#groups.get(groupId)?.members.values() ?? []) {
      for (const k of [...m.assigned, ...m.pendingRevocation]) {
        out.set(k, [...(out.get(k) ?? []), m.id]);
      }
    }
    return out;
  }

  /** Clears every timer; later requests answer COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    this.#closed = true;
    for (const g of this.#groups.values()) for (const m of g.members.values()) this.#clearTimers(m);
  }
}
