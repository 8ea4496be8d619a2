// cooperativeStickyAssign() against Kafka's Java CooperativeStickyAssignor
// (kafka-clients: SLUICE_KAFKA_LIBS, or the Kafka download scripts/kafka.sh
// keeps in ~/.cache/sluice) on thousands of seeded random groups. Each group
// is a short history of rebalances: every round after the first feeds Java's
// previous assignment back as the members' owned partitions, while members
// join, leave, crash, miss a round and come back with stale claims, and topics
// grow. One Java process (single-file launch) runs every assign() call: it
// reads a batch of rounds on stdin and answers each batch on stdout, so the
// next round of every group can be built from Java's answer.
//
// Groups whose members all subscribe to the same topics (Java's "constrained"
// path) must give exactly Java's assignment. For the others only validity is
// checked, on both Java's result and ours: every member present, only
// subscribed partitions, no partition twice, every unassigned partition
// claimed by someone (withheld by the cooperative adjustment), and balance up
// to the withheld partitions.
//
// A missing java or missing jars fail the test saying what to install.
import assert from "node:assert/strict";
import { Rng } from "../../util/random.ts";
import type { GroupAssignment } from "./assignors.ts";
import { cooperativeStickyAssign, type StickyMember } from "./sticky_assignor.ts";
import { requireJava } from "../../testdata/java.ts";

const SEED = 0x5717c4;
const GROUPS = 3000;

/**
 * Runs CooperativeStickyAssignor as ConsumerCoordinator.onLeaderElected does:
 * a new assignor per call, members put into a HashMap in JoinGroup order,
 * assign(Cluster, GroupSubscription). Input lines (space separated):
 *   G <key>                     a round starts
 *   T <topic> <partitions>      metadata
 *   M <id> <generationId> <userData hex, or - for null> <topics,> <topic:p,>   (- for none)
 *   E                           assign
 *   RUN                         end of batch: answer DONE
 * Output per round: G <key>, then A <id> <topic:p,> per member (Java's list
 * order) or X <error>, then E.
 */
const STICKY_ASSIGN_JAVA = `
import java.io.*;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.*;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Assignment;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.GroupSubscription;
import org.apache.kafka.clients.consumer.ConsumerPartitionAssignor.Subscription;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.common.*;

public class StickyAssign {
  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    PrintStream out = new PrintStream(
        new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 1 << 16), false, "UTF-8");
    Node node = new Node(0, "localhost", 9092);
    Node[] nodes = new Node[] {node};
    String key = null;
    List<PartitionInfo> infos = new ArrayList<>();
    Map<String, Subscription> subscriptions = new HashMap<>();
    List<String> order = new ArrayList<>();
    String line;
    while ((line = in.readLine()) != null) {
      String[] f = line.split(" ", -1);
      switch (f[0]) {
        case "G":
          key = f[1];
          infos = new ArrayList<>();
          subscriptions = new HashMap<>();
          order = new ArrayList<>();
          break;
        case "T":
          for (int p = 0; p < Integer.parseInt(f[2]); p++)
            infos.add(new PartitionInfo(f[1], p, node, nodes, nodes));
          break;
        case "M": {
          List<String> topics = f[4].equals("-") ? List.of() : Arrays.asList(f[4].split(","));
          List<TopicPartition> owned = new ArrayList<>();
          if (!f[5].equals("-")) {
            for (String s : f[5].split(",")) {
              int i = s.lastIndexOf(':');
              owned.add(new TopicPartition(s.substring(0, i), Integer.parseInt(s.substring(i + 1))));
            }
          }
          ByteBuffer userData = f[3].equals("-") ? null : ByteBuffer.wrap(HexFormat.of().parseHex(f[3]));
          subscriptions.put(f[1], new Subscription(topics, userData, owned, Integer.parseInt(f[2]), Optional.empty()));
          order.add(f[1]);
          break;
        }
        case "E": {
          out.println("G " + key);
          try {
            Cluster cluster = new Cluster("c", List.of(node), infos, Set.of(), Set.of());
            Map<String, Assignment> result = new CooperativeStickyAssignor()
                .assign(cluster, new GroupSubscription(subscriptions)).groupAssignment();
            for (String member : order) {
              StringBuilder b = new StringBuilder();
              for (TopicPartition tp : result.get(member).partitions()) {
                if (b.length() > 0) b.append(',');
                b.append(tp.topic()).append(':').append(tp.partition());
              }
              out.println("A " + member + " " + (b.length() == 0 ? "-" : b));
            }
          } catch (Exception e) {
            out.println("X " + String.valueOf(e).replace('\\n', ' '));
          }
          out.println("E");
          break;
        }
        case "RUN":
          out.println("DONE");
          out.flush();
          break;
        default:
          throw new IllegalArgumentException(line);
      }
    }
    out.flush();
  }
}
`;

