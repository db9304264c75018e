/**
 * permessage-deflate (RFC 7692): negotiation on parsed
 * `Sec-WebSocket-Extensions` offers and answers, and the per-session engine
 * that compresses outgoing and inflates incoming messages.
 *
 * The engine lives here; the negotiation API is defined in
 * `_deflate_negotiation.ts` and re-exported from this module.
 *
 * Importing this module does not load `node:zlib`: the first deflater or
 * inflater does (see `_zlib.ts`). Negotiation alone never touches zlib.
 *
 * @module
 */
import {
  deflateCount,
  type Invalid,
  liveStreams,
  MAX_STEP_OUTPUT,
  RawDeflater,
  RawInflater,
  type TooBig,
  zlibBackend,
} from "./_zlib.ts";
import {
  checkInt,
  checkSize,
  type CompressionMode,
  type DeflateParams,
} from "./_deflate_negotiation.ts";

export type { Invalid, TooBig };
export { deflateCount, liveStreams };
export {
  type ClientDeflateOptions,
  clientOffer,
  type CompressionMode,
  DeflateNegotiationError,
  type DeflateParams,
  type ExtensionOffer,
  negotiateClient,
  negotiateServer,
  type NegotiationResult,
  PERMESSAGE_DEFLATE,
  type PerMessageDeflateOptions,
} from "./_deflate_negotiation.ts";

/** Engine options: the compression settings and which side this is. */
export interface PerMessageDeflateEngineOptions {
  /**
   * Which side of the connection this engine runs on.
   *
   * @default {"server"}
   */
  role?: "server" | "client";
  /**
   * Outgoing mode (see {@linkcode CompressionMode}); a side that must reset
   * after every message uses the shared deflater whatever the mode.
   *
   * @default {"shared"}
   */
  mode?: CompressionMode;
  /**
   * zlib level, 0-9.
   *
   * @default {3}
   */
  level?: number;
  /**
   * zlib memLevel, 1-9.
   *
   * @default {8}
   */
  memLevel?: number;
  /**
   * Below this many bytes, {@linkcode PerMessageDeflate.prototype.shouldCompress}
   * says no.
   *
   * @default {128}
   */
  threshold?: number;
  /**
   * Messages larger than this many bytes are sent uncompressed, so that one
   * huge message cannot hold the event loop in zlib for long (1 MiB at
   * level 3 is a few milliseconds). \`Infinity\` compresses everything.
   *
   * @default {1048576}
   */
  maxCompressSize?: number;
}

// Process-wide deflaters, one per (window, level, memLevel), each reset
// after every message.
const shared = new Map<string, RawDeflater>();

// Process-wide inflaters, one per window, for peers that reset their
// deflater after every message (no context to keep between messages): a
// whole message is inflated in one synchronous call and the inflater reset,
// so sessions never hold one of their own.
const sharedInflaters = new Map<number, RawInflater>();

function sharedInflater(windowBits: number): RawInflater {
  let i = sharedInflaters.get(windowBits);
  if (i === undefined) {
    i = new RawInflater(windowBits);
    sharedInflaters.set(windowBits, i);
  }
  return i;
}

function sharedDeflater(key: string, windowBits: number, level: number, memLevel: number) {
  let d = shared.get(key);
  if (d === undefined) {
    d = new RawDeflater({ level, windowBits, memLevel });
    shared.set(key, d);
  }
  return d;
}

/**
 * Closes the process-wide shared deflaters (they are created again on
 * demand). For tests and for a process that stops serving.
 *
 * @example Nothing is left open
 * ```ts
 * import { closeSharedDeflaters, liveStreams, PerMessageDeflate } from "./permessage_deflate.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * closeSharedDeflaters();
 * const before = liveStreams();
 * const pmd = new PerMessageDeflate({
 *   serverNoContextTakeover: true,
 *   clientNoContextTakeover: false,
 *   serverMaxWindowBits: 13,
 *   clientMaxWindowBits: 15,
 * });
 * pmd.compress(new Uint8Array(300)); // opens the shared deflater for window 13
 * pmd.close();
 * equal(liveStreams(), before + 1);
 * closeSharedDeflaters();
 * equal(liveStreams(), 0);
 * ```
 */
