import type { RequestHead } from "./head.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";

/**
 * Serves requests: one object for every request, one method called per
 * request. Routers, middleware and applications implement it.
 *
 * The request and response objects are valid until the returned promise
 * settles (or, for a synchronous handler, until `handle` returns).
 *
 * @example A handler object
 * ```ts
 * import type { Handler, HttpRequest, HttpResponse } from "@coroio/http";
 *
 * class Hello implements Handler {
 *   handle(_req: HttpRequest, res: HttpResponse): void {
 *     res.send("hello\n");
 *   }
 * }
 * console.log(typeof new Hello().handle); // "function"
 * ```
 */
export interface Handler {
  /**
   * Handles one request. Respond through `res`: `send()` for a whole body,
   * `write()`/`end()` to stream, or `upgrade()` to hand the connection to an
   * {@linkcode UpgradeTarget}. Return a promise when the work is async.
   *
   * @param req The request.
   * @param res The response to write.
   */
  handle(req: HttpRequest, res: HttpResponse): void | Promise<void>;
}

/**
 * What an {@linkcode UpgradeTarget} receives: the connection and everything
 * the HTTP server knew about it. From then on the server neither reads,
 * writes nor closes `conn`; the target owns it and must close it.
 *
 * @example Shape
 * ```ts
 * import type { Takeover } from "@coroio/http";
 *
 * function leftover(t: Takeover): number {
 *   return t.head.byteLength;
 * }
 * console.log(typeof leftover);
 * ```
 */
export interface Takeover {
  /** The parsed request head that asked for the upgrade. */
  readonly request: RequestHead;
  /** The full request, with route parameters and the peer address. */
  readonly httpRequest: HttpRequest;
  /** The connection, now owned by the target. */
  readonly conn: Deno.Conn;
  /**
   * Every byte the server had read past the request head, in order (for
   * example WebSocket frames that arrived in the same TCP segment). May be
   * empty. The target must process these before reading `conn`.
   */
  readonly head: Uint8Array;
}

/**
 * An external protocol handler that takes a connection over after an
 * upgrade request (WebSocket, for instance). The HTTP package knows nothing
 * about the protocol: it matches a route, checks that the request asks for
 * `protocol` in its `Upgrade` header, flushes earlier responses, and hands
 * the connection over.
 *
 * @example A raw-bytes echo target
 * ```ts
 * import type { Takeover, UpgradeTarget } from "@coroio/http";
 *
 * class RawEcho implements UpgradeTarget {
 *   readonly protocol = "echo";
 *   async upgrade({ conn, head }: Takeover): Promise<void> {
 *     try {
 *       await conn.write(new TextEncoder().encode(
 *         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
 *       ));
 *       if (head.length > 0) await conn.write(head);
 *       const buf = new Uint8Array(4096);
 *       for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
 *     } finally {
 *       conn.close();
 *     }
 *   }
 * }
 * console.log(new RawEcho().protocol); // "echo"
 * ```
 */
export interface UpgradeTarget {
  /**
   * The protocol token this target serves, compared case-insensitively with
   * the request's `Upgrade` header (e.g. `"websocket"`). Requests to the
   * route that do not ask for it get `426 Upgrade Required` naming it.
   */
  readonly protocol: string;
  /**
   * Takes the connection over. The server awaits the returned promise only
   * to keep counting the connection as open (for limits and shutdown).
   *
   * @param takeover The connection, the request and the leftover bytes.
   */
  upgrade(takeover: Takeover): void | Promise<void>;
  /**
   * Graceful shutdown of the HTTP server began: finish the protocol on this
   * connection (for WebSocket, a close frame with 1001) and close it.
   *
   * @param conn A connection this target took over.
   */
  shutdown?(conn: Deno.Conn): void;
}

/** One request as an access logger sees it. */
export interface AccessLogEntry {
  /** Peer address (IP). */
  remoteAddr: string;
  /** When the request head was parsed. */
  time: Date;
  /** The request method. */
  method: string;
  /** The request target. */
  target: string;
  /** `HTTP/1.1` or `HTTP/1.0`. */
  version: string;
  /** Response status (101 for a takeover). */
  status: number;
  /** Response body bytes sent. */
  bytesSent: number;
  /** The `Referer` header, or `null`. */
  referer: string | null;
  /** The `User-Agent` header, or `null`. */
  userAgent: string | null;
  /** Milliseconds from head parsed to response done. */
  durationMs: number;
}

/**
 * Receives one entry per completed request (nginx-style access log). See
 * {@linkcode formatCombinedLog} for the combined format.
 *
 * @example A logger that keeps lines in memory
 * ```ts
 * import { type AccessLogEntry, type AccessLogger, formatCombinedLog } from "@coroio/http";
 *
 * class Lines implements AccessLogger {
 *   lines: string[] = [];
 *   log(entry: AccessLogEntry): void {
 *     this.lines.push(formatCombinedLog(entry));
 *   }
 * }
 * console.log(new Lines().lines.length); // 0
 * ```
 */
export interface AccessLogger {
  /**
   * Called once per completed request.
   *
   * @param entry What happened.
   */
  log(entry: AccessLogEntry): void;
}

/**
 * Formats an entry in nginx's `combined` log format:
 * `$remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"`.
 *
 * @param entry The entry.
 * @returns One line, without a newline.
 *
 * @example Usage
 * ```ts
 * import { formatCombinedLog } from "@coroio/http";
 * import { deepStrictEqual as assertEquals } from "node:assert/strict";
 *
 * const line = formatCombinedLog({
 *   remoteAddr: "127.0.0.1", time: new Date(Date.UTC(2026, 10, 26, 17, 0, 0)),
 *   method: "GET", target: "/", version: "HTTP/1.1", status: 200, bytesSent: 5,
 *   referer: null, userAgent: "curl/8", durationMs: 1,
 * });
 * assertEquals(line, '127.0.0.1 - - [26/Nov/2026:17:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"');
 * ```
 */
export function formatCombinedLog(entry: AccessLogEntry): string {
  const t = entry.time;
  const time = `${pad(t.getUTCDate())}/${MONTHS[t.getUTCMonth()]}/${t.getUTCFullYear()}:` +
    `${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())} +0000`;
  return `${entry.remoteAddr} - - [${time}] "${esc(entry.method)} ${
    esc(entry.target)
  } ${entry.version}" ` +
    `${entry.status} ${entry.bytesSent} "${esc(entry.referer ?? "-")}" "${
      esc(entry.userAgent ?? "-")
    }"`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

function esc(s: string): string {
  // As nginx does: escape quotes, backslashes and non-printable characters.
  let out = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x7f) {
      out += s.slice(from, i) + "\\x" + (c & 0xff).toString(16).padStart(2, "0");
      from = i + 1;
    }
  }
  return from === 0 ? s : out + s.slice(from);
}