interface TP {
  topic: string;
  partition: number;
}

/** One assign() call: members in JoinGroup order, metadata. */
interface Round {
  key: string;
  /** 1: every member subscribes to the same topics; 2: subscriptions differ. */
  family: 1 | 2;
  members: StickyMember[];
  partitions: Map<string, number>;
}

/** Member id -> partitions in Java's order, or an error Java threw. */
type JavaResult = { error: string } | { assignment: Map<string, TP[]> };

/** A long-lived Java process answering batches of rounds. */
class JavaAssignor {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  #stderr: Promise<string>;

  constructor(classpath: string, dir: string) {
    Deno.writeTextFileSync(`${dir}/StickyAssign.java`, STICKY_ASSIGN_JAVA);
    this.#child = new Deno.Command("java", {
      args: ["-cp", classpath, `${dir}/StickyAssign.java`],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = readLines(this.#child.stdout);
    this.#stderr = new Response(this.#child.stderr).text();
  }

  async run(rounds: readonly Round[]): Promise<Map<string, JavaResult>> {
    const reading = this.#readBatch();
    const text: string[] = [];
    for (const r of rounds) {
      text.push(`G ${r.key}`);
      for (const [t, n] of r.partitions) text.push(`T ${t} ${n}`);
      for (const m of r.members) {
        const ud = m.userData === null ? "-" : hex(m.userData);
        const topics = m.topics.length === 0 ? "-" : m.topics.join(",");
        text.push(`M ${m.memberId} ${m.generationId} ${ud} ${topics} ${tpList(m.ownedPartitions)}`);
      }
      text.push("E");
    }
    text.push("RUN", "");
    await this.#writer.write(new TextEncoder().encode(text.join("\n")));
    return await reading;
  }

  async #readBatch(): Promise<Map<string, JavaResult>> {
    const results = new Map<string, JavaResult>();
    let key = "";
    let assignment = new Map<string, TP[]>();
    let error: string | undefined;
    for (;;) {
      const { value, done } = await this.#lines.next();
      if (done) throw new Error(`java exited early: ${await this.#stderr}`);
      const [kind, a, b] = value.split(" ");
      if (kind === "DONE") return results;
      if (kind === "G") [key, assignment, error] = [a, new Map(), undefined];
      else if (kind === "A") assignment.set(a, parseTps(b));
      else if (kind === "X") error = value.slice(2);
      else if (kind === "E") results.set(key, error === undefined ? { assignment } : { error });
      else throw new Error(`unexpected java output: ${value}`);
    }
  }

