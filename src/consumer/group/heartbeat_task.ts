/**
 * The two heartbeat tasks behind one face, so that heartbeat_driver.ts and
 * the Worker run either without knowing which: the classic protocol's
 * {@linkcode Heartbeater} (Heartbeat requests for a member the membership
 * names) and the consumer protocol's {@linkcode ConsumerHeartbeater}
 * (ConsumerGroupHeartbeat, which is the membership itself).
 *
 * @module
 */

import {
  type ConsumerHeartbeatCommand,
  ConsumerHeartbeater,
  type ConsumerHeartbeatEvent,
  type ConsumerHeartbeatSettings,
} from "./consumer_heartbeat.ts";
import {
  Heartbeater,
  type HeartbeatEvent,
  type HeartbeatMember,
  type HeartbeatSettings,
} from "./heartbeat.ts";
import type { HeartbeatTaskContext } from "./task_context.ts";

/** Which task to run, with its settings (plain data: it crosses to the worker). */
export type HeartbeatTaskSpec =
  | { protocol: "classic"; settings: HeartbeatSettings }
  | { protocol: "consumer"; settings: ConsumerHeartbeatSettings };

/** An instruction to a task: the classic member to heartbeat for, or a consumer-protocol command. */
export type HeartbeatCommand =
  | { type: "member"; member: HeartbeatMember | null }
  | ConsumerHeartbeatCommand;

/** What either task reports (the two protocols' event types do not share a `type`). */
export type HeartbeatTaskEvent = HeartbeatEvent | ConsumerHeartbeatEvent;

/** A running heartbeat task. */
export interface HeartbeatTask {
  /** The loop; resolves when the signal aborts. */
  run(): Promise<void>;
  /** Takes an instruction (one of its protocol's). */
  command(c: HeartbeatCommand): void;
}

/** The task `spec` names, working with `ctx` (reporting through `ctx.emit`, stopped by `ctx.signal`). */
export function createHeartbeatTask(
  spec: HeartbeatTaskSpec,
  ctx: HeartbeatTaskContext<HeartbeatTaskEvent>,
): HeartbeatTask {
  if (spec.protocol === "consumer") {
    const task = new ConsumerHeartbeater(ctx, spec.settings);
    return {
      run: () => task.run(),
      command: (c) => {
        if (c.type !== "member") task.command(c);
      },
    };
  }
  const task = new Heartbeater(ctx, spec.settings);
  return {
    run: () => task.run(),
    command: (c) => {
      if (c.type === "member") task.setMember(c.member);
    },
  };
}
