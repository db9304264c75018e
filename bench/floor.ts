// deno-lint-ignore-file no-console
/**
 * The platform's floor: the cheapest correct servers Deno allows on
 * `Deno.listen`, run by `bench/compare.ts` as one more competitor in every
 * scenario so each of ours reports its share of what the platform permits.
 *
 * ```sh
 * deno run -A bench/floor.ts --mode http --port 0   # HTTP: GET / hello, POST /echo, 404
 * deno run -A bench/floor.ts --mode ws --port 0     # WebSocket echo at any path
 * deno run -A bench/floor.ts --mode http --strict   # the same, plus what a strict server must do
 * ```
 *
 * Both print `listening on <scheme>://HOST:PORT` and run until killed. Per
 * connection: one buffer, one pending `conn.read` at a time, and for every
 * read one pass over the bytes that builds all the answers into one output
 * buffer, then one `conn.write` of it. No session object, no promise or
 * closure per request or message, no timers.
 *
 * - HTTP: finds each request head (`\r\n\r\n`), its path, `Content-Length`
 *   and `Connection: close`; answers `GET /` with a canned hello, `POST /echo`
 *   with the body, anything else with 404. Pipelined requests are answered in
 *   order, in one write. It understands what the benchmark sends and no more
 *   (no chunked bodies, no header validation): a floor, not a server.
 * - WebSocket: the handshake (the `Sec-WebSocket-Key` answer), then per
 *   frame: parse the header, copy the payload to the output after a
 *   rewritten (unmasked) header and unmask it there a 32-bit word at a time;
 *   ping gets a pong, close gets its close echoed and the connection closed.
 *   No UTF-8 validation, no reassembly of fragments (each frame is echoed as
 *   it came, which is still a valid echo of an unfragmented stream).
 *
 * With `--strict`, each mode adds the least a conformant server with a
 * handler API must do on top (a ladder step between the floor and ours, run
 * by `bench/compare.ts --servers strict`):
 *
 * - HTTP: every head is parsed by `@coroio/core/http1`'s `RequestParser`
 *   (every byte checked, framing from `Content-Length`/`Transfer-Encoding`,
 *   the method, target and head decoded to strings; a malformed head gets
 *   400 and close), and the answer is chosen from the parsed method and
 *   target. No router, request object, handler or response API.
 * - WebSocket: RFC 6455's checks (opcodes, control frames: FIN and at most
 *   125 bytes, continuation order, close payload), the payload unmasked in
 *   place, text checked for UTF-8 (ASCII a word at a time, `TextDecoder`
 *   with `fatal` otherwise, fragment by fragment; 1007 when invalid),
 *   fragments reassembled, then one call per message of a handler given a
 *   view of it, which sends it back (header written, bytes copied): what an
 *   API that lends a view costs at the least. The Autobahn suite's sections
 *   1-7, 9.1.1 and 10 report it 0 FAILED and 2 NON-STRICT (6.4.3 and 6.4.4:
 *   invalid UTF-8 inside one frame is found when the frame is complete, not
 *   as its bytes arrive).
 *
 * The read buffer starts at 1 KiB and doubles when a request or frame does not
 * fit, so the idle scenario measures what one pending
 * `conn.read` into a 1 KiB buffer on an idle connection costs: the idle-memory
 * floor.
 *
 * @module
 */
import { type RequestHead, RequestParser } from "@coroio/core/http1";
import { acceptKey } from "./_ws_frames.ts";

const INITIAL = 1024;
const MAX = 64 * 1024 * 1024;

const enc = new TextEncoder();
const LATIN1 = new TextDecoder("latin1");
const HELLO = enc.encode(
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n" +
    "Hello, World!\n",
);
const NOT_FOUND = enc.encode(
  "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\n\r\n" +
    "Not Found\n",
);
const BAD = enc.encode(
  "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
);
const ECHO_HEAD = enc.encode(
  "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ",
);
const CONTENT_LENGTH = enc.encode("content-length:");
const CONNECTION = enc.encode("connection:");
const CLOSE = enc.encode("close");
const ECHO_PATH = enc.encode("/echo");

/** `--strict`: add what a conformant server with a handler API must do (see above). */
const STRICT = Deno.args.includes("--strict");
const UTF8_FATAL = new TextDecoder("utf-8", { fatal: true });