  async close(): Promise<void> {
    await this.#writer.close();
    while (!(await this.#lines.next()).done) { /* drain */ }
    const status = await this.#child.status;
    const stderr = await this.#stderr;
    assert.ok(status.success, `java failed: ${stderr}`);
  }
}

async function* readLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function int32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setInt32(0, n);
  return out;
}

function tpList(tps: readonly TP[]): string {
  return tps.length === 0 ? "-" : tps.map((tp) => `${tp.topic}:${tp.partition}`).join(",");
}

function parseTps(s: string): TP[] {
  if (s === "-") return [];
  return s.split(",").map((x) => {
    const i = x.lastIndexOf(":");
    return { topic: x.slice(0, i), partition: Number(x.slice(i + 1)) };
  });
}

// ---------------------------------------------------------------------------
// Random group histories

const TOPIC_POOL = ["orders", "t0", "t1", "t2", "a.b-c_d", "x", "events", "Aa", "BB", "TOPIC-9"];
/** Java String.hashCode collides on these ("Aa", "BB" and "C#" all hash to 2112). */
const COLLIDING_IDS = ["Aa", "BB", "C#", "AaAa", "AaBB", "BBAa", "BBBB", "AaC#", "C#C#"];
const NON_ASCII = ["μ", "ü", "消费者", "🦀", "é-", "Ωmega", "ñ"];
const SHORT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

function hexDigits(rng: Rng, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += rng.int(16).toString(16);
  return s;
}

function shuffle<T>(rng: Rng, list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

function subset<T>(rng: Rng, list: readonly T[], min: number): T[] {
  const out = shuffle(rng, [...list]).slice(0, rng.range(min, list.length));
  return out.length === 0 ? [list[0]] : out;
}

/** A member across rounds, as the group's history sees it. */
interface Live {
  id: string;
  topics: string[];
  owned: TP[];
  /** The generation its owned partitions come from; -1 when new. */
  generation: number;
}

class GroupHistory {
  readonly rng: Rng;
  readonly family: 1 | 2;
  readonly index: number;
  readonly rounds: number;
  round = 0;
  generation = 0;
  readonly topics: string[];
  readonly partitions = new Map<string, number>();
  common: string[];
  live: Live[] = [];
  away: Live[] = [];
  used = new Set<string>();
  shape: number;

  constructor(index: number) {
    this.index = index;
    this.rng = Rng.forCase(SEED, index);
    const rng = this.rng;
    this.family = rng.chance(0.6) ? 1 : 2;
    this.rounds = rng.range(2, 6);
    this.shape = rng.int(5);
    this.topics = shuffle(rng, [...TOPIC_POOL]).slice(0, rng.range(1, 5));
    for (const t of this.topics) this.partitions.set(t, rng.chance(0.08) ? 0 : rng.range(1, 20));
    // Sometimes metadata knows a topic nobody subscribes to.
    if (rng.chance(0.2)) this.partitions.set("unsubscribed", rng.range(1, 6));
    // Sometimes members subscribe to a topic metadata does not know.
    if (rng.chance(0.08)) this.topics.push("missing");
    this.common = subset(rng, this.topics, 1);
    const n = rng.range(1, 12);
    for (let i = 0; i < n; i++) this.live.push(this.newMember());
  }

  newId(): string {
    const rng = this.rng;
    for (;;) {
      const shape = rng.chance(0.7) ? this.shape : rng.int(5);
      let id: string;
      switch (shape) {
        case 0:
          id = `consumer-g-1-${hexDigits(rng, 8)}-${hexDigits(rng, 4)}-${hexDigits(rng, 4)}-${
            hexDigits(rng, 4)
          }-${hexDigits(rng, 12)}`;
          break;
        case 1:
          id = Array.from({ length: rng.range(1, 3) }, () => rng.pick([...SHORT])).join("");
          break;
        case 2:
          id = `${rng.pick(NON_ASCII)}${rng.int(100)}${rng.chance(0.5) ? rng.pick(NON_ASCII) : ""}`;
          break;
        case 3:
          id = rng.pick(COLLIDING_IDS);
          break;
        default:
          id = `c${rng.int(40)}`;
      }
      if (!this.used.has(id)) {
        this.used.add(id);
        return id;
      }
    }
  }

  newMember(): Live {
    const topics = this.family === 1
      ? shuffle(this.rng, [...this.common])
      : subset(this.rng, this.topics, 1);
    return { id: this.newId(), topics, owned: [], generation: -1 };
  }

  /** This round's input. */
  input(): Round {
    const rng = this.rng;
    this.round++;
    this.generation += this.round === 1 ? 1 : rng.chance(0.8) ? 1 : rng.range(2, 3);
    const members: StickyMember[] = [];
    // The whole group may use subscriptions without the generation field.
    const oldProtocol = rng.chance(0.1);
    for (const m of shuffle(rng, [...this.live])) {
      const owned = [...m.owned];
      if (rng.chance(0.15)) shuffle(rng, owned);
      let generationId = m.generation;
      let userData: Uint8Array | null = rng.chance(0.2) ? null : int32(m.generation);
      const r = rng.next();
      if (oldProtocol || r < 0.12) {
        // Generation only in user data.
        generationId = -1;
        userData = int32(m.generation);
      } else if (r < 0.15) {
        generationId = -1;
        userData = null;
      } else if (r < 0.19) {
        // Garbage: too short (Java falls back to -1) or longer (first 4 bytes read).
        generationId = -1;
        userData = rng.bytes(rng.chance(0.6) ? rng.int(4) : rng.range(5, 8));
        if (rng.chance(0.5) && userData.length >= 4) userData[0] = 0;
      } else if (r < 0.22) {
        userData = rng.bytes(rng.int(7));
      }
      if (owned.length > 0 || m.generation !== -1) {
        if (rng.chance(0.04)) {
          // A claim on a topic that no longer exists.
          owned.push({ topic: "deleted", partition: rng.int(4) });
        }
        if (rng.chance(0.04)) {
          // A claim on a topic the member does not subscribe to (maybe nobody does).
          const others = [...this.partitions].filter(([t, n]) => n > 0 && !m.topics.includes(t));
          if (others.length > 0) {
            const [t, n] = rng.pick(others);
            owned.push({ topic: t, partition: rng.int(n) });
          }
        }
      }
      members.push({
        memberId: m.id,
        topics: m.topics,
        ownedPartitions: owned,
        generationId,
        userData,
      });
    }
    // Conflicting claims: a member claims a partition another member owns.
    if (this.round > 1 && rng.chance(0.2) && members.length >= 2) {
      const thief = rng.pick(members);
      const victims = members.filter((m) => m !== thief && m.ownedPartitions.length > 0);
      if (victims.length > 0) {
        const victim = rng.pick(victims);
        const tp = rng.pick(victim.ownedPartitions);
        if (
          !thief.ownedPartitions.some((o) => o.topic === tp.topic && o.partition === tp.partition)
        ) {
          const owned = [...thief.ownedPartitions];
          owned.splice(rng.int(owned.length + 1), 0, tp);
          const i = members.indexOf(thief);
          let { generationId, userData } = thief;
          const kind = rng.int(3);
          if (kind === 0) {
            // Same generation as the victim.
            generationId = victim.generationId;
            userData = victim.userData;
          } else if (kind === 1 && this.generation > 2) {
            // An older generation: stale claim.
            generationId = rng.range(1, this.generation - 2);
            userData = int32(generationId);
          }
          members[i] = { ...thief, ownedPartitions: owned, generationId, userData };
        }
      }
    }
    return {
      key: `${this.index}/${this.round}`,
      family: this.family,
      members,
      partitions: new Map(this.partitions),
    };
  }

  /** Applies Java's answer, then the changes before the next round. */
  advance(result: Map<string, TP[]>): void {
    const rng = this.rng;
    const next: Live[] = [];
    for (const m of this.live) {
      const r = rng.next();
      const live = { ...m, owned: result.get(m.id) ?? [], generation: this.generation };
      if (r < 0.08) continue; // left
      if (r < 0.13) continue; // crashed: its partitions vanish
      if (r < 0.18) {
        // Misses the next rebalance; may come back with stale claims.
        this.away.push(live);
        continue;
      }
      next.push(live);
    }
    const back = this.away.filter(() => rng.chance(0.5));
    this.away = this.away.filter((m) => !back.includes(m));
    // In family 1 a member coming back subscribes to what the others do now.
    if (this.family === 1) { for (const m of back) m.topics = shuffle(rng, [...this.common]); }
    next.push(...back);
    const joins = rng.chance(0.4) ? rng.range(1, 3) : 0;
    this.live = next;
    // Topics grow.
    for (const t of this.partitions.keys()) {
      if (rng.chance(0.1)) this.partitions.set(t, this.partitions.get(t)! + rng.range(1, 5));
    }
    if (rng.chance(0.03) && this.partitions.size > 1) {
      this.partitions.delete(rng.pick([...this.partitions.keys()]));
    }
    // Subscriptions change.
    if (this.family === 1 && rng.chance(0.1)) {
      this.common = subset(rng, this.topics, 1);
      for (const m of this.live) m.topics = shuffle(rng, [...this.common]);
    }
    if (this.family === 2) {
      for (const m of this.live) if (rng.chance(0.08)) m.topics = subset(rng, this.topics, 1);
    }
    for (let i = 0; i < joins && this.live.length < 12; i++) this.live.push(this.newMember());
    if (this.live.length === 0) this.live.push(this.newMember());
  }
}

// ---------------------------------------------------------------------------
// Checks

/** Member -> sorted "topic:p" list. */
function canonical(a: ReadonlyMap<string, readonly TP[]>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [m, tps] of a) {
    out.set(
      m,
      [...tps].sort((x, y) =>
        x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition
      ).map((tp) => `${tp.topic}:${tp.partition}`),
    );
  }
  return out;
}

function fromGroupAssignment(a: GroupAssignment): Map<string, TP[]> {
  const out = new Map<string, TP[]>();
  for (const [m, topics] of a) {
    const tps: TP[] = [];
    for (const [topic, ps] of topics) for (const partition of ps) tps.push({ topic, partition });
    out.set(m, tps);
  }
  return out;
}

function sameAssignment(a: Map<string, TP[]>, b: Map<string, TP[]>): boolean {
  const ca = canonical(a);
  const cb = canonical(b);
  if (ca.size !== cb.size) return false;
  for (const [m, tps] of ca) {
    const other = cb.get(m);
    if (other === undefined || other.join(" ") !== tps.join(" ")) return false;
  }
  return true;
}

/** Validity of an assignment of `input`; returns the problems found. */
function problems(input: Round, result: Map<string, TP[]>, keepsUnsubscribed = false): string[] {
  const out: string[] = [];
  const ids = input.members.map((m) => m.memberId);
  if (result.size !== ids.length || ids.some((id) => !result.has(id))) {
    out.push(`members ${[...result.keys()]} != ${ids}`);
    return out;
  }
  const count = (t: string) => input.partitions.get(t) ?? 0;
  const subscribed = new Map(input.members.map((m) => [m.memberId, new Set(m.topics)]));
  const claims = new Map(
    input.members.map((m) => [
      m.memberId,
      new Set(m.ownedPartitions.map((tp) => `${tp.topic}:${tp.partition}`)),
    ]),
  );
  const owner = new Map<string, string>();
  for (const [m, tps] of result) {
    for (const tp of tps) {
      const k = `${tp.topic}:${tp.partition}`;
      if (!subscribed.get(m)!.has(tp.topic) && !(keepsUnsubscribed && claims.get(m)!.has(k))) {
        out.push(`${m} got ${k} it does not subscribe to`);
      }
      if (tp.partition < 0 || tp.partition >= count(tp.topic)) out.push(`${m} got unknown ${k}`);
      if (owner.has(k)) out.push(`${k} given to ${owner.get(k)} and ${m}`);
      owner.set(k, m);
    }
  }
  // Unassigned partitions of subscribed topics: only withheld ones, which some member claims.
  const claimed = new Set(
    input.members.flatMap((m) => m.ownedPartitions.map((tp) => `${tp.topic}:${tp.partition}`)),
  );
  const withheld = new Map<string, number>();
  for (const t of new Set(input.members.flatMap((m) => m.topics))) {
    for (let p = 0; p < count(t); p++) {
      const k = `${t}:${p}`;
      if (owner.has(k)) continue;
      if (!claimed.has(k)) out.push(`${k} unassigned and claimed by nobody`);
      withheld.set(t, (withheld.get(t) ?? 0) + 1);
    }
  }
  // Balance before the cooperative adjustment, seen through it: a partition of A
  // could go to B (subscribed to its topic) only if count(A) <= count(B) + 1 + the
  // partitions withheld from B's topics (those B may be due to get next round).
  for (const [a, tps] of result) {
    for (const [b, btps] of result) {
      if (a === b) continue;
      const slack = [...subscribed.get(b)!].reduce((s, t) => s + (withheld.get(t) ?? 0), 0);
      if (tps.length <= btps.length + 1 + slack) continue;
      const movable = tps.find((tp) => subscribed.get(b)!.has(tp.topic));
      if (movable !== undefined) {
        out.push(
          `unbalanced: ${a} (${tps.length}) could give ${movable.topic}:${movable.partition} to ${b} (${btps.length}, slack ${slack})`,
        );
      }
    }
  }
  return out;
}

function describe(input: Round, java: JavaResult, ours: Map<string, TP[]> | string): string {
  const lines = [
    `group ${input.key} family ${input.family} metadata ${
      [...input.partitions].map(([t, n]) => `${t}=${n}`).join(" ")
    }`,
  ];
  for (const m of input.members) {
    lines.push(
      `  ${m.memberId} gen ${m.generationId} ud ${
        m.userData === null ? "null" : hex(m.userData)
      } ` +
        `topics ${m.topics.join(",")} owned ${tpList(m.ownedPartitions)}`,
    );
  }
  const show = (a: Map<string, TP[]>) =>
    [...canonical(a)].map(([m, tps]) => `${m}=[${tps.join(",")}]`).join(" ");
  lines.push(`  java: ${"error" in java ? java.error : show(java.assignment)}`);
  lines.push(`  ours: ${typeof ours === "string" ? ours : show(ours)}`);
  return lines.join("\n");
}

Deno.test({
  name: "cooperativeStickyAssign() gives Java's CooperativeStickyAssignor result on random groups",
  async fn() {
    const classpath = requireJava(["kafka-clients", "slf4j-api"]);
    const dir = Deno.makeTempDirSync({ prefix: "sluice-sticky-java-" });
    const java = new JavaAssignor(classpath, dir);
    try {
      const histories = Array.from({ length: GROUPS }, (_, i) => new GroupHistory(i));
      let active = histories;
      let rounds = 0;
      let equal1 = 0;
      let rounds1 = 0;
      let equal2 = 0;
      let rounds2 = 0;
      let invalid2 = 0;
      let javaKeeps = 0;
      let ownedRounds = 0;
      const failedGroups1 = new Set<number>();
      const mismatches: string[] = [];
      const invalid: string[] = [];
      const javaInvalid: string[] = [];
      while (active.length > 0) {
        const inputs = active.map((h) => h.input());
        const results = await java.run(inputs);
        active.forEach((h, i) => {
          const input = inputs[i];
          const jr = results.get(input.key);
          assert.ok(jr !== undefined, `no java result for ${input.key}`);
          rounds++;
          if (input.members.some((m) => m.ownedPartitions.length > 0)) ownedRounds++;
          let ours: Map<string, TP[]> | string;
          try {
            ours = fromGroupAssignment(cooperativeStickyAssign(input.members, input.partitions));
          } catch (e) {
            ours = `threw ${e}`;
          }
          if ("error" in jr) {
            javaInvalid.push(describe(input, jr, ours));
            return;
          }
          // Java's general path may leave a member a partition it owned of a topic it
          // no longer subscribes to (seen with stale or conflicting claims): allowed
          // for Java, counted.
          const javaProblems = problems(input, jr.assignment, true);
          if (problems(input, jr.assignment).length > javaProblems.length) javaKeeps++;
          if (javaProblems.length > 0) {
            javaInvalid.push(`${javaProblems.join("; ")}\n${describe(input, jr, ours)}`);
          }
          const same = typeof ours !== "string" && sameAssignment(jr.assignment, ours);
          if (input.family === 1) {
            rounds1++;
            if (same) equal1++;
            else {
              failedGroups1.add(h.index);
              mismatches.push(describe(input, jr, ours));
            }
          } else {
            rounds2++;
            if (same) equal2++;
          }
          const ourProblems = typeof ours === "string" ? [ours] : problems(input, ours);
          if (ourProblems.length > 0) {
            if (input.family === 2) invalid2++;
            invalid.push(`${ourProblems.join("; ")}\n${describe(input, jr, ours)}`);
          }
          h.advance(jr.assignment);
        });
        active = active.filter((h) => h.round < h.rounds);
      }
      console.log(
        `sticky vs Java: ${GROUPS} groups, ${rounds} assign() calls (${ownedRounds} with owned ` +
          `partitions); same subscriptions: ${equal1}/${rounds1} equal (${failedGroups1.size} ` +
          `groups differ); different subscriptions: ${equal2}/${rounds2} equal, ` +
          `${
            rounds2 - invalid2
          }/${rounds2} valid; Java kept unsubscribed partitions in ${javaKeeps}`,
      );
      assert.ok(
        javaInvalid.length === 0,
        `Java's own results fail the checks (harness problem) in ${javaInvalid.length} rounds:\n` +
          javaInvalid.slice(0, 3).join("\n"),
      );
      assert.ok(
        mismatches.length === 0,
        `${mismatches.length}/${rounds1} same-subscription rounds differ from Java; first ones:\n` +
          mismatches.slice(0, 4).join("\n"),
      );
      assert.ok(
        invalid.length === 0,
        `${invalid.length} invalid results of ours; first ones:\n${invalid.slice(0, 4).join("\n")}`,
      );
    } finally {
      await java.close().catch(() => {});
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
