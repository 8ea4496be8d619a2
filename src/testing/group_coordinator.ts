/**
 * The group coordinator of the embedded cluster (classic protocol): one
 * state machine per group (Empty → PreparingRebalance → CompletingRebalance →
 * Stable, and Dead when the group is gone), members with session timeouts,
 * and the committed offsets of each group.
 *
 * The core is pure: time comes from an injected {@linkcode GroupClock}, so
 * unit tests drive it with a fake clock. JoinGroup and SyncGroup may be held
 * (their promises resolve when the rebalance moves on).
 *
 * @module
 */

import { ErrorCode } from "../protocol/error_codes.ts";

// Kafka error codes used here, from the one table.
const {
  NONE,
  COORDINATOR_NOT_AVAILABLE,
  ILLEGAL_GENERATION,
  INCONSISTENT_GROUP_PROTOCOL,
  INVALID_GROUP_ID,
  UNKNOWN_MEMBER_ID,
  INVALID_SESSION_TIMEOUT,
  REBALANCE_IN_PROGRESS,
  NON_EMPTY_GROUP,
  GROUP_ID_NOT_FOUND,
  MEMBER_ID_REQUIRED,
  FENCED_INSTANCE_ID,
} = ErrorCode;

/** Kafka's names of the classic group states. */
export type GroupStateName =
  | "Empty"
  | "PreparingRebalance"
  | "CompletingRebalance"
  | "Stable"
  | "Dead";

/** Time and timers, injected so that tests can use a fake clock. */
export interface GroupClock {
  /** Milliseconds since some epoch. */
  now(): number;
  /** Calls `fn` after `ms` milliseconds; returns a handle for `clearTimer`. */
  setTimer(fn: () => void, ms: number): unknown;
  /** Cancels a timer set with `setTimer` (no-op when it fired). */
  clearTimer(handle: unknown): void;
}

/** The real clock: `Date.now` and `setTimeout`. */
export const realClock: GroupClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as number),
};

/** One protocol a member supports, with its metadata. */
export interface JoinProtocol {
  /** Protocol name (the assignor, for consumers). */
  readonly name: string;
  /** Protocol metadata (the subscription, for consumers). */
  readonly metadata: Uint8Array;
}

/** A JoinGroup request. */
export interface JoinRequest {
  /** Group id. */
  readonly groupId: string;
  /** Member id; empty on a first join. */
  readonly memberId: string;
  /** Static member id (KIP-345), or null. */
  readonly groupInstanceId: string | null;
  /** Session timeout. */
  readonly sessionTimeoutMs: number;
  /** Rebalance timeout (-1: the session timeout, as JoinGroup v0 does). */
  readonly rebalanceTimeoutMs: number;
  /** Protocol type ("consumer"). */
  readonly protocolType: string;
  /** Supported protocols, preferred first. */
  readonly protocols: readonly JoinProtocol[];
  /** Client id of the connection. */
  readonly clientId: string;
  /** Client host of the connection. */
  readonly clientHost: string;
  /** Answer MEMBER_ID_REQUIRED to a first join (JoinGroup v4+). */
  readonly requireKnownMemberId: boolean;
}

/** A JoinGroup answer. */
export interface JoinResult {
  /** Error code. */
  errorCode: number;
  /** Generation id (-1 on error). */
  generationId: number;
  /** Protocol type. */
  protocolType: string | null;
  /** Selected protocol. */
  protocolName: string | null;
  /** Leader member id. */
  leader: string;
  /** The member's id (also on MEMBER_ID_REQUIRED). */
  memberId: string;
  /** Members and their metadata: for the leader only. */
  members: { memberId: string; groupInstanceId: string | null; metadata: Uint8Array }[];
}

/** A SyncGroup request. */
export interface SyncRequest {
  /** Group id. */
  readonly groupId: string;
  /** Generation id. */
  readonly generationId: number;
  /** Member id. */
  readonly memberId: string;
  /** Static member id, or null. */
  readonly groupInstanceId: string | null;
  /** Protocol type (v5+), or null. */
  readonly protocolType: string | null;
  /** Protocol name (v5+), or null. */
  readonly protocolName: string | null;
  /** The leader's assignments (empty from others). */
  readonly assignments: readonly { memberId: string; assignment: Uint8Array }[];
}