function flag(name: string, fallback: string): string {
  const args = Deno.args;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) return args[i + 1] ?? fallback;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return fallback;
}

/** Whether `buf[at..]` starts with `lower`, ASCII case-insensitively. */
function startsWithCI(buf: Uint8Array, at: number, end: number, lower: Uint8Array): boolean {
  if (end - at < lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((buf[at + i]! | 0x20) !== lower[i]) return false;
  }
  return true;
}

/** Index of `\r\n\r\n` at or after `from` and before `end`, or -1. */
function headEnd(buf: Uint8Array, from: number, end: number): number {
  for (let i = buf.indexOf(13, from); i >= 0 && i + 3 < end; i = buf.indexOf(13, i + 1)) {
    if (buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/**
 * One connection: its buffers and its read-answer-write loop, driven by three
 * callbacks bound once per connection. No async function is suspended while
 * a connection waits: an idle one holds only its pending `conn.read`.
 */
class Conn {
  buf = new Uint8Array(INITIAL);
  len = 0;
  out = new Uint8Array(0);
  /** The same bytes as 32-bit words, for unmasking. */
  out32 = new Uint32Array(0);
  outLen = 0;
  written = 0;
  /** What the last pass consumed, and the size a partial request or frame needs. */
  consumed = 0;
  need = 0;
  closeAfter = false;
  /** `--strict` WebSocket: a DataView of `buf` (remade when `buf` is), and the fragmented message being reassembled. */
  view: DataView | null = null;
  viewOf: Uint8Array | null = null;
  fragOpcode = 0;
  frag: Uint8Array | null = null;
  fragLen = 0;
  fragText: TextDecoder | null = null;
  readonly #onRead: (n: number | null) => void;
  readonly #onWritten: (n: number) => void;
  readonly #onError: () => void;

  constructor(readonly conn: Deno.Conn, readonly pass: (c: Conn) => void) {
    this.#onRead = this.#read.bind(this);
    this.#onWritten = this.#wrote.bind(this);
    this.#onError = this.close.bind(this);
  }

  /** Ends a pass: `consumed` bytes used, `need` bytes wanted for what is pending. */
  stop(consumed: number, need: number): void {
    this.consumed = consumed;
    this.need = need;
  }

  /** Makes room for `n` more output bytes. */
  reserve(n: number): void {
    if (this.outLen + n <= this.out.length) return;
    let cap = Math.max(this.out.length * 2, INITIAL);
    while (cap < this.outLen + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.out.subarray(0, this.outLen));
    this.out = next;
    this.out32 = new Uint32Array(next.buffer);
  }

  put(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.out.set(bytes, this.outLen);
    this.outLen += bytes.length;
  }

  /** Drops `consumed` bytes from the front; grows the buffer when `need` bytes must fit. */
  compact(consumed: number, need: number): void {
    const rest = this.len - consumed;
    let cap = this.buf.length;
    if (rest === cap || need > cap) {
      while (cap < Math.max(need, rest + 1)) cap *= 2;
      if (cap > MAX) throw new RangeError(`Cannot buffer ${need} bytes: over ${MAX}`);
    }
    if (cap !== this.buf.length) {
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(consumed, this.len));
      this.buf = next;
    } else if (consumed > 0 && rest > 0) {
      this.buf.copyWithin(0, consumed, this.len);
    }
    this.len = rest;
  }

  /** Starts (or resumes) the loop: answer what is buffered, then read. */
  start(): void {
    this.consumed = this.need = 0;
    if (this.len > 0) this.pass(this);
    this.#answer();
  }

  close(): void {
    closeQuietly(this.conn);
  }

  #read(n: number | null): void {
    if (n === null) return this.close();
    this.len += n;
    this.pass(this);
    this.#answer();
  }

  #answer(): void {
    if (this.outLen > 0) {
      this.written = 0;
      this.conn.write(this.out.subarray(0, this.outLen)).then(this.#onWritten, this.#onError);
    } else {
      this.#next();
    }
  }

  #wrote(n: number): void {
    this.written += n;
    if (this.written < this.outLen) {
      this.conn.write(this.out.subarray(this.written, this.outLen)).then(
        this.#onWritten,
        this.#onError,
      );
      return;
    }
    this.outLen = 0;
    this.#next();
  }

  #next(): void {
    if (this.closeAfter) return this.close();
    try {
      this.compact(this.consumed, this.need);
    } catch {
      return this.close();
    }
    this.conn.read(this.buf.subarray(this.len)).then(this.#onRead, this.#onError);
  }
}

