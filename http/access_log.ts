/**
 * One response as an access logger sees it. Every response the server
 * sends gets one: a handler's, the server's own refusals (400, 408, 413,
 * 431...), and for a takeover what the upgrade target answered. When the
 * request head could not be parsed (a malformed head, a timeout, the
 * client leaving mid-head), `method`, `target` and `version` are `""`.
 */
export interface AccessLogEntry {
  /** Peer address (IP). */
  remoteAddr: string;
  /** When the request head was parsed (or, without a head, when the server answered). */
  time: Date;
  /** The request method, or `""` without a parsed head. */
  method: string;
  /** The request target, or `""` without a parsed head. */
  target: string;
  /** `HTTP/1.1` or `HTTP/1.0`, or `""` without a parsed head. */
  version: string;
  /**
   * Response status. For a takeover: 101 when the upgrade target switched
   * protocols, its refusal's status when it reported one
   * ({@linkcode Takeover.answered}), 0 when it refused without saying.
   */
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
 * Receives one entry per response (nginx-style access log). See
 * {@linkcode formatCombinedLog} for the combined format.
 *
 * @example A logger that keeps lines in memory
 * ```ts
 * import {
 *   type AccessLogEntry,
 *   type AccessLogger,
 *   formatCombinedLog,
 *   type HttpRequest,
 *   type HttpResponse,
 *   HttpServer,
 * } from "@coroio/http";
 * import { match, strictEqual as equal } from "node:assert/strict";
 *
 * class Lines implements AccessLogger {
 *   lines: string[] = [];
 *   log(entry: AccessLogEntry): void {
 *     this.lines.push(formatCombinedLog(entry));
 *   }
 * }
 * const logger = new Lines();
 * const hello = { handle: (_req: HttpRequest, res: HttpResponse) => res.send("hi") };
 * const server = new HttpServer(hello, { port: 0, logger });
 * const { port } = server.listen();
 * await (await fetch(`http://127.0.0.1:${port}/page`)).text();
 * await server.shutdown();
 * equal(logger.lines.length, 1);
 * match(logger.lines[0]!, /^127\.0\.0\.1 - - \[.+\] "GET \/page HTTP\/1\.1" 200 2 /);
 * ```
 */
export interface AccessLogger {
  /**
   * Called once per response.
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
  // Without a parsed head, nginx logs the request line as "-" too.
  const request = entry.method === ""
    ? "-"
    : `${esc(entry.method)} ${esc(entry.target)} ${entry.version}`;
  return `${entry.remoteAddr} - - [${time}] "${request}" ` +
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
