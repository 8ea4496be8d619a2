/**
 * Where the heartbeat task runs: in a Worker (the default, so that a handler
 * blocking the consumer's event loop does not stop heartbeats) or on the
 * event loop (`heartbeatThread: "event-loop"`, or where Workers are missing,
 * as on Deno Deploy — with a warning, never silently). Both run the same
 * task (heartbeat_task.ts: either protocol's) over the same shared
 * {@linkcode Liveness}.
 *
 * @module
 */

import type { HeartbeatThread, Logger } from "../../config.ts";
import type { ClusterOptions } from "../../net/cluster.ts";
import { type BackoffOptions, sleep } from "../../util/async.ts";
import type { GroupClient } from "../../net/group_client.ts";
import type { HeartbeatMember } from "./heartbeat.ts";
import { type FromWorker, toTransfer, type ToWorker } from "./heartbeat_messages.ts";
import {
  createHeartbeatTask,
  type HeartbeatCommand,
  type HeartbeatTask,
  type HeartbeatTaskEvent,
  type HeartbeatTaskSpec,
} from "./heartbeat_task.ts";
import type { Liveness } from "./liveness.ts";

export type { HeartbeatThread };

/** A running heartbeat task. */
export interface HeartbeatDriver {
  /** Where it runs now. */
  readonly thread: HeartbeatThread;
  /** Classic protocol: the member to heartbeat for, or null to stop heartbeating. */
  setMember(member: HeartbeatMember | null): void;
  /** An instruction to the task (the consumer protocol's commands). */
  command(c: HeartbeatCommand): void;
  /** Stops the task; with a worker, resolves once the worker has closed its connections and ended. */
  close(): Promise<void>;
}

/** What {@linkcode startHeartbeat} needs. */
export interface HeartbeatDriverOptions {
  /** Where to run. */
  thread: HeartbeatThread;
  /** The consumer's own group client (for the event loop). */
  client: GroupClient;
  /** The consumer's connection settings (the worker connects on its own). */
  cluster: ClusterOptions;
  /** The group. */
  groupId: string;
  /** Backoff of the worker's coordinator lookups. */
  retryBackoff: BackoffOptions;
  /** The task and its settings. */
  task: HeartbeatTaskSpec;
  /** The shared liveness. */
  liveness: Liveness;
  /** Receives the task's events (on the consumer's event loop). */
  onEvent: (event: HeartbeatTaskEvent) => void;
  /** The consumer's logger. */
  logger: Required<Logger>;
}

let warnedNoWorker = false;

/** Starts the heartbeat task where `options.thread` says (or on the event loop, with a warning). */
export function startHeartbeat(options: HeartbeatDriverOptions): HeartbeatDriver {
  if (options.thread === "worker") {
    if (typeof Worker === "function") {
      try {
        return new WorkerHeartbeat(options);
      } catch (e) {
        options.logger.warn(
          "could not start the heartbeat worker; heartbeats run on the event loop, so a " +
            "handler that blocks it for sessionTimeoutMs loses the group",
          { error: e },
        );
      }
    } else if (!warnedNoWorker) {
      warnedNoWorker = true;
      options.logger.warn(
        "Workers are not available here; heartbeats run on the event loop, so a handler that " +
          'blocks it for sessionTimeoutMs loses the group (set heartbeatThread: "event-loop" ' +
          "to say this is intended)",
      );
    }
  }
  return new LoopHeartbeat(options);
}

/** The heartbeat task on the consumer's event loop. */
class LoopHeartbeat implements HeartbeatDriver {
  readonly thread = "event-loop";
  readonly #task: HeartbeatTask;
  readonly #stop = new AbortController();
  readonly #running: Promise<void>;

  constructor(o: HeartbeatDriverOptions) {
    this.#task = createHeartbeatTask(o.task, {
      client: o.client,
      liveness: o.liveness,
      emit: o.onEvent,
      logger: o.logger,
      signal: this.#stop.signal,
    });
    this.#running = this.#task.run();
  }

  setMember(member: HeartbeatMember | null): void {
    this.command({ type: "member", member });
  }

  command(c: HeartbeatCommand): void {
    this.#task.command(c);
  }

  async close(): Promise<void> {
    this.#task.command({ type: "member", member: null });
    this.#stop.abort();
    await this.#running;
  }
}

/** How long close() waits for the worker to close its connections before ending it. */
const WORKER_CLOSE_TIMEOUT_MS = 5000;