/** A SyncGroup answer. */
export interface SyncResult {
  /** Error code. */
  errorCode: number;
  /** Protocol type. */
  protocolType: string | null;
  /** Protocol name. */
  protocolName: string | null;
  /** The member's assignment. */
  assignment: Uint8Array;
}

/** A committed offset. */
export interface CommittedOffset {
  /** Offset. */
  readonly offset: bigint;
  /** Leader epoch (-1 when unknown). */
  readonly leaderEpoch: number;
  /** Metadata. */
  readonly metadata: string | null;
}

/** An offset to commit. */
export interface OffsetToCommit extends CommittedOffset {
  /** Topic. */
  readonly topic: string;
  /** Partition. */
  readonly partition: number;
}

/** A group's description (DescribeGroups). */
export interface GroupSummary {
  /** Group id. */
  groupId: string;
  /** State name. */
  state: GroupStateName;
  /** Protocol type ("" when none). */
  protocolType: string;
  /** Protocol name ("" unless Stable or CompletingRebalance). */
  protocolName: string;
  /** Members. */
  members: {
    memberId: string;
    groupInstanceId: string | null;
    clientId: string;
    clientHost: string;
    metadata: Uint8Array;
    assignment: Uint8Array;
  }[];
}

interface Member {
  id: string;
  instanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: JoinProtocol[];
  assignment: Uint8Array;
  join: ((r: JoinResult) => void) | undefined;
  sync: ((r: SyncResult) => void) | undefined;
  sessionTimer: unknown;
}

interface Group {
  id: string;
  state: GroupStateName;
  generation: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string | null;
  members: Map<string, Member>;
  pending: Set<string>;
  staticMembers: Map<string, string>;
  offsets: Map<string, CommittedOffset & { topic: string; partition: number }>;
  rebalanceTimer: unknown;
}

const EMPTY = new Uint8Array(0);

/** What a (re)joining member's request sets: who it is and its timeouts (rebalance defaults to session). */
function joinSettings(
  req: JoinRequest,
): Pick<Member, "clientId" | "clientHost" | "sessionTimeoutMs" | "rebalanceTimeoutMs"> {
  return {
    clientId: req.clientId,
    clientHost: req.clientHost,
    sessionTimeoutMs: req.sessionTimeoutMs,
    rebalanceTimeoutMs: req.rebalanceTimeoutMs > 0 ? req.rebalanceTimeoutMs : req.sessionTimeoutMs,
  };
}

function errorJoin(errorCode: number, memberId = ""): JoinResult {
  return {
    errorCode,
    generationId: -1,
    protocolType: null,
    protocolName: null,
    leader: "",
    memberId,
    members: [],
  };
}

function errorSync(errorCode: number): SyncResult {
  return { errorCode, protocolType: null, protocolName: null, assignment: EMPTY };
}