export function closeSharedDeflaters(): void {
  for (const d of shared.values()) d.close();
  shared.clear();
  for (const i of sharedInflaters.values()) i.close();
  sharedInflaters.clear();
}

/**
 * permessage-deflate for one session: compresses outgoing message payloads
 * and inflates incoming ones, bounded.
 *
 * Outgoing: when this side resets after every message (its
 * `*_no_context_takeover` was agreed, always so in `"shared"` mode on the
 * server), the process-wide deflater for its window is used and reset
 * after each message, so the session holds no deflate memory and the output
 * is the same for every session with the same
 * {@linkcode PerMessageDeflate.prototype.sharedKey}. Otherwise a dedicated
 * deflater keeps its window across messages: every compressed message must
 * then really be sent, or the peer's window drifts.
 *
 * Incoming: the inflater is created on the first compressed message, reset
 * after each message when the peer does not keep its context, and freed by
 * {@linkcode PerMessageDeflate.prototype.close}.
 *
 * @example A server session and a client session talking
 * ```ts
 * import { negotiateServer, negotiateClient, PerMessageDeflate, clientOffer } from "./permessage_deflate.ts";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * const accepted = negotiateServer([{ name: "permessage-deflate", params: [] }], { mode: "dedicated" })!;
 * const server = new PerMessageDeflate(accepted.params, { mode: "dedicated" });
 * const client = new PerMessageDeflate(accepted.params, { role: "client" });
 * const hello = new TextEncoder().encode("hello ".repeat(50));
 * deepEqual(client.decompress(server.compress(hello), 1 << 20), hello);
 * deepEqual(server.decompress(client.compress(hello), 1 << 20), hello);
 * server.close();
 * client.close();
 * ```
 */
export class PerMessageDeflate {
  /** The agreed parameters. */
  readonly params: DeflateParams;
  /**
   * Identifies the shared deflater this session compresses with, or `null`
   * when it has a dedicated one. Sessions with the same key get the same
   * bytes for the same message: compress once, send to all of them.
   */
  readonly sharedKey: string | null;
  readonly #threshold: number;
  readonly #maxCompressSize: number;
  readonly #deflateWindow: number;
  readonly #inflateWindow: number;
  readonly #resetInflater: boolean;
  readonly #level: number;
  readonly #memLevel: number;
  #deflater: RawDeflater | null = null;
  #inflater: RawInflater | null = null;
  #closed = false;

  /**
   * Creates the engine; zlib streams are created on first use.
   *
   * @param params The agreed parameters, from {@linkcode negotiateServer} or
   *   {@linkcode negotiateClient}.
   * @param options Side, mode, level, memLevel and threshold.
   * @throws {RangeError} If an option is out of range.
   */
  constructor(params: DeflateParams, options: PerMessageDeflateEngineOptions = {}) {
    const role = options.role ?? "server";
    const mode = options.mode ?? "shared";
    this.params = params;
    this.#level = checkInt("level", options.level ?? 3, 0, 9);
    this.#memLevel = checkInt("memLevel", options.memLevel ?? 8, 1, 9);
    const threshold = options.threshold ?? 128;
    if (!Number.isFinite(threshold) || threshold < 0) {
      throw new RangeError(`Invalid threshold: must be a number >= 0, got ${threshold}`);
    }
    this.#threshold = threshold;
    this.#maxCompressSize = checkSize(options.maxCompressSize);
    const server = role === "server";
    const window = server ? params.serverMaxWindowBits : params.clientMaxWindowBits;
    // zlib has no 8-bit deflater; its 9-bit output fits an 8-bit window.
    this.#deflateWindow = window < 9 ? 9 : window;
    const peerWindow = server ? params.clientMaxWindowBits : params.serverMaxWindowBits;
    // A larger inflate window is always safe; 9 bits tolerates a zlib peer
    // that was granted 8 and deflates with 9.
    this.#inflateWindow = peerWindow < 9 ? 9 : peerWindow;
    this.#resetInflater = server ? params.clientNoContextTakeover : params.serverNoContextTakeover;
    const noTakeover = server ? params.serverNoContextTakeover : params.clientNoContextTakeover;
    // Resetting after every message is always allowed, even when the peer
    // would accept context takeover: so the shared mode needs no agreement.
    this.sharedKey = noTakeover || mode === "shared"
      ? `w${this.#deflateWindow}l${this.#level}m${this.#memLevel}`
      : null;
  }