/** The heartbeat task in a Worker with connections of its own. */
class WorkerHeartbeat implements HeartbeatDriver {
  #thread: HeartbeatThread = "worker";
  readonly #worker: Worker;
  readonly #options: HeartbeatDriverOptions;
  #fallback: LoopHeartbeat | null = null;
  #member: HeartbeatMember | null = null;
  /** The consumer protocol's last join (the membership the worker served). */
  #joinSeq = 0;
  #closed: (() => void) | null = null;
  #ended = false;

  constructor(o: HeartbeatDriverOptions) {
    this.#options = o;
    this.#worker = new Worker(new URL("./heartbeat_worker.ts", import.meta.url).href, {
      type: "module",
    });
    this.#worker.onmessage = (e: MessageEvent<FromWorker>) => this.#receive(e.data);
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#failed(e.message);
    };
    this.#post({
      type: "init",
      cluster: toTransfer(o.cluster),
      groupId: o.groupId,
      retryBackoff: o.retryBackoff,
      task: o.task,
      liveness: o.liveness.buffer,
    });
    void this.#sendToken();
  }

  get thread(): HeartbeatThread {
    return this.#thread;
  }

  setMember(member: HeartbeatMember | null): void {
    this.#member = member;
    this.command({ type: "member", member });
  }

  command(c: HeartbeatCommand): void {
    if (c.type === "join") this.#joinSeq = c.seq;
    if (this.#fallback) return this.#fallback.command(c);
    if (c.type === "member" ? c.member !== null : c.type === "join") void this.#sendToken();
    this.#post({ type: "command", command: c });
  }

  /**
   * Sends the worker a current OAUTHBEARER token: the answer to its request
   * `id`, or unasked (no `id`) while this thread is free, so that it can
   * connect and re-authenticate while a handler blocks this thread.
   */
  async #sendToken(id?: number): Promise<void> {
    const sasl = this.#options.cluster.sasl;
    if (sasl?.mechanism !== "oauthbearer") {
      if (id !== undefined) {
        this.#post({ type: "token", id, error: "no OAUTHBEARER token provider" });
      }
      return;
    }
    try {
      const { token, expiresAt } = await sasl.tokens.withExpiry();
      this.#post({ type: "token", id, value: token.reveal(), expiresAt });
    } catch (e) {
      // Unasked, the failure surfaces when the worker asks for itself.
      if (id !== undefined) {
        this.#post({ type: "token", id, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  async close(): Promise<void> {
    if (this.#fallback) return await this.#fallback.close();
    if (this.#ended) return;
    const closed = new Promise<void>((resolve) => this.#closed = resolve);
    this.#post({ type: "close" });
    const timeout = new AbortController();
    const clean = await Promise.race([
      closed.then(() => true),
      sleep(WORKER_CLOSE_TIMEOUT_MS, timeout.signal).then(() => false),
    ]);
    timeout.abort();
    this.#end();
    if (clean) this.#options.logger.debug("heartbeat worker closed its connections and ended");
    else {
      this.#options.logger.warn("heartbeat worker did not close in time; terminated it", {
        waitedMs: WORKER_CLOSE_TIMEOUT_MS,
      });
    }
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#worker.terminate();
  }

  #post(message: ToWorker): void {
    if (!this.#ended) this.#worker.postMessage(message);
  }

  /** The worker died (it could not load, say): heartbeats go on on the event loop. */
  #failed(reason: string): void {
    if (this.#fallback || this.#ended) return;
    this.#options.logger.warn(
      "the heartbeat worker failed; heartbeats run on the event loop from now on, so a " +
        "handler that blocks it for sessionTimeoutMs loses the group",
      { error: reason },
    );
    this.#end();
    this.#thread = "event-loop";
    this.#fallback = new LoopHeartbeat(this.#options);
    if (this.#options.task.protocol === "classic") this.#fallback.setMember(this.#member);
    else {
      // The worker held the member epoch: the new task starts at none, so
      // the membership gives its partitions up and joins again.
      this.#options.onEvent({
        type: "fenced",
        reason: `the heartbeat worker failed: ${reason}`,
        seq: this.#joinSeq,
      });
    }
  }

  #receive(msg: FromWorker): void {
    const o = this.#options;
    switch (msg.type) {
      case "event":
        o.onEvent(msg.event);
        break;
      case "log":
        o.logger[msg.level](msg.message, msg.fields as Record<string, unknown> | undefined);
        break;
      case "token-request":
        void this.#sendToken(msg.id);
        break;
      case "closed":
        this.#closed?.();
        break;
    }
  }
}
