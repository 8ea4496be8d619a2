/**
 * The client's view of a cluster: bootstrap from a list of brokers, a
 * metadata cache (brokers, topic ids, partition leaders and leader epochs),
 * and a pool of connections keyed by broker and purpose, so that fetches,
 * group calls and heartbeats never share a socket.
 *
 * @module
 */

import { ErrorCode } from "../protocol/error_codes.ts";
import { KafkaProtocolError } from "../protocol/errors.ts";
import { MetadataApi, type MetadataResponse } from "../protocol/messages/metadata.ts";
import { backoffMs, type BackoffOptions, delay } from "../util/async.ts";
import { Connection } from "./connection.ts";
import {
  AuthenticationError,
  ConnectionError,
  RebootstrapRequiredError,
  TlsError,
} from "./errors.ts";
import type { SaslConfig } from "./sasl/authenticate.ts";
import type { TlsConfig } from "./tls.ts";

/** Options of a {@linkcode Cluster}. */
export interface ClusterOptions {
  /** Bootstrap addresses, `host:port`. */
  brokers: readonly string[];
  /** Client id sent with every request. @default "sluice" */
  clientId?: string;
  /** Time allowed per request. @default 30000 */
  requestTimeoutMs?: number;
  /** Time allowed per TCP connect. @default 10000 */
  connectTimeoutMs?: number;
  /**
   * How long, in ms, to keep trying the bootstrap list when no broker
   * answers (Infinity: for ever) before a {@linkcode ConnectionError}.
   * @default 60000
   */
  bootstrapTimeoutMs?: number;
  /** Pause between rounds over the bootstrap list. @default {{ initialMs: 50, maxMs: 1000 }} */
  reconnectBackoff?: BackoffOptions;
  /** Told of each failed round (a warning: the service cannot reach Kafka yet). */
  onBootstrapFailure?: (info: { attempt: number; error: ConnectionError }) => void;
  /** Aborts waits between retries. */
  signal?: AbortSignal;
  /** TLS for every connection. */
  tls?: TlsConfig;
  /** SASL authentication of every connection. */
  sasl?: SaslConfig;
}

/** A partition as the metadata cache knows it. */
export interface PartitionInfo {
  /** Partition index. */
  readonly partition: number;
  /** Node id of the leader, -1 when there is none right now. */
  readonly leader: number;
  /** Leader epoch, -1 when unknown. */
  readonly leaderEpoch: number;
  /** Error reported for this partition, 0 when none. */
  readonly errorCode: number;
}

/** A topic as the metadata cache knows it. */
export interface TopicInfo {
  /** Topic name. */
  readonly name: string;
  /** Topic id (base64url UUID). */
  readonly topicId: string;
  /** Error reported for this topic, 0 when none. */
  readonly errorCode: number;
  /** Partitions by index. */
  readonly partitions: ReadonlyMap<number, PartitionInfo>;
}

/** A broker address from metadata. */
export interface BrokerInfo {
  /** Node id. */
  readonly nodeId: number;
  /** Advertised host. */
  readonly host: string;
  /** Advertised port. */
  readonly port: number;
}

/** The cluster's metadata cache and connection pool. */
export class Cluster {
  readonly #opts: ClusterOptions;
  readonly #pool = new Map<string, Promise<Connection>>();
  #brokers = new Map<number, BrokerInfo>();
  #topics = new Map<string, TopicInfo>();
  #topicNames = new Map<string, string>();
  #clusterId: string | null = null;
  #closed = false;
  #bootstrapFailure: ConnectionError | null = null;

  /** Creates the cluster view; nothing connects until the first call. */
  constructor(opts: ClusterOptions) {
    if (opts.brokers.length === 0) throw new TypeError("At least one bootstrap broker is required");
    this.#opts = opts;
  }

  /** Brokers known from the last metadata response. */
  get brokers(): ReadonlyMap<number, BrokerInfo> {
    return this.#brokers;
  }

