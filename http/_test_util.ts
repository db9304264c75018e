// Helpers for the http tests: raw-socket helpers for the server tests (a
// tiny, strict HTTP response reader so tests see exactly what went over the
// wire), and an in-memory exchange for the unit tests of the router, the
// request and the response (no socket: a request head, body bytes in
// chunks, the response bytes recorded).
import { BufReader, BufWriter, Deadlines, type Expirable } from "@coroio/core";
import { ChunkedDecoder, RequestParser } from "@coroio/core/http1";
import {
  ChunkReader,
  dec,
  enc,
  ManualClock,
  RecordingWriter,
  withTimeout,
} from "../core/_test_util.ts";
export { withTimeout };
import type { BodyHost, ResponseHost } from "./_hosts.ts";
import { HttpRequest, RequestBody } from "./request.ts";
import { HttpResponse } from "./response.ts";
import type { Handler } from "./handler.ts";
import { HttpServer, type HttpServerInit } from "./server.ts";

export { concat, dec, enc } from "../core/_test_util.ts";

/** The connection side of an in-memory exchange: body bytes in, response bytes out. */
export class MemoryHost implements BodyHost, ResponseHost {
  readonly reader: BufReader;
  readonly writer: BufWriter;
  readonly out: RecordingWriter = new RecordingWriter();
  /** What `closeAfterResponse()` answers. */
  closeAfter = false;
  continues = 0;
  fills = 0;
  #decoder = new ChunkedDecoder();
  constructor(body: Uint8Array[]) {
    this.reader = new BufReader(new ChunkReader(body), { initialSize: 16 });
    this.writer = new BufWriter(this.out);
  }
  continueIfExpected(): Promise<void> {
    this.continues++;
    return Promise.resolve();
  }
  chunkedDecoder(): ChunkedDecoder {
    return this.#decoder;
  }
  fillBody(minFree = 1): Promise<number | null> {
    this.fills++;
    return this.reader.fill(minFree);
  }
  closeAfterResponse(): boolean {
    return this.closeAfter;
  }
  flush(): Promise<void> {
    return this.writer.flush();
  }
  /** Everything the response wrote, flushed first. */
  async written(): Promise<string> {
    await this.writer.flush();
    return dec(this.out.bytes);
  }
}

/** A request and a response over a {@linkcode MemoryHost}. */
export interface Exchange {
  req: HttpRequest;
  res: HttpResponse;
  host: MemoryHost;
}

/**
 * Parses `head` (a whole request head) and makes the request and response a
 * handler would get; `body` arrives in the given pieces.
 */
export function exchangeInMemory(
  head: string,
  body: (string | Uint8Array)[] = [],
  maxBodySize = 1 << 20,
): Exchange {
  const parser = new RequestParser();
  const used = parser.feed(enc(head));
  const h = parser.head;
  if (h === null || used !== head.length) throw new Error(`Not one whole head: ${head}`);
  const host = new MemoryHost(body.map((b) => typeof b === "string" ? enc(b) : b));
  const hasBody = h.chunked || h.contentLength > 0;
  const reqBody = new RequestBody(hasBody ? host : null, hasBody ? h : null, maxBodySize);
  const req = new HttpRequest(h, reqBody, { transport: "tcp", hostname: "127.0.0.1", port: 1 });
  const res = new HttpResponse(host, h.method === "HEAD", h.version === "HTTP/1.0");
  return { req, res, host };
}

/** One response as read from the wire. */
export interface RawResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
  raw: string;
}

/** Reads responses from a raw connection, with a deadline on every read. */
export class ResponseReader {
  #conn: Deno.Conn;
  #buf = new Uint8Array(0);
  #timeoutMs: number;
  constructor(conn: Deno.Conn, timeoutMs = 3000) {
    this.#conn = conn;
    this.#timeoutMs = timeoutMs;
  }

