/**
 * TLS to a broker through `Deno.connectTls`: the broker's certificate is
 * verified against the system roots plus `caCerts`, for the host name (or
 * address) the client connects to, which is the broker's advertised host.
 * With `cert` and `key` the client presents a certificate (mutual TLS).
 *
 * Certificate problems become a {@linkcode TlsError} (not retriable) whose
 * message says what to check; other failures stay connection errors.
 *
 * @module
 */

import { ConnectionError, TlsError } from "./errors.ts";
import type { Secret } from "./secret.ts";

/** Resolved TLS settings of a connection (see the `tls` consumer option). */
export interface TlsConfig {
  /** PEM certificates trusted besides the system roots. */
  caCerts?: string[];
  /** PEM client certificate chain (mutual TLS). */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: Secret;
}

/**
 * Opens a TCP connection and completes the TLS handshake, so that
 * certificate errors surface here rather than on the first request.
 */
export async function connectTls(
  host: string,
  port: number,
  tls: TlsConfig,
): Promise<Deno.TlsConn> {
  const broker = `${host}:${port}`;
  const base: Deno.ConnectTlsOptions = { hostname: host, port, caCerts: tls.caCerts };
  let conn: Deno.TlsConn;
  try {
    conn = tls.cert !== undefined && tls.key !== undefined
      ? await Deno.connectTls({ ...base, cert: tls.cert, key: tls.key.reveal() })
      : await Deno.connectTls(base);
  } catch (e) {
    throw classifyTlsError(broker, e);
  }
  try {
    await conn.handshake();
  } catch (e) {
    try {
      conn.close();
    } catch {
      // already closed
    }
    if (e instanceof Deno.errors.UnexpectedEof || /end of file/i.test(String(e))) {
      throw new ConnectionError(
        broker,
        "closed during the TLS handshake (is this a TLS listener? without TLS, leave out the tls option)",
        { cause: e },
      );
    }
    throw classifyTlsError(broker, e);
  }
  return conn;
}

/**
 * A {@linkcode TlsError} for certificate and handshake refusals, else a
 * {@linkcode ConnectionError} (refused, reset: worth retrying).
 */
export function classifyTlsError(broker: string, e: unknown): TlsError | ConnectionError {
  const message = e instanceof Error ? e.message : String(e);
  if (isTlsFailure(e)) return new TlsError(broker, message, { cause: e });
  if (e instanceof Deno.errors.ConnectionRefused) {
    return new ConnectionError(broker, "connection refused", { cause: e });
  }
  return new ConnectionError(broker, message, { cause: e });
}

/** True for errors of the TLS layer itself (certificates, alerts, bad records). */
export function isTlsFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  const m = e.message.toLowerCase();
  return m.includes("certificate") || m.includes("alert") || m.includes("tls") ||
    m.includes("handshake") || m.includes("corrupt message") || m.includes("invalid peer");
}
