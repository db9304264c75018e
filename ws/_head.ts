// A strict, minimal HTTP/1.1 head parser for the WebSocket opening
// handshake (request on the server side, response on the client side). It is
// not a general HTTP parser: bodies, obs-fold and lenient forms are refused.

/** A parsed head: the start line and the header fields in order. */
export interface Head {
  /** The start line (request line or status line). */
  line: string;
  /** `[lowercased name, value]` pairs, values trimmed of SP/HTAB. */
  fields: [string, string][];
}

const FIELD = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*(.*?)[ \t]*$/;
// deno-lint-ignore no-control-regex
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const MAX_FIELDS = 100;
const latin1 = new TextDecoder("latin1");

/**
 * Parses `bytes`, which must end with the empty line (CRLF CRLF). Returns
 * the head, or a message saying what is wrong.
 */
export function parseHead(bytes: Uint8Array): Head | string {
  // One native call; bytes 0x80-0x9F map as windows-1252, which only
  // matters inside header values (opaque here).
  const s = latin1.decode(bytes);
  if (!s.endsWith("\r\n\r\n")) return "head does not end with an empty line";
  const lines = s.slice(0, -4).split("\r\n");
  const fields: [string, string][] = [];
  for (const l of lines) {
    if (l.includes("\r") || l.includes("\n")) return "bare CR or LF in the head";
  }
  const line = lines[0]!;
  if (lines.length - 1 > MAX_FIELDS) return `more than ${MAX_FIELDS} header fields`;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const m = FIELD.exec(l);
    if (m === null) {
      if (l.startsWith(" ") || l.startsWith("\t")) return "obsolete line folding";
      return `malformed header field line ${JSON.stringify(l.slice(0, 40))}`;
    }
    const value = m[2]!;
    if (BAD_VALUE.test(value)) return `control character in header ${m[1]}`;
    fields.push([m[1]!.toLowerCase(), value]);
  }
  return { line, fields };
}

/** All values of a field, in order. */
export function fieldValues(head: Head, name: string): string[] {
  const out: string[] = [];
  for (const [n, v] of head.fields) if (n === name) out.push(v);
  return out;
}

/** Splits comma-separated field values into trimmed, non-empty tokens. */
export function tokens(values: string[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    for (const t of v.split(",")) {
      const x = t.trim();
      if (x !== "") out.push(x);
    }
  }
  return out;
}

/** Whether a comma-separated list contains `token`, case-insensitively. */
export function hasToken(values: string[], token: string): boolean {
  for (const t of tokens(values)) if (t.toLowerCase() === token) return true;
  return false;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Whether `s` is an HTTP token (RFC 9110 section 5.6.2). */
export function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** Writes all of `bytes` to `conn`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Closes the conn when its deadline expires (handshake timeouts). */
export class CloseOnExpire {
  conn: Deno.Conn;
  expired = false;
  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }
  expire(): void {
    this.expired = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}