  /** Bytes received and not yet parsed. */
  get pending(): string {
    return dec(this.#buf);
  }

  async #more(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => {
      timer = setTimeout(r, this.#timeoutMs, "timeout");
    });
    try {
      const n = await Promise.race([this.#conn.read(chunk).catch(() => null), timeout]);
      if (n === "timeout") {
        throw new Error(`Timed out waiting for bytes; have: ${JSON.stringify(this.pending)}`);
      }
      if (n === null) return false;
      const next = new Uint8Array(this.#buf.length + n);
      next.set(this.#buf);
      next.set(chunk.subarray(0, n), this.#buf.length);
      this.#buf = next;
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  #indexOf(s: string, from = 0): number {
    return dec(this.#buf).indexOf(s, from);
  }

  /** Reads one whole response; `null` if the connection closed first. */
  async read(opts: { head?: boolean } = {}): Promise<RawResponse | null> {
    let end: number;
    while ((end = this.#indexOf("\r\n\r\n")) < 0) {
      if (!(await this.#more())) {
        if (this.#buf.length > 0) {
          throw new Error(`Connection closed inside a head: ${this.pending}`);
        }
        return null;
      }
    }
    const headText = dec(this.#buf.subarray(0, end));
    const lines = headText.split("\r\n");
    const status = Number(lines[0]!.split(" ")[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(":");
      const name = line.slice(0, i).toLowerCase();
      const value = line.slice(i + 1).trim();
      headers.set(name, headers.has(name) ? headers.get(name) + ", " + value : value);
    }
    let rest = this.#buf.subarray(end + 4);
    this.#buf = rest;
    let body = "";
    const noBody = opts.head || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (noBody) {
      // nothing
    } else if (headers.get("transfer-encoding") === "chunked") {
      for (;;) {
        let lineEnd: number;
        while ((lineEnd = this.#indexOf("\r\n")) < 0) {
          if (!(await this.#more())) throw new Error("Connection closed inside a chunk size");
        }
        const size = parseInt(dec(this.#buf.subarray(0, lineEnd)), 16);
        while (this.#buf.length < lineEnd + 2 + size + 2) {
          if (!(await this.#more())) throw new Error("Connection closed inside a chunk");
        }
        body += dec(this.#buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        this.#buf = this.#buf.subarray(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
    } else if (headers.has("content-length")) {
      const len = Number(headers.get("content-length"));
      while (this.#buf.length < len) {
        if (!(await this.#more())) throw new Error("Connection closed inside a body");
      }
      body = dec(this.#buf.subarray(0, len));
      this.#buf = this.#buf.subarray(len);
    } else {
      while (await this.#more()) { /* read to close */ }
      body = dec(this.#buf);
      this.#buf = new Uint8Array(0);
    }
    rest = this.#buf;
    return { status, headers, body, raw: headText };
  }

  /** Resolves `true` if the peer closed (EOF or reset) with no more bytes. */
  async closed(): Promise<boolean> {
    while (await this.#more()) { /* drain */ }
    return this.#buf.length === 0;
  }
}

/** Opens a raw connection to the port. */
export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

/** Sends `request` on a fresh connection and reads responses until close. */
export async function exchange(port: number, request: string | Uint8Array): Promise<RawResponse[]> {
  const conn = await connect(port);
  try {
    await conn.write(typeof request === "string" ? enc(request) : request);
    const reader = new ResponseReader(conn);
    const out: RawResponse[] = [];
    for (let r; (r = await reader.read()) !== null;) out.push(r);
    return out;
  } finally {
    conn.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A response as written by an in-memory exchange. */
export interface WrittenResponse {
  status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  headers: Map<string, string>;
  body: string;
}

/** Splits what a response wrote into status, headers and body (the body as is). */
export function parseWritten(text: string): WrittenResponse {
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`No complete head in ${JSON.stringify(text)}`);
  const lines = text.slice(0, end).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    const name = line.slice(0, i).toLowerCase();
    const value = line.slice(i + 1).trim();
    headers.set(name, headers.has(name) ? headers.get(name) + ", " + value : value);
  }
  return { status: Number(lines[0]!.split(" ")[1]), headers, body: text.slice(end + 4) };
}

/** The resolution of {@linkcode TestDeadlines}: a coarse deadline is up to twice this late. */
export const RESOLUTION = 1000;

/**
 * A deadline set on a clock moved by hand, for `HttpServerOptions.deadlines`:
 * tests wait for the server to arm a deadline (each timeout given a distinct
 * value tells which), then move the clock past it; nothing sleeps.
 */
export class TestDeadlines extends Deadlines {
  readonly clock: ManualClock;
  #seen = new Map<number, number>();
  #waiters: { ms: number; count: number; resolve: () => void }[] = [];
  constructor() {
    const clock = new ManualClock();
    super({ clock, resolution: RESOLUTION });
    this.clock = clock;
  }
  override arm(item: Expirable, ms: number): void {
    super.arm(item, ms);
    this.#record(ms);
  }
  override armCoarse(item: Expirable, ms: number): void {
    super.armCoarse(item, ms);
    this.#record(ms);
  }
  #record(ms: number): void {
    const n = (this.#seen.get(ms) ?? 0) + 1;
    this.#seen.set(ms, n);
    this.#waiters = this.#waiters.filter((w) => {
      if (w.ms !== ms || w.count > n) return true;
      w.resolve();
      return false;
    });
  }
  /** Resolves once `arm()` has been called with `ms` at least `count` times. */
  armed(ms: number, count = 1): Promise<void> {
    if ((this.#seen.get(ms) ?? 0) >= count) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#waiters.push({ ms, count, resolve });
    return withTimeout(promise, 3000, `arm(${ms}) #${count}`);
  }
  /**
   * Moves the clock by `ms` and expires what is due, checking at least once
   * per resolution on the way (the timer's ticks, on time).
   */
  pass(ms: number): void {
    const until = this.clock.t + ms;
    while (this.clock.t < until) {
      this.clock.t = Math.min(this.clock.t + RESOLUTION, until);
      this.check();
    }
  }
}

/** Collects the errors a server reports. */
export class ErrorLog {
  errors: unknown[] = [];
  report(err: unknown): void {
    this.errors.push(err);
  }
}

/**
 * Runs `fn` against a server for `handler` on a free port, then shuts it down
 * (and closes `options.deadlines`, which the server does not own).
 */
export async function withHttpServer(
  handler: Handler,
  options: HttpServerInit,
  fn: (port: number, server: HttpServer) => Promise<void>,
): Promise<void> {
  const server = new HttpServer(handler, { port: 0, errorReporter: new ErrorLog(), ...options });
  const { port } = server.listen();
  try {
    await fn(port, server);
  } finally {
    await server.shutdown(1000);
    options.deadlines?.close();
  }
}
