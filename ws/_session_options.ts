// The session's options: declared (the public interface, re-exported by
// session.ts), validated once (one rule for every number), and passed
// through by the standalone server and the client. Private to the package.
import { type Deadlines, intOption } from "@coroio/core";
import { FrameParser, type FrameSink } from "./frame_parser.ts";
import type { KeepaliveOptions } from "./_keepalive.ts";
import type { PerMessageDeflate } from "./permessage_deflate.ts";
import type { ReceiverOptions } from "./_receiver.ts";

/**
 * Options for `WebSocketSession`: role, limits, timeouts, backpressure and
 * message ownership. Numbers are checked when the session is constructed.
 *
 * @example Options checked at construction
 * ```ts
 * import { type WebSocketHandler, WebSocketSession, type WebSocketSessionOptions } from "@coroio/ws";
 * import { strictEqual as equal, throws } from "node:assert/strict";
 *
 * class Quiet implements WebSocketHandler {
 *   onMessage(): void {}
 * }
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const conn = await listener.accept();
 * listener.close();
 *
 * const bad: WebSocketSessionOptions = { idleTimeout: -1 };
 * throws(() => new WebSocketSession(conn, new Uint8Array(0), new Quiet(), bad), RangeError);
 * const options: WebSocketSessionOptions = { idleTimeout: 30_000, maxMessageSize: 65536 };
 * const session = new WebSocketSession(conn, new Uint8Array(0), new Quiet(), options);
 * equal(session.readyState, 0); // nothing happens before run()
 * conn.close();
 * client.close();
 * ```
 */
export interface WebSocketSessionOptions {
  /**
   * Which side of the connection this is. A server expects masked frames and
   * closes TCP first; a client masks its frames.
   *
   * @default {"server"}
   */
  role?: "server" | "client";
  /**
   * Largest message, in bytes, summed over its fragments. Larger: close 1009.
   *
   * @default {16777216}
   */
  maxMessageSize?: number;
  /**
   * Largest frame payload, in bytes. Larger: close 1009.
   *
   * @default {maxMessageSize}
   */
  maxFrameSize?: number;
  /**
   * Most frames in one message. More: close 1009.
   *
   * @default {1048576}
   */
  maxFragments?: number;
  /**
   * After this many milliseconds without incoming bytes a ping is sent; 0
   * disables. Checked coarsely: a silent peer is pinged between one and two
   * idle periods after its last bytes.
   *
   * @default {60000}
   */
  idleTimeout?: number;
  /**
   * How long, in milliseconds, to wait for any bytes (a pong or anything
   * else) after an idle ping before closing the connection as dead.
   *
   * @default {30000}
   */
  pongTimeout?: number;
  /**
   * How long, in milliseconds, to wait for the peer's close frame after
   * sending one (and, as a client, for the server to close TCP) before
   * closing TCP anyway. After a protocol error the grace period is the
   * smaller of this and one second.
   *
   * @default {5000}
   */
  closeTimeout?: number;
  /**
   * Bytes of queued output (not yet handed to the kernel) above which
   * `backpressure` applies. Reading also pauses while the queue is above it.
   *
   * @default {1048576}
   */
  highWaterMark?: number;
  /**
   * What `send()` does when the queue is above `highWaterMark`: `"wait"`
   * until it drains before queuing, or `"close"` the connection with 1008
   * (a slow consumer).
   *
   * @default {"wait"}
   */
  backpressure?: "wait" | "close";
  /**
   * The subprotocol agreed in the handshake, reported by `protocol`.
   *
   * @default {""}
   */
  protocol?: string;
  /**
   * The `Sec-WebSocket-Extensions` value agreed in the handshake, reported
   * by `extensions` (the servers and `connect()` set it with `deflate`).
   *
   * @default {""}
   */
  extensions?: string;
  /**
   * The deadline set for idle, pong and close timeouts.
   *
   * @default {a process-wide set with a 250 ms resolution}
   */
  deadlines?: Deadlines;
  /**
   * Read buffer size in bytes. A new session starts with at most 256 bytes
   * (a connection that never sends costs little) and doubles the buffer
   * while reads fill it, up to 64 KiB or this size if larger; once drained
   * after a small read it goes back to this size. Payloads too large for it
   * are read straight into the message buffer instead (with
   * `borrowMessages`, see there, the buffer may grow to hold such frames
   * whole).
   *
   * @default {1024}
   */
  readBufferSize?: number;
  /**
   * Deliver binary messages to `onMessage` as borrowed views instead of
   * arrays the handler owns. A borrowed view is valid only during the
   * `onMessage` call: its bytes may be reused afterwards and its `.buffer`
   * may hold other messages' bytes, so copy (`slice()`) what you keep. Saves
   * one allocation and copy per small binary message. A large frame (16 KiB
   * and more, up to 256 KiB) that arrives alone, as from a client with one
   * message in flight, then grows the read buffer to hold the next one
   * whole: one read per frame instead of two, and the frame lent from it.
   * Ignored without a handler: messages read with `for await` are always
   * owned.
   *
   * @default {false}
   */
  borrowMessages?: boolean;
  /**
   * The permessage-deflate (RFC 7692) context both sides agreed on in the
   * handshake, or none: without it RSV1 is a protocol error (1002) and
   * nothing is compressed. The servers and `connect()` set it when
   * compression was negotiated; the session closes it when it ends.
   *
   * @default {undefined (no compression)}
   */
  deflate?: PerMessageDeflate;
}

const PASSED = [
  "maxMessageSize",
  "maxFrameSize",
  "maxFragments",
  "idleTimeout",
  "pongTimeout",
  "closeTimeout",
  "highWaterMark",
  "backpressure",
  "deadlines",
  "readBufferSize",
  "borrowMessages",
] as const;