function sameProtocols(a: readonly JoinProtocol[], b: readonly JoinProtocol[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name) return false;
    const x = a[i].metadata, y = b[i].metadata;
    if (x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

const offsetKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** The classic group coordinator: every group of the cluster. */
export class GroupCoordinator {
  readonly #clock: GroupClock;
  readonly #groups = new Map<string, Group>();
  #closed = false;
  #nextId = 0;
  /**
   * The consumer-protocol groups (KIP-848), when the cluster serves them: a
   * group id is classic or consumer, so a JoinGroup for a consumer group
   * with members is refused, and an empty one becomes classic.
   */
  modernGroups: { releaseIfEmpty(groupId: string): boolean } | undefined;

  /** Builds a coordinator using `clock` for session and rebalance timeouts. */
  constructor(clock: GroupClock = realClock) {
    this.#clock = clock;
  }

  /** The state of a group ("Dead" when unknown). */
  stateOf(groupId: string): GroupStateName {
    return this.#groups.get(groupId)?.state ?? "Dead";
  }

  /** The current generation of a group (-1 when unknown). */
  generationOf(groupId: string): number {
    return this.#groups.get(groupId)?.generation ?? -1;
  }

  #newMemberId(prefix: string): string {
    const rand = crypto.randomUUID();
    return `${prefix || "member"}-${rand}-${this.#nextId++}`;
  }

  // -------------------------------------------------------------------------
  // JoinGroup

  /** Handles a JoinGroup; resolves when the member's join completes. */
  join(req: JoinRequest): Promise<JoinResult> {
    if (this.#closed) return Promise.resolve(errorJoin(COORDINATOR_NOT_AVAILABLE));
    if (req.groupId === "") return Promise.resolve(errorJoin(INVALID_GROUP_ID));
    if (req.sessionTimeoutMs <= 0) return Promise.resolve(errorJoin(INVALID_SESSION_TIMEOUT));
    if (this.modernGroups !== undefined && !this.modernGroups.releaseIfEmpty(req.groupId)) {
      // Kafka 4.x lets classic members join a consumer group (migration);
      // the embedded cluster keeps the two kinds apart.
      return Promise.resolve(errorJoin(INCONSISTENT_GROUP_PROTOCOL, req.memberId));
    }
    let g = this.#groups.get(req.groupId);
    if (!g) {
      if (req.memberId !== "") return Promise.resolve(errorJoin(UNKNOWN_MEMBER_ID));
      g = this.#newGroup(req.groupId);
    }
    // The protocols must fit the group's.
    if (req.protocols.length === 0 || req.protocolType === "") {
      return Promise.resolve(errorJoin(INCONSISTENT_GROUP_PROTOCOL));
    }
    if (g.members.size > 0) {
      if (g.protocolType !== req.protocolType) {
        return Promise.resolve(errorJoin(INCONSISTENT_GROUP_PROTOCOL));
      }
      const common = this.#commonProtocols(
        [...g.members.values()].filter((m) => m.id !== req.memberId),
      );
      if (common.size > 0 && !req.protocols.some((p) => common.has(p.name))) {
        return Promise.resolve(errorJoin(INCONSISTENT_GROUP_PROTOCOL));
      }
    }

    if (req.memberId === "") {
      if (req.groupInstanceId !== null) return this.#joinStatic(g, req);
      const id = this.#newMemberId(req.clientId);
      if (req.requireKnownMemberId) {
        g.pending.add(id);
        return Promise.resolve(errorJoin(MEMBER_ID_REQUIRED, id));
      }
      return this.#addMember(g, id, req);
    }

    const member = g.members.get(req.memberId);
    if (!member) {
      if (g.pending.delete(req.memberId)) return this.#addMember(g, req.memberId, req);
      if (req.groupInstanceId !== null && g.staticMembers.has(req.groupInstanceId)) {
        return Promise.resolve(errorJoin(FENCED_INSTANCE_ID, req.memberId));
      }
      return Promise.resolve(errorJoin(UNKNOWN_MEMBER_ID, req.memberId));
    }
    if (member.instanceId !== null && member.instanceId !== req.groupInstanceId) {
      return Promise.resolve(errorJoin(FENCED_INSTANCE_ID, req.memberId));
    }
    return this.#rejoin(g, member, req);
  }

  #newGroup(id: string): Group {
    const g: Group = {
      id,
      state: "Empty",
      generation: 0,
      protocolType: null,
      protocolName: null,
      leader: null,
      members: new Map(),
      pending: new Set(),
      staticMembers: new Map(),
      offsets: new Map(),
      rebalanceTimer: undefined,
    };
    this.#groups.set(id, g);
    return g;
  }

  #addMember(g: Group, id: string, req: JoinRequest): Promise<JoinResult> {
    const m: Member = {
      id,
      instanceId: req.groupInstanceId,
      ...joinSettings(req),
      protocolType: req.protocolType,
      protocols: req.protocols.slice(),
      assignment: EMPTY,
      join: undefined,
      sync: undefined,
      sessionTimer: undefined,
    };
    g.members.set(id, m);
    if (m.instanceId !== null) g.staticMembers.set(m.instanceId, id);
    if (g.members.size === 1) g.protocolType = req.protocolType;
    g.leader ??= id;
    const p = this.#awaitJoin(m);
    this.#touch(g, m);
    if (g.state === "PreparingRebalance") this.#maybeCompleteJoin(g);
    else this.#prepareRebalance(g);
    return p;
  }

  #awaitJoin(m: Member): Promise<JoinResult> {
    // A second JoinGroup of the same member replaces the first (answered as
    // superseded, as Kafka does with UNKNOWN_MEMBER_ID).
    m.join?.(errorJoin(UNKNOWN_MEMBER_ID, m.id));
    return new Promise((resolve) => {
      m.join = resolve;
    });
  }

  #joinStatic(g: Group, req: JoinRequest): Promise<JoinResult> {
    const instanceId = req.groupInstanceId!;
    const oldId = g.staticMembers.get(instanceId);
    const old = oldId !== undefined ? g.members.get(oldId) : undefined;
    const newId = this.#newMemberId(instanceId);
    if (!old) return this.#addMember(g, newId, req);
    // Replace the old member id; the old one is fenced from now on.
    this.#clearSession(old);
    old.join?.(errorJoin(FENCED_INSTANCE_ID, old.id));
    old.sync?.(errorSync(FENCED_INSTANCE_ID));
    old.join = old.sync = undefined;
    g.members.delete(old.id);
    const wasLeader = g.leader === old.id;
    const m: Member = {
      ...old,
      id: newId,
      ...joinSettings(req),
      sessionTimer: undefined,
    };
    const changed = !sameProtocols(old.protocols, req.protocols);
    m.protocols = req.protocols.slice();
    g.members.set(newId, m);
    g.staticMembers.set(instanceId, newId);
    if (wasLeader) g.leader = newId;
    if (g.state === "Stable" && !changed && !wasLeader) {
      // Same instance, same subscription: no rebalance (KIP-345).
      this.#touch(g, m);
      return Promise.resolve({
        errorCode: NONE,
        generationId: g.generation,
        protocolType: g.protocolType,
        protocolName: g.protocolName,
        leader: g.leader ?? "",
        memberId: newId,
        members: [],
      });
    }
    const p = this.#awaitJoin(m);
    this.#touch(g, m);
    if (g.state === "PreparingRebalance") this.#maybeCompleteJoin(g);
    else this.#prepareRebalance(g);
    return p;
  }

  #rejoin(g: Group, m: Member, req: JoinRequest): Promise<JoinResult> {
    const changed = !sameProtocols(m.protocols, req.protocols);
    m.protocols = req.protocols.slice();
    m.sessionTimeoutMs = req.sessionTimeoutMs;
    m.rebalanceTimeoutMs = req.rebalanceTimeoutMs > 0
      ? req.rebalanceTimeoutMs
      : req.sessionTimeoutMs;
    m.clientId = req.clientId;
    m.clientHost = req.clientHost;
    switch (g.state) {
      case "PreparingRebalance": {
        const p = this.#awaitJoin(m);
        this.#touch(g, m);
        this.#maybeCompleteJoin(g);
        return p;
      }
      case "CompletingRebalance":
        if (!changed) {
          // A retried JoinGroup: the current generation again.
          this.#touch(g, m);
          return Promise.resolve(this.#joinResult(g, m));
        }
        break;
      case "Stable":
        if (!changed && g.leader !== m.id) {
          this.#touch(g, m);
          return Promise.resolve(this.#joinResult(g, m));
        }
        break;
      default:
        // Empty or Dead groups have no members.
        return Promise.resolve(errorJoin(UNKNOWN_MEMBER_ID, m.id));
    }
    const p = this.#awaitJoin(m);
    this.#touch(g, m);
    this.#prepareRebalance(g);
    return p;
  }

  #commonProtocols(members: readonly Member[]): Set<string> {
    let common: Set<string> | undefined;
    for (const m of members) {
      const names = new Set(m.protocols.map((p) => p.name));
      common = common ? new Set([...common].filter((n) => names.has(n))) : names;
    }
    return common ?? new Set();
  }

  #selectProtocol(g: Group): string | null {
    const members = [...g.members.values()];
    const common = this.#commonProtocols(members);
    if (common.size === 0) return null;
    // Each member votes for its first supported candidate; most votes wins,
    // ties going to the leader's preference.
    const votes = new Map<string, number>();
    for (const m of members) {
      const vote = m.protocols.find((p) => common.has(p.name))!.name;
      votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    const leader = g.leader !== null ? g.members.get(g.leader) : undefined;
    const order = (leader ?? members[0]).protocols.map((p) => p.name).filter((n) => common.has(n));
    let best: string | null = null;
    let bestVotes = -1;
    for (const name of order) {
      const v = votes.get(name) ?? 0;
      if (v > bestVotes) {
        best = name;
        bestVotes = v;
      }
    }
    return best;
  }

  #joinResult(g: Group, m: Member): JoinResult {
    const isLeader = g.leader === m.id;
    const name = g.protocolName ?? "";
    return {
      errorCode: NONE,
      generationId: g.generation,
      protocolType: g.protocolType,
      protocolName: g.protocolName,
      leader: g.leader ?? "",
      memberId: m.id,
      members: isLeader
        ? [...g.members.values()].map((x) => ({
          memberId: x.id,
          groupInstanceId: x.instanceId,
          metadata: x.protocols.find((p) => p.name === name)?.metadata ?? EMPTY,
        }))
        : [],
    };
  }

  #prepareRebalance(g: Group): void {
    if (g.state === "CompletingRebalance") {
      // The assignment being synced is stale: tell the waiting members.
      for (const m of g.members.values()) {
        m.sync?.(errorSync(REBALANCE_IN_PROGRESS));
        m.sync = undefined;
      }
    }
    for (const m of g.members.values()) m.assignment = EMPTY;
    g.state = "PreparingRebalance";
    this.#clearRebalanceTimer(g);
    let timeout = 0;
    for (const m of g.members.values()) timeout = Math.max(timeout, m.rebalanceTimeoutMs);
    g.rebalanceTimer = this.#clock.setTimer(() => {
      g.rebalanceTimer = undefined;
      this.#completeJoin(g);
    }, timeout);
    this.#maybeCompleteJoin(g);
  }

  #maybeCompleteJoin(g: Group): void {
    if (g.state !== "PreparingRebalance") return;
    for (const m of g.members.values()) if (!m.join) return;
    this.#completeJoin(g);
  }

  #completeJoin(g: Group): void {
    if (g.state !== "PreparingRebalance") return;
    this.#clearRebalanceTimer(g);
    // Members that did not rejoin in time leave the group.
    for (const m of [...g.members.values()]) if (!m.join) this.#dropMember(g, m);
    g.generation++;
    if (g.members.size === 0) {
      this.#settleEmpty(g);
      return;
    }
    if (g.leader === null || !g.members.has(g.leader)) g.leader = g.members.keys().next().value!;
    g.protocolName = this.#selectProtocol(g);
    g.state = "CompletingRebalance";
    for (const m of g.members.values()) {
      const resolve = m.join!;
      m.join = undefined;
      this.#touch(g, m);
      resolve(this.#joinResult(g, m));
    }
  }

  /** No members left: Empty when offsets were committed, Dead (removed) otherwise. */
  #settleEmpty(g: Group): void {
    this.#clearRebalanceTimer(g);
    g.leader = null;
    g.protocolName = null;
    g.protocolType = g.offsets.size > 0 ? g.protocolType : null;
    if (g.offsets.size > 0) {
      g.state = "Empty";
    } else {
      g.state = "Dead";
      if (g.pending.size === 0) this.#groups.delete(g.id);
    }
  }

  #dropMember(g: Group, m: Member): void {
    this.#clearSession(m);
    g.members.delete(m.id);
    if (m.instanceId !== null && g.staticMembers.get(m.instanceId) === m.id) {
      g.staticMembers.delete(m.instanceId);
    }
    if (g.leader === m.id) g.leader = null;
  }

  /** Removes a member (leave or expiry) and moves the group on. */
  #removeMember(g: Group, m: Member, errorCode: number): void {
    m.join?.(errorJoin(errorCode, m.id));
    m.sync?.(errorSync(errorCode));
    m.join = m.sync = undefined;
    this.#dropMember(g, m);
    if (g.leader === null && g.members.size > 0) g.leader = g.members.keys().next().value!;
    switch (g.state) {
      case "Stable":
      case "CompletingRebalance":
        this.#prepareRebalance(g);
        break;
      case "PreparingRebalance":
        if (g.members.size === 0) this.#completeJoin(g);
        else this.#maybeCompleteJoin(g);
        break;
      default:
        break;
    }
  }

  // -------------------------------------------------------------------------
  // sessions

  #touch(g: Group, m: Member): void {
    this.#clearSession(m);
    m.sessionTimer = this.#clock.setTimer(() => {
      m.sessionTimer = undefined;
      if (g.members.get(m.id) !== m) return;
      if (m.join || m.sync) {
        // Waiting for our answer: alive.
        this.#touch(g, m);
        return;
      }
      this.#removeMember(g, m, UNKNOWN_MEMBER_ID);
    }, m.sessionTimeoutMs);
  }

  #clearSession(m: Member): void {
    if (m.sessionTimer !== undefined) this.#clock.clearTimer(m.sessionTimer);
    m.sessionTimer = undefined;
  }

  #clearRebalanceTimer(g: Group): void {
    if (g.rebalanceTimer !== undefined) this.#clock.clearTimer(g.rebalanceTimer);
    g.rebalanceTimer = undefined;
  }

  /** The member, or an error: unknown member or fenced static instance. */
  #member(g: Group | undefined, memberId: string, instanceId: string | null): Member | number {
    if (!g) return UNKNOWN_MEMBER_ID;
    if (instanceId !== null) {
      const current = g.staticMembers.get(instanceId);
      if (current !== undefined && current !== memberId) return FENCED_INSTANCE_ID;
    }
    const m = g.members.get(memberId);
    if (!m) return UNKNOWN_MEMBER_ID;
    if (m.instanceId !== null && instanceId !== null && m.instanceId !== instanceId) {
      return FENCED_INSTANCE_ID;
    }
    return m;
  }

  // -------------------------------------------------------------------------
  // SyncGroup, Heartbeat, LeaveGroup

  /** Handles a SyncGroup; the leader's completes the rebalance, others wait for it. */
  sync(req: SyncRequest): Promise<SyncResult> {
    if (this.#closed) return Promise.resolve(errorSync(COORDINATOR_NOT_AVAILABLE));
    const g = this.#groups.get(req.groupId);
    const m = this.#member(g, req.memberId, req.groupInstanceId);
    if (typeof m === "number") return Promise.resolve(errorSync(m));
    const group = g!;
    if (req.generationId !== group.generation) {
      return Promise.resolve(errorSync(ILLEGAL_GENERATION));
    }
    if (
      (req.protocolType !== null && req.protocolType !== group.protocolType) ||
      (req.protocolName !== null && req.protocolName !== group.protocolName)
    ) {
      return Promise.resolve(errorSync(INCONSISTENT_GROUP_PROTOCOL));
    }
    this.#touch(group, m);
    const ok = (assignment: Uint8Array): SyncResult => ({
      errorCode: NONE,
      protocolType: group.protocolType,
      protocolName: group.protocolName,
      assignment,
    });
    switch (group.state) {
      case "PreparingRebalance":
        return Promise.resolve(errorSync(REBALANCE_IN_PROGRESS));
      case "Stable":
        return Promise.resolve(ok(m.assignment));
      case "CompletingRebalance": {
        m.sync?.(errorSync(REBALANCE_IN_PROGRESS));
        const p = new Promise<SyncResult>((resolve) => {
          m.sync = resolve;
        });
        if (group.leader === m.id) {
          const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
          for (const x of group.members.values()) x.assignment = given.get(x.id) ?? EMPTY;
          group.state = "Stable";
          for (const x of group.members.values()) {
            const resolve = x.sync;
            x.sync = undefined;
            resolve?.(ok(x.assignment));
          }
        }
        return p;
      }
      default:
        return Promise.resolve(errorSync(UNKNOWN_MEMBER_ID));
    }
  }

  /** Handles a Heartbeat: the error code. */
  heartbeat(
    groupId: string,
    memberId: string,
    instanceId: string | null,
    generationId: number,
  ): number {
    if (this.#closed) return COORDINATOR_NOT_AVAILABLE;
    const g = this.#groups.get(groupId);
    if (!g || g.state === "Empty" || g.state === "Dead") return UNKNOWN_MEMBER_ID;
    const m = this.#member(g, memberId, instanceId);
    if (typeof m === "number") return m;
    if (generationId !== g.generation) return ILLEGAL_GENERATION;
    this.#touch(g, m);
    return g.state === "Stable" ? NONE : REBALANCE_IN_PROGRESS;
  }

  /**
   * Handles a LeaveGroup: one error code per leaving member (by member id,
   * or by instance id alone when the member id is empty).
   */
  leave(
    groupId: string,
    members: readonly { memberId: string; groupInstanceId: string | null }[],
  ): {
    errorCode: number;
    members: { memberId: string; groupInstanceId: string | null; errorCode: number }[];
  } {
    if (this.#closed) return { errorCode: COORDINATOR_NOT_AVAILABLE, members: [] };
    const g = this.#groups.get(groupId);
    if (!g) {
      return {
        errorCode: NONE,
        members: members.map((x) => ({ ...x, errorCode: UNKNOWN_MEMBER_ID })),
      };
    }
    const out = members.map((x) => {
      let memberId = x.memberId;
      if (memberId === "" && x.groupInstanceId !== null) {
        memberId = g.staticMembers.get(x.groupInstanceId) ?? "";
      }
      const m = this.#member(g, memberId, x.groupInstanceId);
      if (typeof m === "number") return { ...x, errorCode: m };
      this.#removeMember(g, m, UNKNOWN_MEMBER_ID);
      return { ...x, errorCode: NONE };
    });
    return { errorCode: NONE, members: out };
  }

  // -------------------------------------------------------------------------
  // offsets

  /**
   * Handles an OffsetCommit: the error code for the whole request (applied to
   * every partition). Generation -1 with an empty member id is a simple
   * commit, allowed when the group has no members.
   */
  commit(
    groupId: string,
    generationId: number,
    memberId: string,
    instanceId: string | null,
    offsets: readonly OffsetToCommit[],
  ): number {
    if (this.#closed) return COORDINATOR_NOT_AVAILABLE;
    if (groupId === "") return INVALID_GROUP_ID;
    let g = this.#groups.get(groupId);
    if (!g || g.state === "Dead") {
      if (generationId >= 0) return ILLEGAL_GENERATION;
      if (memberId !== "") return UNKNOWN_MEMBER_ID;
      g ??= this.#newGroup(groupId);
    } else if (!(generationId < 0 && memberId === "" && g.state === "Empty")) {
      const m = this.#member(g, memberId, instanceId);
      if (typeof m === "number") return m;
      if (generationId !== g.generation) return ILLEGAL_GENERATION;
      if (g.state === "CompletingRebalance") return REBALANCE_IN_PROGRESS;
      this.#touch(g, m);
    }
    this.#store(g, offsets);
    return NONE;
  }

  /**
   * Stores offsets without a membership check: for consumer-protocol groups,
   * whose commits the consumer group coordinator validated.
   */
  storeOffsets(groupId: string, offsets: readonly OffsetToCommit[]): void {
    this.#store(this.#groups.get(groupId) ?? this.#newGroup(groupId), offsets);
  }

  /** Writes committed offsets; a Dead group holding offsets is Empty again. */
  #store(g: Group, offsets: readonly OffsetToCommit[]): void {
    for (const o of offsets) {
      g.offsets.set(offsetKey(o.topic, o.partition), {
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        leaderEpoch: o.leaderEpoch,
        metadata: o.metadata,
      });
    }
    if (g.state === "Dead") g.state = "Empty";
  }

  /** Committed offsets of a group: the listed partitions, or all (null). */
  fetchOffsets(
    groupId: string,
    topics: readonly { topic: string; partitions: readonly number[] }[] | null,
  ): { topic: string; partitions: { partition: number; committed: CommittedOffset | null }[] }[] {
    const g = this.#groups.get(groupId);
    if (topics === null) {
      const byTopic = new Map<string, { partition: number; committed: CommittedOffset }[]>();
      for (const o of g?.offsets.values() ?? []) {
        const list = byTopic.get(o.topic) ?? [];
        list.push({ partition: o.partition, committed: o });
        byTopic.set(o.topic, list);
      }
      return [...byTopic].map(([topic, partitions]) => ({
        topic,
        partitions: partitions.sort((a, b) => a.partition - b.partition),
      }));
    }
    return topics.map((t) => ({
      topic: t.topic,
      partitions: t.partitions.map((p) => ({
        partition: p,
        committed: g?.offsets.get(offsetKey(t.topic, p)) ?? null,
      })),
    }));
  }

  // -------------------------------------------------------------------------
  // DescribeGroups, ListGroups, DeleteGroups

  /** Describes a group (state "Dead", no members, when unknown). */
  describe(groupId: string): GroupSummary {
    const g = this.#groups.get(groupId);
    if (!g) {
      return { groupId, state: "Dead", protocolType: "", protocolName: "", members: [] };
    }
    const full = g.state === "Stable" || g.state === "CompletingRebalance";
    const name = g.protocolName ?? "";
    return {
      groupId,
      state: g.state,
      protocolType: g.protocolType ?? "",
      protocolName: full ? name : "",
      members: [...g.members.values()].map((m) => ({
        memberId: m.id,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: full ? (m.protocols.find((p) => p.name === name)?.metadata ?? EMPTY) : EMPTY,
        assignment: g.state === "Stable" ? m.assignment : EMPTY,
      })),
    };
  }

  /** Lists groups, optionally only those in the given states (case-insensitive). */
  list(
    states: readonly string[] = [],
  ): { groupId: string; protocolType: string; state: GroupStateName }[] {
    const want = new Set(states.map((s) => s.toLowerCase()));
    return [...this.#groups.values()]
      .filter((g) => g.state !== "Dead")
      .filter((g) => want.size === 0 || want.has(g.state.toLowerCase()))
      .map((g) => ({ groupId: g.id, protocolType: g.protocolType ?? "", state: g.state }));
  }

  /** Deletes a group without members: the error code. */
  deleteGroup(groupId: string): number {
    const g = this.#groups.get(groupId);
    if (!g || g.state === "Dead") return GROUP_ID_NOT_FOUND;
    if (g.state !== "Empty") return NON_EMPTY_GROUP;
    this.#groups.delete(groupId);
    return NONE;
  }

  /** Clears every timer and answers held requests with COORDINATOR_NOT_AVAILABLE. */
  close(): void {
    this.#closed = true;
    for (const g of this.#groups.values()) {
      this.#clearRebalanceTimer(g);
      for (const m of g.members.values()) {
        this.#clearSession(m);
        m.join?.(errorJoin(COORDINATOR_NOT_AVAILABLE, m.id));
        m.sync?.(errorSync(COORDINATOR_NOT_AVAILABLE));
        m.join = m.sync = undefined;
      }
    }
  }
}
