/**
 * Helpers for the tests against the secured broker that `scripts/kafka.sh
 * start --secure` starts (`scripts/test.sh` starts one as `testsecure` and
 * exports `KAFKA_SECURE_CONFIG`, the path of its `secure.json`). Without it
 * the helpers throw: the tests fail, never skip.
 *
 * @module
 */

import { Secret } from "../src/net/secret.ts";
import type { ConsumerOptions, TlsOptions } from "../src/config.ts";
import { fastOptions, newTopic, produceValues, values } from "./_consumer_helpers.ts";

/** The description `scripts/kafka/secure.sh` writes. */
export interface SecureConfig {
  /** `host:port` per listener name. */
  listeners: {
    PLAINTEXT: string;
    SSL: string;
    MTLS: string;
    SASL_SSL: string;
    SASL_PLAINTEXT: string;
    REAUTH: string;
  };
  /** Path of the CA certificate (PEM) that signed the broker's certificate. */
  caCert: string;
  /** Path of a CA certificate that signed nothing of this broker. */
  untrustedCaCert: string;
  /** Path of the client certificate (PEM) for mutual TLS. */
  clientCert: string;
  /** Path of its private key (PEM). */
  clientKey: string;
  /** Passwords by user name (PLAIN and SCRAM). */
  users: { admin: string; alice: string };
  /** alice may read topics and groups whose names start with this. */
  allowedPrefix: string;
  /** connections.max.reauth.ms of the REAUTH listener. */
  reauthMs: number;
}

let cached: SecureConfig | undefined;

/** The secured broker's description; throws (the test fails) when there is none. */
export function secureConfig(): SecureConfig {
  if (cached) return cached;
  const path = Deno.env.get("KAFKA_SECURE_CONFIG");
  if (!path) {
    throw new Error(
      "KAFKA_SECURE_CONFIG is not set: run the tests with `deno task test` (it starts the " +
        "secured broker), or start one with `bash scripts/kafka.sh start --name NAME --secure` " +
        "and export KAFKA_SECURE_CONFIG=$SLUICE_RUN/NAME/secure.json",
    );
  }
  cached = JSON.parse(Deno.readTextFileSync(path)) as SecureConfig;
  return cached;
}

/** The CA certificate that signed the broker's certificate. */
export function caCert(): string {
  return Deno.readTextFileSync(secureConfig().caCert);
}

/** TLS options trusting the test CA; with the client certificate when `mutual`. */
export function tlsOptions(mutual = false): TlsOptions {
  const c = secureConfig();
  const tls: TlsOptions = { caCerts: [caCert()] };
  if (mutual) {
    tls.cert = Deno.readTextFileSync(c.clientCert);
    tls.key = new Secret(Deno.readTextFileSync(c.clientKey));
  }
  return tls;
}

function b64url(s: string): string {
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");
}

/**
 * An unsecured JWS (`alg: none`) as Kafka's unsecured OAUTHBEARER validator
 * accepts: `sub` is the principal; it expires in `lifetimeMs`.
 */
export function unsecuredJwt(sub: string, lifetimeMs = 3_600_000): string {
  const now = Date.now();
  const header = b64url(JSON.stringify({ alg: "none" }));
  const claims = b64url(JSON.stringify({
    sub,
    iat: Math.floor(now / 1000),
    exp: Math.floor((now + lifetimeMs) / 1000),
  }));
  return `${header}.${claims}.`;
}

/** A topic alice may read, with `count` records produced to partition 0. */
export async function aliceTopic(count: number, tag = "t"): Promise<string> {
  const c = secureConfig();
  const topic = await newTopic(`${c.allowedPrefix}${tag}`, 1, {
    bootstrap: c.listeners.PLAINTEXT,
  });
  if (count > 0) {
    await produceValues(topic, 0, values("v", count), { bootstrap: c.listeners.PLAINTEXT });
  }
  return topic;
}

/** A topic alice may not read (not under her prefix), with a few records. */
export async function deniedTopic(): Promise<string> {
  const c = secureConfig();
  const topic = await newTopic("secret-t", 1, { bootstrap: c.listeners.PLAINTEXT });
  await produceValues(topic, 0, values("v", 3), { bootstrap: c.listeners.PLAINTEXT });
  return topic;
}

/** {@linkcode fastOptions} on a listener of the secured broker. */
export function securedOptions(
  listener: keyof SecureConfig["listeners"],
  extra: Partial<ConsumerOptions>,
): ConsumerOptions {
  return fastOptions({ brokers: [secureConfig().listeners[listener]], ...extra });
}

/**
 * A TCP proxy in front of `target` that counts the connections it accepted
 * (bytes pass through untouched, TLS included).
 */
export class CountingProxy {
  readonly #listener: Deno.TcpListener;
  readonly #target: { hostname: string; port: number };
  readonly #conns = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  /** Connections accepted so far. */
  accepted = 0;

  /** Starts proxying to `target` (`host:port`). */
  constructor(target: string) {
    const [hostname, port] = target.split(":");
    this.#target = { hostname, port: Number(port) };
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** `127.0.0.1:port` of the proxy. */
  get address(): string {
    return `127.0.0.1:${this.#listener.addr.port}`;
  }

  async #accept(): Promise<void> {
    try {
      for await (const client of this.#listener) {
        this.accepted++;
        const task = this.#serve(client);
        this.#tasks.add(task);
        task.finally(() => this.#tasks.delete(task));
      }
    } catch {
      // listener closed
    }
  }

  async #serve(client: Deno.Conn): Promise<void> {
    this.#conns.add(client);
    let upstream: Deno.Conn;
    try {
      upstream = await Deno.connect(this.#target);
    } catch {
      this.#close(client);
      return;
    }
    this.#conns.add(upstream);
    const pipe = async (from: Deno.Conn, to: Deno.Conn) => {
      const buf = new Uint8Array(64 * 1024);
      try {
        while (true) {
          const n = await from.read(buf);
          if (n === null) break;
          let off = 0;
          while (off < n) off += await to.write(buf.subarray(off, n));
        }
      } catch {
        // either side closed
      }
      this.#close(from);
      this.#close(to);
    };
    await Promise.all([pipe(client, upstream), pipe(upstream, client)]);
  }

  #close(c: Deno.Conn): void {
    if (!this.#conns.delete(c)) return;
    try {
      c.close();
    } catch {
      // already closed
    }
  }

  /** Stops listening and closes every proxied connection. */
  async close(): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const c of [...this.#conns]) this.#close(c);
    await Promise.all([...this.#tasks]);
  }
}
