import type { HeaderList } from "./header_list.ts";
import { headerListFromRaw } from "./_raw_header_list.ts";

/**
 * A parsed HTTP/1.x request head: request line, header fields and the
 * framing facts the parser derived from them.
 *
 * A head owns a copy of its bytes (as one string), so it stays valid after the
 * buffer it was parsed from is reused. Header name and value strings are cut
 * from that copy only when asked for.
 *
 * Heads come from {@linkcode RequestParser}: there is no public constructor.
 *
 * @example Reading a head
 * ```ts
 * import { RequestParser } from "@coroio/core/http1";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const parser = new RequestParser();
 * parser.feed(new TextEncoder().encode(
 *   "POST /items?page=2 HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\n",
 * ));
 * const head = parser.head!;
 * equal(head.method, "POST");
 * equal(head.path, "/items");
 * equal(head.query, "page=2");
 * equal(head.contentLength, 5);
 * equal(head.keepAlive, true);
 * equal(head.headers.get("host"), "example.com");
 * ```
 */
export class RequestHead {
  /** The method, e.g. `"GET"` (case-sensitive, as sent). */
  readonly method: string;
  /** The request-target as sent (origin, absolute, authority or asterisk form). */
  readonly target: string;
  /** The protocol version. */
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  /** The body length from Content-Length, or `-1` when absent (and when chunked). */
  readonly contentLength: number;
  /** Whether the body uses the chunked transfer coding. */
  readonly chunked: boolean;
  /** Whether the connection may serve another request after this one (version and Connection). */
  readonly keepAlive: boolean;
  /** Whether an HTTP/1.1 client sent `Expect: 100-continue` (any case). */
  readonly expectContinue: boolean;
  /**
   * The Upgrade value (repeated lines joined with `", "`) when Connection
   * lists the `upgrade` token in an HTTP/1.1 request, else `null`.
   */
  readonly upgrade: string | null;
  /** Bytes of the head from the request line through the final CRLFCRLF. */
  readonly headLength: number;
  /**
   * Whether an HTTP/1.1 request has an Expect field at all (an expectation
   * other than `100-continue` deserves 417).
   */
  readonly hasExpect: boolean;

  #raw: string;
  #offs: number[];
  #headers: HeaderList | null;
  #path: string | null;
  #query: string;

  /**
   * Creates a head from parsed parts; only {@linkcode RequestParser} does.
   *
   * @ignore
   * @param method The method.
   * @param target The request-target.
   * @param version The protocol version.
   * @param raw The head, one UTF-16 unit per byte, from the request line to the final CRLFCRLF.
   * @param offs Four offsets into `raw` per field line: name start, name end, value start, value end.
   * @param contentLength Content-Length or `-1`.
   * @param chunked Whether the body is chunked.
   * @param keepAlive Whether the connection stays open.
   * @param expectContinue Whether `Expect: 100-continue` was sent.
   * @param upgrade The Upgrade value when Connection asks to upgrade, else `null`.
   */
  constructor(
    method: string,
    target: string,
    version: "HTTP/1.0" | "HTTP/1.1",
    raw: string,
    offs: number[],
    contentLength: number,
    chunked: boolean,
    keepAlive: boolean,
    expectContinue: boolean,
    upgrade: string | null,
    hasExpect: boolean = expectContinue,
  ) {
    this.hasExpect = hasExpect;
    this.method = method;
    this.target = target;
    this.version = version;
    this.contentLength = contentLength;
    this.chunked = chunked;
    this.keepAlive = keepAlive;
    this.expectContinue = expectContinue;
    this.upgrade = upgrade;
    this.headLength = raw.length;
    this.#raw = raw;
    this.#offs = offs;
    this.#headers = null;
    this.#path = null;
    this.#query = "";
  }

  /**
   * The header fields (built on first access, then cached).
   *
   * @returns The field lines of the head.
   */
  get headers(): HeaderList {
    return this.#headers ??= headerListFromRaw(this.#raw, this.#offs);
  }

  /**
   * The path part of the target: without the query; for the absolute form
   * (`http://host/p?q`) the path after the authority (`"/"` if empty); for
   * the authority and asterisk forms the target itself.
   *
   * @returns The path.
   */
  get path(): string {
    if (this.#path === null) this.#split();
    return this.#path!;
  }

  /**
   * The query part of the target, after `?` and without it; `""` if none.
   *
   * @returns The query.
   */
  get query(): string {
    if (this.#path === null) this.#split();
    return this.#query;
  }

  #split(): void {
    const t = this.target;
    let start = 0;
    if (t.charCodeAt(0) !== 0x2f) {
      const scheme = t.indexOf("://");
      if (scheme < 0) {
        this.#path = t; // authority or asterisk form
        return;
      }
      start = scheme + 3;
      while (start < t.length) {
        const c = t.charCodeAt(start);
        if (c === 0x2f || c === 0x3f) break;
        start++;
      }
    }
    const q = t.indexOf("?", start);
    const end = q < 0 ? t.length : q;
    this.#path = end === start
      ? "/"
      : start === 0 && end === t.length
      ? t
      : t.substring(start, end);
    this.#query = q < 0 ? "" : t.substring(q + 1);
  }
}
