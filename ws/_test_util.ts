// Test helpers for the ws package: hex input, a raw TCP WebSocket client that
// sends hand-built frames, an echo handler and a server fixture.
import { BufReader, Deadlines } from "@coroio/core";
import { buildFrame, type BuildFrameOptions } from "./frame_builder.ts";
import { FrameParser, type FrameSink } from "./frame_parser.ts";
import { WebSocketServer, type WebSocketServerOptions } from "./server.ts";
import type { WebSocketHandler, WebSocketSession } from "./session.ts";
import type { WebSocketError } from "./errors.ts";

/** Bytes from hex, ignoring spaces. */
export function hex(s: string): Uint8Array {
  const t = s.replace(/\s+/g, "");
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(i * 2, i * 2 + 2), 16);
  return out;
}

import { enc as encode, withTimeout } from "../core/_test_util.ts";
export { encode, withTimeout };

/** One thing a raw client saw. */
export type Event =
  | { type: "text"; data: string }
  | { type: "binary"; data: Uint8Array }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  | { type: "close"; code: number; reason: string }
  | { type: "eof" };

class Collect implements FrameSink {
  events: Event[] = [];
  onMessage(data: string | Uint8Array): void {
    this.events.push(typeof data === "string" ? { type: "text", data } : { type: "binary", data });
  }
  onPing(payload: Uint8Array): void {
    this.events.push({ type: "ping", data: payload.slice() });
  }
  onPong(payload: Uint8Array): void {
    this.events.push({ type: "pong", data: payload.slice() });
  }
  onClose(code: number, reason: string): void {
    this.events.push({ type: "close", code, reason });
  }
}

/** A hand-driven WebSocket client over a raw TCP connection. */
export class RawClient {
  conn: Deno.TcpConn;
  reader: BufReader<Deno.TcpConn>;
  sink = new Collect();
  parser: FrameParser;
  closed = false;
  eof = false;

  constructor(conn: Deno.TcpConn, reader: BufReader<Deno.TcpConn>) {
    this.conn = conn;
    this.reader = reader;
    this.parser = new FrameParser(this.sink, { role: "client", maxMessageSize: 1 << 26 });
  }

  /** Connects and performs a valid handshake (asserting the 101). */
  static async open(port: number, extra = ""): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const reader = new BufReader(conn);
    const c = new RawClient(conn, reader);
    try {
      await c.write(encode(
        "GET /test HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" + extra +
          "\r\n",
      ));
      const head = await withTimeout(
        reader.readUntil(encode("\r\n\r\n"), 8192),
        2000,
        "handshake response",
      );
      const text = new TextDecoder().decode(head!);
      if (!text.startsWith("HTTP/1.1 101 ")) throw new Error(`handshake failed: ${text}`);
    } catch (err) {
      c.close();
      throw err;
    }
    return c;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Sends a frame, masked by default. */
  sendFrame(opcode: number, payload: Uint8Array | string = "", opts: BuildFrameOptions = {}) {
    const p = typeof payload === "string" ? encode(payload) : payload;
    return this.write(buildFrame(opcode, p, { mask: true, ...opts }));
  }

  /** The next event (or eof), failing after `ms`. */
  async next(ms = 3000): Promise<Event> {
    const timer = setTimeout(() => this.close(), ms);
    try {
      for (;;) {
        const e = this.sink.events.shift();
        if (e !== undefined) return e;
        if (this.eof) return { type: "eof" };
        if (this.closed) throw new Error(`RawClient: no event within ${ms} ms`);
        let n: number | null;
        try {
          n = await this.reader.fill();
        } catch (err) {
          if (this.closed) throw new Error(`RawClient: no event within ${ms} ms`);
          // A reset after the server closed counts as the end of the stream.
          if (err instanceof Deno.errors.ConnectionReset) n = null;
          else throw err;
        }
        if (n === null) {
          this.eof = true;
          continue;
        }
        const used = this.parser.feed(this.reader.peek());
        this.reader.consume(used);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Skips events until a close frame; returns it. Fails on eof. */
  async nextClose(ms = 3000): Promise<{ code: number; reason: string }> {
    for (;;) {
      const e = await this.next(ms);
      if (e.type === "close") return e;
      if (e.type === "eof") throw new Error("RawClient: eof before a close frame");
    }
  }

  /** Expects the server to close TCP next (after any events, which are returned). */
  async expectEof(ms = 3000): Promise<Event[]> {
    const seen: Event[] = [];
    for (;;) {
      const e = await this.next(ms);
      if (e.type === "eof") return seen;
      seen.push(e);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.conn.close();
    } catch {
      // Already closed.
    }
  }
}

/** Echoes every message as the same type; records what happened. */
export class EchoHandler implements WebSocketHandler {
  closes: { code: number; reason: string }[] = [];
  errors: WebSocketError[] = [];
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    ws.send(data);
  }
  onClose(_ws: WebSocketSession, code: number, reason: string): void {
    this.closes.push({ code, reason });
  }
  onError(_ws: WebSocketSession, error: WebSocketError): void {
    this.errors.push(error);
  }
}

/** A running server fixture with fast deadlines. */
export class Fixture {
  server: WebSocketServer;
  serving: Promise<void>;
  deadlines: Deadlines;
  handler: EchoHandler;

  constructor(handler: EchoHandler = new EchoHandler(), options: WebSocketServerOptions = {}) {
    this.deadlines = new Deadlines({ resolution: 10 });
    this.handler = handler;
    this.server = new WebSocketServer(
      Deno.listen({ hostname: "127.0.0.1", port: 0 }),
      handler,
      { closeTimeout: 500, deadlines: this.deadlines, shutdownTimeout: 1000, ...options },
    );
    this.serving = this.server.serve();
  }

  get port(): number {
    return this.server.addr.port;
  }

  async stop(): Promise<void> {
    await this.server.shutdown();
    await this.serving;
    this.deadlines.close();
  }
}

/** Runs `fn` with a fixture, always stopping it. */
export async function withServer(
  fn: (f: Fixture) => Promise<void>,
  options: WebSocketServerOptions = {},
  handler: EchoHandler = new EchoHandler(),
): Promise<void> {
  const f = new Fixture(handler, options);
  try {
    await withTimeout(fn(f), 10000, "test body");
  } finally {
    await f.stop();
  }
}