  /** Topics known from metadata responses, by name. */
  get topics(): ReadonlyMap<string, TopicInfo> {
    return this.#topics;
  }

  /** The cluster id, once metadata was fetched. */
  /**
   * Why the last round of bootstrap connections failed, while bootstrapping
   * has not succeeded since; null otherwise. For callers that give up on a
   * bootstrap still under way (a producer's maxBlockMs) to say why.
   */
  get bootstrapFailure(): ConnectionError | null {
    return this.#bootstrapFailure;
  }

  get clusterId(): string | null {
    return this.#clusterId;
  }

  /** The name of a topic id, if known. */
  topicName(topicId: string): string | undefined {
    return this.#topicNames.get(topicId);
  }

  /**
   * A pooled connection to broker `nodeId` (or to any bootstrap broker when
   * `nodeId` is `"bootstrap"`), one per `purpose`.
   */
  connection(nodeId: number | "bootstrap", purpose = "default"): Promise<Connection> {
    if (this.#closed) return Promise.reject(new ConnectionError(String(nodeId), "client closed"));
    const key = `${nodeId}/${purpose}`;
    const existing = this.#pool.get(key);
    if (existing) {
      return existing.then((c) => {
        if (!c.closed) return c;
        this.#pool.delete(key);
        return this.connection(nodeId, purpose);
      });
    }
    const p = nodeId === "bootstrap" ? this.#connectBootstrap() : this.#connectNode(nodeId);
    this.#pool.set(key, p);
    p.catch(() => {
      if (this.#pool.get(key) === p) this.#pool.delete(key);
    });
    return p;
  }

  /** Opens a new, unpooled connection to a broker (callers close it). */
  async connectTo(nodeId: number): Promise<Connection> {
    return await this.#connectNode(nodeId);
  }

  /**
   * Fetches metadata for `topics` (all topics when null) and updates the
   * cache. Broker-level failures are retried on another connection.
   */
  async refreshMetadata(topics: readonly string[] | null): Promise<MetadataResponse> {
    const conn = await this.#anyConnection();
    let res: MetadataResponse;
    try {
      res = await conn.send(MetadataApi, {
        topics: topics === null ? null : topics.map((name) => ({ name, topicId: undefined })),
        allowAutoTopicCreation: false,
        includeTopicAuthorizedOperations: false,
      });
    } catch (e) {
      conn.close();
      throw e;
    }
    this.#apply(res);
    return res;
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#pool.values()];
    this.#pool.clear();
    for (const p of all) {
      try {
        (await p).close();
      } catch {
        // a failed connect has nothing to close
      }
    }
  }

  #apply(res: MetadataResponse): void {
    this.#clusterId = res.clusterId;
    const brokers = new Map<number, BrokerInfo>();
    for (const b of res.brokers) {
      brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port });
    }
    if (brokers.size > 0) this.#brokers = brokers;
    for (const t of res.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0 && t.partitions.length === 0) {
        this.#topics.set(t.name, {
          name: t.name,
          topicId: t.topicId,
          errorCode: t.errorCode,
          partitions: new Map(),
        });
        continue;
      }
      const partitions = new Map<number, PartitionInfo>();
      for (const p of t.partitions) {
        partitions.set(p.partitionIndex, {
          partition: p.partitionIndex,
          leader: p.leaderId,
          leaderEpoch: p.leaderEpoch,
          errorCode: p.errorCode,
        });
      }
      this.#topics.set(t.name, {
        name: t.name,
        topicId: t.topicId,
        errorCode: t.errorCode,
        partitions,
      });
      this.#topicNames.set(t.topicId, t.name);
    }
  }

  /** The leader of a partition from the cache, or a protocol error saying why not. */
  leaderOf(topic: string, partition: number): number {
    const t = this.#topics.get(topic);
    if (!t) {
      throw KafkaProtocolError.from(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic, partition });
    }
    if (t.errorCode !== 0) throw KafkaProtocolError.from(t.errorCode, { topic, partition });
    const p = t.partitions.get(partition);
    if (!p) {
      throw KafkaProtocolError.from(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, { topic, partition });
    }
    if (p.leader < 0) {
      throw KafkaProtocolError.from(ErrorCode.LEADER_NOT_AVAILABLE, { topic, partition });
    }
    return p.leader;
  }

  async #anyConnection(): Promise<Connection> {
    for (const id of this.#brokers.keys()) {
      try {
        return await this.connection(id, "metadata");
      } catch {
        // try the next known broker, then the bootstrap list
      }
    }
    return await this.connection("bootstrap", "metadata");
  }

  #connectNode(nodeId: number): Promise<Connection> {
    const b = this.#brokers.get(nodeId);
    if (!b) {
      return Promise.reject(
        new ConnectionError(`node ${nodeId}`, "broker not in the cluster metadata"),
      );
    }
    return Connection.connect({
      host: b.host,
      port: b.port,
      clientId: this.#opts.clientId,
      requestTimeoutMs: this.#opts.requestTimeoutMs,
      connectTimeoutMs: this.#opts.connectTimeoutMs,
      tls: this.#opts.tls,
      sasl: this.#opts.sasl,
      // ApiVersions v5 checks both or neither: Kafka 4.4 answers a node id
      // without a cluster id with INVALID_REQUEST.
      expect: this.#clusterId === null ? undefined : { clusterId: this.#clusterId, nodeId },
    }).catch((e) => {
      // The address now belongs to another node or cluster: what metadata
      // told us about brokers is stale, so the next refresh bootstraps.
      if (e instanceof RebootstrapRequiredError) this.#brokers = new Map();
      throw e;
    });
  }

  async #connectBootstrap(): Promise<Connection> {
    const timeoutMs = this.#opts.bootstrapTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const backoff = this.#opts.reconnectBackoff ?? { initialMs: 50, maxMs: 1000 };
    let last: ConnectionError | undefined;
    let attempt = 0;
    for (;; attempt++) {
      for (const addr of this.#opts.brokers) {
        const { host, port } = parseAddress(addr);
        try {
          const conn = await Connection.connect({
            host,
            port,
            clientId: this.#opts.clientId,
            requestTimeoutMs: this.#opts.requestTimeoutMs,
            connectTimeoutMs: this.#opts.connectTimeoutMs,
            tls: this.#opts.tls,
            sasl: this.#opts.sasl,
          });
          this.#bootstrapFailure = null;
          return conn;
        } catch (e) {
          // Wrong credentials or an untrusted certificate fail the same way
          // on every attempt: report at once instead of hammering the broker.
          if (e instanceof AuthenticationError || e instanceof TlsError) throw e;
          last = e instanceof ConnectionError
            ? e
            : new ConnectionError(addr, e instanceof Error ? e.message : String(e), { cause: e });
        }
      }
      this.#bootstrapFailure = last!;
      this.#opts.onBootstrapFailure?.({ attempt: attempt + 1, error: last! });
      // Bootstrap tries for the whole bootstrapTimeoutMs: when the next
      // pause would pass the deadline, the last round happens at it.
      const left = deadline - Date.now();
      if (this.#closed || left <= 0) break;
      await delay(Math.min(backoffMs(attempt, backoff), left), this.#opts.signal);
    }
    const list = this.#opts.brokers.join(",");
    throw new ConnectionError(
      list,
      `no bootstrap broker answered within ${timeoutMs} ms (${attempt + 1} rounds over ` +
        `${this.#opts.brokers.length} address${this.#opts.brokers.length === 1 ? "" : "es"}; ` +
        `last: ${last!.broker}: ${last!.reason})`,
      { cause: last },
    );
  }
}

/** Splits `host:port` (IPv6 as `[::1]:9092`). */
export function parseAddress(addr: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  if (!m) throw new TypeError(`Broker address "${addr}" is not host:port`);
  return { host: m[1], port: Number(m[2]) };
}