// ---------------------------------------------------------------- HTTP

/**
 * Answers every complete request in `c.buf`; returns bytes consumed and the
 * size a partial request needs (0 when none is pending).
 */
function httpPass(c: Conn): void {
  const b = c.buf;
  const end = c.len;
  let pos = 0;
  while (pos < end) {
    const he = headEnd(b, pos, end);
    if (he < 0) return c.stop(pos, end - pos + 1);
    const sp = b.indexOf(32, pos);
    const sp2 = sp < 0 || sp >= he ? -1 : b.indexOf(32, sp + 1);
    if (sp2 < 0 || sp2 > he) {
      c.put(BAD);
      c.closeAfter = true;
      return c.stop(end, 0);
    }
    let contentLength = 0;
    let close = false;
    for (let line = b.indexOf(10, pos) + 1; line > 0 && line < he; line = b.indexOf(10, line) + 1) {
      const first = b[line]! | 0x20;
      if (first === 0x63 /* c */) {
        if (startsWithCI(b, line, he, CONTENT_LENGTH)) {
          let i = line + CONTENT_LENGTH.length;
          while (b[i] === 32) i++;
          for (let d = b[i]!; d >= 48 && d <= 57; d = b[++i]!) {
            contentLength = contentLength * 10 + d - 48;
          }
        } else if (startsWithCI(b, line, he, CONNECTION)) {
          let i = line + CONNECTION.length;
          while (b[i] === 32) i++;
          if (startsWithCI(b, i, he, CLOSE)) close = true;
        }
      }
    }
    const bodyStart = he + 4;
    const next = bodyStart + contentLength;
    if (next > end) return c.stop(pos, next - pos);
    if (close) c.closeAfter = true;
    const pathLen = sp2 - sp - 1;
    if (b[pos] === 71 /* G */ && pathLen === 1 && b[sp + 1] === 47 /* / */) {
      c.put(HELLO);
    } else if (
      b[pos] === 80 /* P */ && pathLen === 5 && startsWithCI(b, sp + 1, sp2, ECHO_PATH)
    ) {
      putEcho(c, b, bodyStart, next);
    } else {
      c.put(NOT_FOUND);
    }
    pos = next;
    if (c.closeAfter) return c.stop(end, 0);
  }
  return c.stop(pos, 0);
}

/** The parser of `--strict` (one per process: a pass parses one head at a time). */
const parser = new RequestParser();

/**
 * `httpPass` with every head parsed by the strict parser: framing and the
 * answer come from the parsed head; a malformed head gets 400 and close.
 */
function httpStrictPass(c: Conn): void {
  const b = c.buf;
  const end = c.len;
  let pos = 0;
  while (pos < end) {
    // The parser finds the end of the head itself (no separate scan for it);
    // an incomplete head is parsed again from its start after the next read.
    parser.reset();
    let used = 0;
    let head: RequestHead | null = null;
    let bad = false;
    try {
      used = parser.feed(b, pos, end);
      head = parser.head;
    } catch {
      bad = true;
    }
    if (head === null && !bad) return c.stop(pos, end - pos + 1);
    if (head === null || head.chunked) { // (the benchmark sends no chunked bodies)
      c.put(BAD);
      c.closeAfter = true;
      return c.stop(end, 0);
    }
    const contentLength = head.contentLength < 0 ? 0 : head.contentLength;
    const bodyStart = pos + used;
    const next = bodyStart + contentLength;
    if (next > end) return c.stop(pos, next - pos);
    if (!head.keepAlive) c.closeAfter = true;
    if (head.method === "GET" && head.target === "/") {
      c.put(HELLO);
    } else if (head.method === "POST" && head.target === "/echo") {
      putEcho(c, b, bodyStart, next);
    } else {
      c.put(NOT_FOUND);
    }
    pos = next;
    if (c.closeAfter) return c.stop(end, 0);
  }
  return c.stop(pos, 0);
}