  /**
   * Whether a message of this size should be compressed: it reaches the
   * threshold and does not pass `maxCompressSize`. Decide before calling {@linkcode PerMessageDeflate.prototype.compress}:
   * with a dedicated deflater, compressed output must always be sent.
   *
   * @param byteLength The payload size.
   * @returns `true` to compress.
   *
   * @example The default threshold is 128 bytes
   * ```ts
   * import { PerMessageDeflate } from "./permessage_deflate.ts";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const pmd = new PerMessageDeflate({
   *   serverNoContextTakeover: true,
   *   clientNoContextTakeover: false,
   *   serverMaxWindowBits: 15,
   *   clientMaxWindowBits: 15,
   * });
   * equal(pmd.shouldCompress(127), false);
   * equal(pmd.shouldCompress(128), true);
   * equal(pmd.shouldCompress(2 << 20), false); // above maxCompressSize
   * pmd.close();
   * ```
   */
  shouldCompress(byteLength: number): boolean {
    return byteLength >= this.#threshold && byteLength <= this.#maxCompressSize;
  }

  /**
   * Compresses one message payload (to be sent with RSV1 on its first
   * frame). Synchronous; the result is a new array owned by the caller.
   *
   * @param payload The message, in one piece or several.
   * @returns The compressed payload (`00` for the empty message).
   * @throws {Error} If the engine is closed.
   * @throws {ZlibUnavailableError} If `node:zlib` offers no usable handle.
   *
   * @example Shared mode: the same bytes for every session
   * ```ts
   * import { PerMessageDeflate } from "./permessage_deflate.ts";
   * import { deepStrictEqual as deepEqual } from "node:assert/strict";
   *
   * const params = {
   *   serverNoContextTakeover: true,
   *   clientNoContextTakeover: false,
   *   serverMaxWindowBits: 15,
   *   clientMaxWindowBits: 15,
   * };
   * const a = new PerMessageDeflate(params);
   * const b = new PerMessageDeflate(params);
   * const msg = new TextEncoder().encode(JSON.stringify({ hello: "world".repeat(40) }));
   * deepEqual(a.compress(msg), b.compress(msg));
   * deepEqual(a.sharedKey, b.sharedKey);
   * a.close();
   * b.close();
   * ```
   */
  compress(payload: Uint8Array | readonly Uint8Array[]): Uint8Array {
    if (this.#closed) throw new Error("Cannot compress: the session's deflate context is closed");
    const key = this.sharedKey;
    if (key !== null) {
      const d = sharedDeflater(key, this.#deflateWindow, this.#level, this.#memLevel);
      try {
        return d.compress(payload);
      } finally {
        d.reset();
      }
    }
    const d = this.#deflater ??= new RawDeflater({
      level: this.#level,
      windowBits: this.#deflateWindow,
      memLevel: this.#memLevel,
    });
    return d.compress(payload);
  }

