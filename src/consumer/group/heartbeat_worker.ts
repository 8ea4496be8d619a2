/**
 * The heartbeat Worker's entry point: the home of group membership traffic
 * that must go on while a handler blocks the consumer's event loop. It owns
 * a connection of its own to the coordinator (a socket cannot move between
 * workers), runs the heartbeat task of the group's protocol
 * (heartbeat_task.ts: classic Heartbeat, or ConsumerGroupHeartbeat, which
 * under KIP-848 is the membership itself), writes liveness to the shared
 * buffer, and reports events, log lines and token requests by message.
 * Started by heartbeat_driver.ts.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { Cluster } from "../../net/cluster.ts";
import type { Logger } from "../../config.ts";
import { GroupClient } from "../../net/group_client.ts";
import { createHeartbeatTask, type HeartbeatTask } from "./heartbeat_task.ts";
import { fromTransfer, type FromWorker, type ToWorker } from "./heartbeat_messages.ts";
import { Liveness } from "./liveness.ts";
import { refreshAt } from "../../net/sasl/oauthbearer.ts";

const post = (message: FromWorker) => {
  try {
    self.postMessage(message);
  } catch {
    // A log field that does not clone: send its text instead.
    if (message.type === "log") self.postMessage({ ...message, fields: String(message.fields) });
  }
};

const logger: Required<Logger> = {
  debug: (message, fields) => post({ type: "log", level: "debug", message, fields }),
  info: (message, fields) => post({ type: "log", level: "info", message, fields }),
  warn: (message, fields) => post({ type: "log", level: "warn", message, fields }),
  error: (message, fields) => post({ type: "log", level: "error", message, fields }),
};

const stop = new AbortController();
let task: HeartbeatTask | null = null;
let cluster: Cluster | null = null;
let client: GroupClient | null = null;
let running: Promise<void> = Promise.resolve();
let nextTokenId = 0;
const tokenWaiters = new Map<
  number,
  { resolve: (t: { value: string; expiresAt?: number }) => void; reject: (e: Error) => void }
>();

/**
 * The last token the main thread pushed (at start and when a member joins,
 * while its event loop is free), used until 80% of its lifetime.
 */
let pushed: { value: string; expiresAt?: number; at: number } | null = null;

/**
 * A token: the pushed one while fresh, else one from the main thread's
 * provider (the user's function lives there) by message — which waits while
 * a handler blocks the main thread.
 */
function askToken(): Promise<{ value: string; expiresAt?: number }> {
  if (pushed) {
    const { value, expiresAt, at } = pushed;
    const fresh = expiresAt === undefined || Date.now() < refreshAt(at, expiresAt);
    if (fresh) return Promise.resolve({ value, expiresAt });
  }
  const id = nextTokenId++;
  return new Promise((resolve, reject) => {
    tokenWaiters.set(id, { resolve, reject });
    post({ type: "token-request", id });
  });
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  switch (msg.type) {
    case "init": {
      cluster = new Cluster(fromTransfer(msg.cluster, askToken, stop.signal));
      client = new GroupClient(cluster, msg.groupId, stop.signal, 20, msg.retryBackoff);
      task = createHeartbeatTask(msg.task, {
        client,
        liveness: new Liveness(msg.liveness),
        emit: (event) => post({ type: "event", event }),
        logger,
        signal: stop.signal,
      });
      running = task.run();
      break;
    }
    case "command": {
      task?.command(msg.command);
      // Connect to the coordinator now, while the main thread still answers
      // (SASL tokens), not at the first heartbeat.
      const c = msg.command;
      if (c.type === "member" ? c.member !== null : c.type === "join") {
        client?.connection("heartbeat").catch(() => {});
      }
      break;
    }
    case "token": {
      if (msg.value !== undefined) {
        pushed = { value: msg.value, expiresAt: msg.expiresAt, at: Date.now() };
      }
      if (msg.id === undefined) break;
      const waiter = tokenWaiters.get(msg.id);
      tokenWaiters.delete(msg.id);
      if (msg.value !== undefined) waiter?.resolve({ value: msg.value, expiresAt: msg.expiresAt });
      else waiter?.reject(new Error(msg.error ?? "no token"));
      break;
    }
    case "close": {
      stop.abort();
      for (const w of tokenWaiters.values()) w.reject(new Error("the consumer is closing"));
      tokenWaiters.clear();
      await running.catch(() => {});
      await cluster?.close();
      post({ type: "closed" });
      self.close();
      break;
    }
  }
};