/** Answers with `b[bodyStart, next)` as an octet-stream body. */
function putEcho(c: Conn, b: Uint8Array, bodyStart: number, next: number): void {
  const contentLength = next - bodyStart;
  c.put(ECHO_HEAD);
  c.reserve(24 + contentLength);
  const digits = String(contentLength);
  for (let i = 0; i < digits.length; i++) c.out[c.outLen++] = digits.charCodeAt(i);
  c.out[c.outLen++] = 13;
  c.out[c.outLen++] = 10;
  c.out[c.outLen++] = 13;
  c.out[c.outLen++] = 10;
  c.out.set(b.subarray(bodyStart, next), c.outLen);
  c.outLen += contentLength;
}

function serveHttp(conn: Deno.Conn): void {
  new Conn(conn, STRICT ? httpStrictPass : httpPass).start();
}

// ---------------------------------------------------------------- WebSocket

/** Answers the handshake; returns false when the connection ended or was refused. */
async function wsHandshake(c: Conn): Promise<boolean> {
  let he = -1;
  while ((he = headEnd(c.buf, 0, c.len)) < 0) {
    if (c.len === c.buf.length) c.compact(0, c.len * 2);
    const n = await c.conn.read(c.buf.subarray(c.len));
    if (n === null) return false;
    c.len += n;
  }
  const head = LATIN1.decode(c.buf.subarray(0, he));
  const key = /\r\nsec-websocket-key:[ \t]*([^\r\n \t]+)/i.exec(head)?.[1];
  if (key === undefined || !/\r\nupgrade:[ \t]*websocket/i.test(head)) {
    await writeAll(c.conn, BAD);
    return false;
  }
  await writeAll(
    c.conn,
    enc.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${await acceptKey(key)}\r\n\r\n`,
    ),
  );
  c.compact(he + 4, 0);
  return true;
}

/** Copies `n` masked bytes from `src[p..]` to `out[q..]` and unmasks them there. */
function unmaskInto(
  out: Uint8Array,
  out32: Uint32Array,
  q: number,
  src: Uint8Array,
  p: number,
  n: number,
  m: number,
): void {
  out.set(src.subarray(p, p + n), q);
  let i = 0;
  // Bytes up to the first 4-byte-aligned output position, then whole words, then the tail.
  for (; i < n && ((q + i) & 3) !== 0; i++) out[q + i]! ^= src[m + (i & 3)]!;
  if (n - i >= 4) {
    const k = i & 3;
    const word = (src[m + k]! | (src[m + ((k + 1) & 3)]! << 8) |
      (src[m + ((k + 2) & 3)]! << 16) | (src[m + ((k + 3) & 3)]! << 24)) >>> 0;
    const from = (q + i) >>> 2;
    const to = from + ((n - i) >>> 2);
    for (let w = from; w < to; w++) out32[w]! ^= word;
    i += (to - from) << 2;
  }
  for (; i < n; i++) out[q + i]! ^= src[m + (i & 3)]!;
}

/** The length of the frame header at `b[pos]` without its mask key: 2, 4 or 10. */
function headerLength(b: Uint8Array, pos: number, end: number): number {
  const n = end - pos >= 2 ? b[pos + 1]! & 0x7f : 0;
  return n === 126 ? 4 : n === 127 ? 10 : 2;
}

/** The payload length of the frame at `b[pos]` whose header is `hl` bytes (mask key not counted). */
function payloadLength(b: Uint8Array, pos: number, hl: number): number {
  if (hl === 2) return b[pos + 1]! & 0x7f;
  if (hl === 4) return (b[pos + 2]! << 8) | b[pos + 3]!;
  return b[pos + 6]! * 0x1000000 + ((b[pos + 7]! << 16) | (b[pos + 8]! << 8) | b[pos + 9]!);
}

/**
 * Echoes every complete frame in `c.buf`; returns bytes consumed and the
 * size a partial frame needs (0 when none is pending). Sets `closeAfter` on
 * a close frame or a protocol error.
 */
function wsPass(c: Conn): void {
  const b = c.buf;
  const end = c.len;
  let pos = 0;
  while (end - pos >= 2) {
    const hl = headerLength(b, pos, end);
    if (hl > end - pos) return c.stop(pos, hl);
    const b0 = b[pos]!;
    const b1 = b[pos + 1]!;
    const len = payloadLength(b, pos, hl);
    if ((b1 & 0x80) === 0 || (b0 & 0x70) !== 0 || len > MAX) {
      // Unmasked client frame, reserved bits or too large: close with 1002.
      c.put(new Uint8Array([0x88, 2, 0x03, 0xea]));
      c.closeAfter = true;
      return c.stop(end, 0);
    }
    const frame = hl + 4 + len;
    if (end - pos < frame) return c.stop(pos, frame);
    const opcode = b0 & 0x0f;
    if (opcode !== 0xa) { // a pong from the client gets no answer
      // ping -> pong; others as they came
      const q = putHeader(c, opcode === 0x9 ? 0x8a : b0, len);
      unmaskInto(c.out, c.out32, q, b, pos + hl + 4, len, pos + hl);
      c.outLen = q + len;
    }
    pos += frame;
    if (opcode === 0x8) {
      c.closeAfter = true;
      return c.stop(end, 0);
    }
  }
  return c.stop(pos, end - pos >= 2 ? 0 : 2);
}

// ---------------------------------------------------------------- WebSocket, --strict

/** What `--strict` calls once per message: given a view of it, valid during the call. */
class EchoHandler {
  message(c: Conn, opcode: number, data: Uint8Array): void {
    putFrame(c, 0x80 | opcode, data);
  }
}
const handler = new EchoHandler();

/**
 * Writes an unmasked frame header for a `len`-byte payload at the end of
 * the output, with room for the payload; returns where the payload goes.
 */
function putHeader(c: Conn, b0: number, len: number): number {
  const ohl = len < 126 ? 2 : len < 65536 ? 4 : 10;
  c.reserve(ohl + len);
  const o = c.out;
  const q = c.outLen;
  o[q] = b0;
  if (ohl === 2) o[q + 1] = len;
  else if (ohl === 4) {
    o[q + 1] = 126;
    o[q + 2] = len >>> 8;
    o[q + 3] = len & 0xff;
  } else {
    o[q + 1] = 127;
    o[q + 2] =
      o[q + 3] =
      o[q + 4] =
      o[q + 5] =
        0;
    o[q + 6] = (len / 0x1000000) >>> 0;
    o[q + 7] = (len >>> 16) & 0xff;
    o[q + 8] = (len >>> 8) & 0xff;
    o[q + 9] = len & 0xff;
  }
  return q + ohl;
}

/** Stages an unmasked frame: header, then `data` copied. */
function putFrame(c: Conn, b0: number, data: Uint8Array): void {
  const q = putHeader(c, b0, data.length);
  c.out.set(data, q);
  c.outLen = q + data.length;
}

/** Fails the connection: a close frame with `code`, then close. */
function failWs(c: Conn, code: number): void {
  putFrame(c, 0x88, new Uint8Array([code >>> 8, code & 0xff]));
  c.closeAfter = true;
  c.stop(c.len, 0);
}

/**
 * Unmasks `buf[s, s + n)` in place with the key at `buf[m, m + 4)`, four bytes
 * at a time through a DataView; returns the OR of the unmasked bytes' words
 * (a set bit 7 of any byte means not ASCII).
 */
function unmaskInPlace(c: Conn, s: number, n: number, m: number): number {
  const b = c.buf;
  const dv = c.viewOf === b
    ? c.view!
    : (c.viewOf = b, c.view = new DataView(b.buffer, b.byteOffset));
  const key = dv.getInt32(m, true);
  const e = s + n;
  let or = 0;
  let i = s;
  for (const e4 = e - (n & 3); i < e4; i += 4) {
    const w = dv.getInt32(i, true) ^ key;
    dv.setInt32(i, w, true);
    or |= w;
  }
  for (; i < e; i++) {
    const x = b[i]! ^ b[m + ((i - s) & 3)]!;
    b[i] = x;
    or |= x;
  }
  return or;
}

function validUtf8(data: Uint8Array): boolean {
  try {
    UTF8_FATAL.decode(data);
    return true;
  } catch {
    return false;
  }
}

/** A close code a peer may send (RFC 6455 7.4). */
function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
    (code >= 3000 && code <= 4999);
}

/**
 * `wsPass` with RFC 6455's checks, text validated as UTF-8, fragments
 * reassembled, and each whole message given to the handler as a view.
 */
function wsStrictPass(c: Conn): void {
  const b = c.buf;
  const end = c.len;
  let pos = 0;
  while (end - pos >= 2) {
    const hl = headerLength(b, pos, end);
    if (hl > end - pos) return c.stop(pos, hl);
    const b0 = b[pos]!;
    const b1 = b[pos + 1]!;
    const len = payloadLength(b, pos, hl);
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const control = opcode >= 8;
    if (
      (b1 & 0x80) === 0 || (b0 & 0x70) !== 0 || (opcode > 2 && opcode < 8) || opcode > 10 ||
      (control && (!fin || len > 125)) ||
      (opcode === 0 && c.frag === null) || (opcode !== 0 && !control && c.frag !== null)
    ) {
      return failWs(c, 1002);
    }
    if (len > MAX) return failWs(c, 1009);
    const frame = hl + 4 + len;
    if (end - pos < frame) return c.stop(pos, frame);
    const s = pos + hl + 4;
    const or = unmaskInPlace(c, s, len, pos + hl);
    pos += frame;
    if (control) {
      if (opcode === 0x9) putFrame(c, 0x8a, b.subarray(s, s + len));
      else if (opcode === 0x8) {
        const code = len >= 2 ? (b[s]! << 8) | b[s + 1]! : 0;
        if (len === 1 || (len >= 2 && !validCloseCode(code))) return failWs(c, 1002);
        if (len > 2 && !validUtf8(b.subarray(s + 2, s + len))) return failWs(c, 1007);
        putFrame(c, 0x88, b.subarray(s, s + len));
        c.closeAfter = true;
        return c.stop(end, 0);
      }
      continue;
    }
    if (!fin || opcode === 0) {
      // A fragment: collected until the final one.
      if (opcode !== 0) {
        c.fragOpcode = opcode;
        c.frag = new Uint8Array(Math.max(INITIAL, len));
        c.fragLen = 0;
        c.fragText = opcode === 1 ? new TextDecoder("utf-8", { fatal: true }) : null;
      }
      // Text is checked fragment by fragment, so invalid UTF-8 fails at once.
      if (c.fragText !== null) {
        try {
          c.fragText.decode(b.subarray(s, s + len), { stream: !fin });
        } catch {
          return failWs(c, 1007);
        }
      }
      if (c.fragLen + len > MAX) return failWs(c, 1009);
      if (c.fragLen + len > c.frag!.length) {
        const next = new Uint8Array(Math.max(c.fragLen + len, c.frag!.length * 2));
        next.set(c.frag!.subarray(0, c.fragLen));
        c.frag = next;
      }
      c.frag!.set(b.subarray(s, s + len), c.fragLen);
      c.fragLen += len;
      if (!fin) continue;
      const whole = c.frag!.subarray(0, c.fragLen);
      const op = c.fragOpcode;
      c.frag = null;
      handler.message(c, op, whole);
      continue;
    }
    const data = b.subarray(s, s + len);
    if (opcode === 1 && (or & 0x80808080) !== 0 && !validUtf8(data)) return failWs(c, 1007);
    handler.message(c, opcode, data);
  }
  return c.stop(pos, end - pos >= 2 ? 0 : 2);
}

/** The handshake (once per connection, an async function), then the callback loop. */
async function serveWs(conn: Deno.Conn): Promise<void> {
  const c = new Conn(conn, STRICT ? wsStrictPass : wsPass);
  try {
    if (await wsHandshake(c)) {
      c.start();
      return;
    }
  } catch {
    // The client went away.
  }
  c.close();
}

// ---------------------------------------------------------------- main

if (import.meta.main) {
  const mode = flag("mode", "http");
  if (mode !== "http" && mode !== "ws") {
    console.error(`Cannot start: --mode must be http or ws, not "${mode}"`);
    Deno.exit(2);
  }
  const listener = Deno.listen({
    hostname: flag("hostname", "127.0.0.1"),
    port: Number(flag("port", "0")),
  });
  const serve = mode === "http" ? serveHttp : serveWs;
  // Exit normally on SIGTERM, so that `--cpu-prof` writes its profile (bench/profile.ts).
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  if (STRICT) console.error("floor: --strict (a conformant server's least work added)");
  console.log(`listening on ${mode}://${listener.addr.hostname}:${listener.addr.port}`);
  for await (const conn of listener) serve(conn);
}