  /**
   * Inflates one compressed message (the payloads of its frames, in order),
   * counting output against `maxMessageSize` as it is produced.
   *
   * @param fragments The compressed payload, in one piece or per frame.
   * @param maxMessageSize The largest message allowed after inflating.
   * @returns The message; a {@linkcode TooBig} (close 1009) when it would
   *   pass the limit, found after at most one 64 KiB step past it; an
   *   {@linkcode Invalid} (close 1007) for bad deflate data.
   * @throws {Error} If the engine is closed.
   * @throws {ZlibUnavailableError} If `node:zlib` offers no usable handle.
   *
   * @example The empty compressed message is the single byte 00
   * ```ts
   * import { PerMessageDeflate } from "./permessage_deflate.ts";
   * import { deepStrictEqual as deepEqual } from "node:assert/strict";
   *
   * const pmd = new PerMessageDeflate({
   *   serverNoContextTakeover: true,
   *   clientNoContextTakeover: false,
   *   serverMaxWindowBits: 15,
   *   clientMaxWindowBits: 15,
   * });
   * deepEqual(pmd.decompress(new Uint8Array([0x00]), 100), new Uint8Array(0));
   * pmd.close();
   * ```
   */
  decompress(
    fragments: Uint8Array | readonly Uint8Array[],
    maxMessageSize: number,
  ): Uint8Array | TooBig | Invalid {
    if (this.#closed) throw new Error("Cannot decompress: the session's deflate context is closed");
    if (this.#resetInflater) {
      // The peer keeps no context: a process-wide inflater serves this whole
      // message and is reset, so this session holds no zlib memory.
      const shared = sharedInflater(this.#inflateWindow);
      try {
        return shared.inflate(fragments, maxMessageSize);
      } finally {
        shared.reset();
      }
    }
    const i = this.#inflater ??= new RawInflater(this.#inflateWindow);
    return i.inflate(fragments, maxMessageSize);
  }

  /**
   * The streaming form of {@linkcode PerMessageDeflate.prototype.decompress}:
   * hands over one frame's payload of a compressed message as it arrives
   * (no need to keep the compressed fragments). Then call
   * {@linkcode PerMessageDeflate.prototype.pullDecompressed} until it
   * returns `null` before pushing the next frame.
   *
   * @param payload One frame's payload; not copied, keep it unchanged until
   *   `pullDecompressed()` returned `null`.
   * @param fin Whether this frame ends the message.
   * @throws {Error} If the engine is closed, or output is still pending.
   * @throws {ZlibUnavailableError} If `node:zlib` offers no usable handle.
   *
   * @example Frame by frame, with a yield between pieces
   * ```ts
   * import { PerMessageDeflate } from "./permessage_deflate.ts";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const params = {
   *   serverNoContextTakeover: true,
   *   clientNoContextTakeover: false,
   *   serverMaxWindowBits: 15,
   *   clientMaxWindowBits: 15,
   * };
   * const sender = new PerMessageDeflate(params, { role: "client" });
   * const receiver = new PerMessageDeflate(params);
   * const packed = sender.compress(new Uint8Array(300_000));
   * const frames = [packed.subarray(0, 100), packed.subarray(100)];
   * let total = 0;
   * for (let f = 0; f < frames.length; f++) {
   *   receiver.pushCompressed(frames[f]!, f === frames.length - 1);
   *   for (let got = receiver.pullDecompressed(1 << 20); got !== null; got = receiver.pullDecompressed(1 << 20)) {
   *     if (!(got instanceof Uint8Array)) throw new Error(got.kind);
   *     total += got.length; // at most 64 KiB; other work may run here
   *   }
   * }
   * equal(total, 300_000);
   * sender.close();
   * receiver.close();
   * ```
   */
  pushCompressed(payload: Uint8Array, fin: boolean): void {
    if (this.#closed) throw new Error("Cannot decompress: the session's deflate context is closed");
    const i = this.#inflater ??= new RawInflater(this.#inflateWindow);
    i.push(payload, fin);
    this.#finPushed = fin;
  }

  /**
   * Runs one bounded inflate step on what
   * {@linkcode PerMessageDeflate.prototype.pushCompressed} handed over.
   *
   * @param maxMessageSize The largest message allowed after inflating; the
   *   engine counts the message's output across steps.
   * @returns At most 64 KiB of output (a view valid until the next pull on
   *   any session: copy what you keep); `null` when the pushed payload is
   *   used up (after the `fin` frame: the message is complete); a
   *   {@linkcode TooBig} (close 1009) or an {@linkcode Invalid} (close
   *   1007), after which the message is dropped.
   * @throws {Error} If the engine is closed.
   *
   * @example A bomb fed frame by frame stops at the limit
   * ```ts
   * import { PerMessageDeflate } from "./permessage_deflate.ts";
   * import { deepStrictEqual as deepEqual } from "node:assert/strict";
   *
   * const params = {
   *   serverNoContextTakeover: true,
   *   clientNoContextTakeover: false,
   *   serverMaxWindowBits: 15,
   *   clientMaxWindowBits: 15,
   * };
   * const sender = new PerMessageDeflate(params, { role: "client" });
   * const receiver = new PerMessageDeflate(params);
   * receiver.pushCompressed(sender.compress(new Uint8Array(10 << 20)), true);
   * let got = receiver.pullDecompressed(100_000);
   * while (got instanceof Uint8Array) got = receiver.pullDecompressed(100_000);
   * deepEqual(got, { kind: "too-big", limit: 100_000 });
   * sender.close();
   * receiver.close();
   * ```
   */
  pullDecompressed(maxMessageSize: number): Uint8Array | TooBig | Invalid | null {
    if (this.#closed) throw new Error("Cannot decompress: the session's deflate context is closed");
    const i = this.#inflater;
    if (i === null) return null;
    const room = maxMessageSize - this.#pulled + 1;
    const got = i.pull(room < MAX_STEP_OUTPUT ? room : MAX_STEP_OUTPUT);
    if (got === null) {
      if (this.#finPushed) this.#endMessage(i);
      return null;
    }
    if (!(got instanceof Uint8Array)) {
      this.#pulled = 0;
      this.#finPushed = false;
      return got;
    }
    this.#pulled += got.length;
    if (this.#pulled > maxMessageSize) {
      this.#pulled = 0;
      this.#finPushed = false;
      i.reset();
      return { kind: "too-big", limit: maxMessageSize };
    }
    return got;
  }

  #endMessage(i: RawInflater): void {
    this.#pulled = 0;
    this.#finPushed = false;
    if (this.#resetInflater) i.reset();
  }

  // Streaming inflate: output of the message so far, and whether its last
  // frame was pushed.
  #pulled = 0;
  #finPushed = false;

  /**
   * Whether this session currently holds an inflater (created by its first
   * compressed incoming message).
   *
   * @example Lazily created
   * ```ts
   * import { PerMessageDeflate } from "./permessage_deflate.ts";
   * import { strictEqual as equal } from "node:assert/strict";
   *
   * const pmd = new PerMessageDeflate({
   *   serverNoContextTakeover: true,
   *   clientNoContextTakeover: false,
   *   serverMaxWindowBits: 15,
   *   clientMaxWindowBits: 15,
   * });
   * equal(pmd.hasInflater, false);
   * pmd.decompress(new Uint8Array([0x00]), 100);
   * equal(pmd.hasInflater, true);
   * pmd.close();
   * equal(pmd.hasInflater, false);
   * ```
   */
  get hasInflater(): boolean {
    return this.#inflater !== null;
  }

  /**
   * Frees this session's inflater and dedicated deflater at once (the shared
   * deflater stays for other sessions). Nothing is left pending: zlib runs
   * synchronously here, there is no queued work to wait for. Idempotent.
   *
   * @example After close, the engine refuses work
   * ```ts
   * import { PerMessageDeflate } from "./permessage_deflate.ts";
   * import { throws } from "node:assert/strict";
   *
   * const pmd = new PerMessageDeflate({
   *   serverNoContextTakeover: false,
   *   clientNoContextTakeover: false,
   *   serverMaxWindowBits: 15,
   *   clientMaxWindowBits: 15,
   * }, { mode: "dedicated" });
   * pmd.compress(new Uint8Array(10));
   * pmd.close();
   * pmd.close();
   * throws(() => pmd.compress(new Uint8Array(10)));
   * ```
   */
  close(): void {
    this.#closed = true;
    this.#deflater?.close();
    this.#deflater = null;
    this.#inflater?.close();
    this.#inflater = null;
  }
}

/**
 * Whether this runtime can do permessage-deflate at all (Deno's `node:zlib`
 * with its native handle). A server should negotiate nothing when it cannot.
 *
 * @returns `true` when compression is available.
 *
 * @example On Deno 2.9
 * ```ts
 * import { deflateAvailable } from "./permessage_deflate.ts";
 * import { ok } from "node:assert/strict";
 *
 * ok(deflateAvailable());
 * ```
 */
export function deflateAvailable(): boolean {
  return zlibBackend() === "handle";
}