/**
 * Copies the session options set in `options` (leaving unset ones out, as
 * `exactOptionalPropertyTypes` wants) and sets the role.
 */
export function sessionOptionsFrom(
  options: Omit<WebSocketSessionOptions, "role" | "protocol" | "deflate" | "extensions">,
  role: "server" | "client",
): WebSocketSessionOptions {
  const out: WebSocketSessionOptions = { role };
  for (const k of PASSED) {
    if (options[k] !== undefined) (out as Record<string, unknown>)[k] = options[k];
  }
  return out;
}

/**
 * An option that is an integer >= 0 (a duration or a byte count), or its
 * default when unset: core's one rule for numeric options.
 *
 * @throws {RangeError} Otherwise.
 */
export function nonNegative(name: string, value: number | undefined, fallback: number): number {
  return intOption("WebSocketSession", name, value, fallback, 0);
}

/**
 * The `readBufferSize` option: an integer >= 16, 1024 when unset.
 *
 * @throws {RangeError} Otherwise.
 */
export function readBufferSize(value: number | undefined): number {
  return intOption("WebSocketSession", "readBufferSize", value, 1024, 16);
}

/**
 * What a session takes from its options once they are checked, made once
 * per options object and shared by every session created with it (a server
 * passes the same object to all of its sessions): the sessions then hold
 * one reference instead of a copy of each value.
 */
export interface SessionConfig {
  readonly client: boolean;
  readonly borrowMessages: boolean;
  readonly closeOnBackpressure: boolean;
  readonly highWaterMark: number;
  /** Largest message after inflating. */
  readonly maxMessage: number;
  readonly keepalive: KeepaliveOptions;
  /** The subprotocol agreed in the handshake, or `""`. */
  readonly protocol: string;
  /** The extensions agreed in the handshake, or `""`. */
  readonly extensions: string;
  /**
   * The negotiated permessage-deflate context (a handshake that negotiates
   * one passes options of its own: the context is per connection).
   */
  readonly deflate: PerMessageDeflate | null;
  /** The receiver's options for a session with a handler. */
  readonly receiver: ReceiverOptions;
  /** The receiver's options for a session without one (it never lends messages). */
  readonly queueReceiver: ReceiverOptions;
  /** The receiver's options for a handler with `onText` (text as bytes). */
  readonly textReceiver: ReceiverOptions;
}

const configs = new WeakMap<WebSocketSessionOptions, SessionConfig>();

/** A sink for the parser made only to check the limits. */
const NO_SINK: FrameSink = {
  onMessage() {},
  onPing() {},
  onPong() {},
  onClose() {},
  onCompressedMessage() {},
};

/**
 * Checks the options (every call: a RangeError names the first bad one) and
 * returns their config, the cached one when the values have not changed
 * since it was made.
 *
 * @throws {RangeError} If an option is out of range.
 */
export function sessionConfig(options: WebSocketSessionOptions): SessionConfig {
  const maxMessage = nonNegative("maxMessageSize", options.maxMessageSize, 16 * 1024 * 1024);
  const idleTimeout = nonNegative("idleTimeout", options.idleTimeout, 60000);
  const pongTimeout = nonNegative("pongTimeout", options.pongTimeout, 30000);
  const closeTimeout = nonNegative("closeTimeout", options.closeTimeout, 5000);
  const highWaterMark = nonNegative("highWaterMark", options.highWaterMark, 1048576);
  const readSize = readBufferSize(options.readBufferSize);
  const role = options.role ?? "server";
  const deflate = options.deflate ?? null;
  const compressed = deflate !== null;
  const protocol = options.protocol ?? "";
  const extensions = options.extensions ?? "";
  const borrowMessages = options.borrowMessages === true;
  const closeOnBackpressure = options.backpressure === "close";
  const c = configs.get(options);
  if (
    c !== undefined && c.maxMessage === maxMessage && c.highWaterMark === highWaterMark &&
    c.deflate === deflate && c.protocol === protocol && c.extensions === extensions &&
    c.keepalive.idleTimeout === idleTimeout && c.keepalive.pongTimeout === pongTimeout &&
    c.keepalive.closeTimeout === closeTimeout && c.keepalive.deadlines === options.deadlines &&
    c.receiver.readBufferSize === readSize && c.receiver.role === role &&
    c.receiver.compressed === compressed && c.borrowMessages === borrowMessages &&
    c.closeOnBackpressure === closeOnBackpressure &&
    c.receiver.maxMessageSize === options.maxMessageSize &&
    c.receiver.maxFrameSize === options.maxFrameSize &&
    c.receiver.maxFragments === options.maxFragments
  ) {
    return c;
  }
  const receiver: ReceiverOptions = {
    role,
    compressed,
    reuseBuffer: borrowMessages,
    readBufferSize: readSize,
  };
  if (options.maxMessageSize !== undefined) receiver.maxMessageSize = options.maxMessageSize;
  if (options.maxFrameSize !== undefined) receiver.maxFrameSize = options.maxFrameSize;
  if (options.maxFragments !== undefined) receiver.maxFragments = options.maxFragments;
  // The parser is made when the first bytes arrive: check its limits now.
  new FrameParser(NO_SINK, receiver);
  const config: SessionConfig = {
    client: role === "client",
    borrowMessages,
    closeOnBackpressure,
    highWaterMark,
    maxMessage,
    keepalive: { idleTimeout, pongTimeout, closeTimeout, deadlines: options.deadlines },
    protocol,
    extensions,
    deflate,
    receiver,
    queueReceiver: receiver.reuseBuffer ? { ...receiver, reuseBuffer: false } : receiver,
    textReceiver: { ...receiver, textBytes: true },
  };
  configs.set(options, config);
  return config;
}
