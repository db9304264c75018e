/**
 * permessage-deflate (RFC 7692): negotiation on parsed
 * `Sec-WebSocket-Extensions` offers and answers, and the per-session engine
 * that compresses outgoing and inflates incoming messages.
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

export type { Invalid, TooBig };
export { deflateCount, liveStreams };

/** The extension's registered name. */
export const PERMESSAGE_DEFLATE = "permessage-deflate";

/**
 * One element of a parsed `Sec-WebSocket-Extensions` header: its name and its
 * parameters in order, each with its (unquoted) value or `true` when it has
 * none.
 */
export interface ExtensionOffer {
  /** The extension token, for example `"permessage-deflate"`. */
  name: string;
  /** The parameters in header order; duplicates are kept. */
  params: Array<[string, string | true]>;
}

/**
 * How a session compresses outgoing messages.
 *
 * - `"shared"`: one deflater per process (per window size and level), reset
 *   after every message (`server_no_context_takeover`): no deflate memory
 *   per connection, and a message compresses to the same bytes for every
 *   recipient, so a publisher can compress once for many.
 * - `"dedicated"`: one deflater per connection (created on its first
 *   compressed send) with context takeover: a much better ratio for streams
 *   of similar messages, at the cost of zlib memory per connection. Measured
 *   on Deno 2.9.6 (RSS after one 1 KiB message): about 144 KiB with window
 *   15 / memLevel 8, 23 KiB with 12 / 4.
 *
 * Either way the inflater (about 17 KiB with a 15-bit window, 10 KiB with
 * 12 bits) is created on the first compressed message received; an idle
 * shared-mode session holds no zlib memory at all.
 */
export type CompressionMode = "shared" | "dedicated";

/** Server-side options for {@linkcode negotiateServer} and the engine. */
export interface PerMessageDeflateOptions {
  /**
   * Outgoing compression mode (see {@linkcode CompressionMode}). A dedicated
   * connection whose client demands `server_no_context_takeover` uses the
   * shared deflater, since it would reset after every message anyway.
   *
   * @default {"shared"}
   */
  mode?: CompressionMode;
  /**
   * Answer `server_no_context_takeover` (reset the deflater after every
   * message) even when the client did not ask. Always on in `"shared"` mode.
   *
   * @default {false}
   */
  serverNoContextTakeover?: boolean;
  /**
   * Ask the client not to keep its window between messages
   * (`client_no_context_takeover`); the inflater is then reset after every
   * message. Also honoured (and echoed) when the client offers it.
   *
   * @default {false}
   */
  clientNoContextTakeover?: boolean;
  /**
   * Largest window this side deflates with, 8-15 (8 runs zlib's 9-bit
   * deflater, whose output never refers back more than 250 bytes). A client
   * may demand less with `server_max_window_bits`.
   *
   * @default {15}
   */
  serverMaxWindowBits?: number;
  /**
   * Window to ask the client for, 8-15, when its offer carries
   * `client_max_window_bits` (Chrome's does; Firefox and Safari send none and
   * the server must then inflate with 15 bits). Smaller means a smaller
   * inflater per connection. 15 leaves the parameter out of the answer.
   *
   * @default {15}
   */
  clientMaxWindowBits?: number;
  /**
   * zlib compression level, 0-9.
   *
   * @default {3}
   */
  level?: number;
  /**
   * zlib memLevel, 1-9 (match-finder memory: 2^(memLevel+9) bytes).
   *
   * @default {8}
   */
  memLevel?: number;
  /**
   * Messages shorter than this many bytes are sent uncompressed (decided
   * before the deflater is touched, see
   * {@linkcode PerMessageDeflate.prototype.shouldCompress}).
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

/** The parameters both sides agreed on, from the server's point of view. */
export interface DeflateParams {
  /** The server resets its deflater after every message. */
  serverNoContextTakeover: boolean;
  /** The client resets its deflater after every message. */
  clientNoContextTakeover: boolean;
  /** The server's deflate window, 8-15 (15 when the answer has none). */
  serverMaxWindowBits: number;
  /** The client's deflate window, 8-15 (15 when the answer has none). */
  clientMaxWindowBits: number;
}

/** An accepted offer: the agreed parameters and the answer to send. */
export interface NegotiationResult {
  /** What was agreed. */
  params: DeflateParams;
  /**
   * The one `Sec-WebSocket-Extensions` element to answer with, for example
   * `permessage-deflate; server_no_context_takeover`.
   */
  response: string;
}

const WINDOW = /^(?:8|9|1[0-5])$/;

// Parses one permessage-deflate parameter list; null when it has an unknown,
// duplicate or malformed parameter.
interface Parsed {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | undefined;
  // undefined: absent, true: without value, number: with value
  clientMaxWindowBits: number | true | undefined;
}

function parseParams(params: ReadonlyArray<readonly [string, string | true]>): Parsed | null {
  const p: Parsed = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: undefined,
    clientMaxWindowBits: undefined,
  };
  let seen = 0;
  for (const [rawName, value] of params) {
    const name = rawName.toLowerCase();
    let bit: number;
    switch (name) {
      case "server_no_context_takeover":
        bit = 1;
        if (value !== true) return null;
        p.serverNoContextTakeover = true;
        break;
      case "client_no_context_takeover":
        bit = 2;
        if (value !== true) return null;
        p.clientNoContextTakeover = true;
        break;
      case "server_max_window_bits":
        bit = 4;
        if (value === true || !WINDOW.test(value)) return null;
        p.serverMaxWindowBits = Number(value);
        break;
      case "client_max_window_bits":
        bit = 8;
        if (value === true) p.clientMaxWindowBits = true;
        else if (WINDOW.test(value)) p.clientMaxWindowBits = Number(value);
        else return null;
        break;
      default:
        return null;
    }
    if (seen & bit) return null;
    seen |= bit;
  }
  return p;
}

function checkInt(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Invalid ${name}: must be an integer ${min}-${max}, got ${value}`);
  }
  return value;
}

/** Options with defaults applied and ranges checked. */
interface Resolved {
  mode: CompressionMode;
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
  level: number;
  memLevel: number;
  threshold: number;
  maxCompressSize: number;
}

function resolve(o: PerMessageDeflateOptions): Resolved {
  const mode = o.mode ?? "shared";
  if (mode !== "shared" && mode !== "dedicated") {
    throw new RangeError(`Invalid mode: must be "shared" or "dedicated", got ${String(mode)}`);
  }
  const threshold = o.threshold ?? 128;
  if (!Number.isFinite(threshold) || threshold < 0) {
    throw new RangeError(`Invalid threshold: must be a number >= 0, got ${threshold}`);
  }
  return {
    mode,
    serverNoContextTakeover: mode === "shared" || o.serverNoContextTakeover === true,
    clientNoContextTakeover: o.clientNoContextTakeover === true,
    serverMaxWindowBits: checkInt("serverMaxWindowBits", o.serverMaxWindowBits ?? 15, 8, 15),
    clientMaxWindowBits: checkInt("clientMaxWindowBits", o.clientMaxWindowBits ?? 15, 8, 15),
    level: checkInt("level", o.level ?? 3, 0, 9),
    memLevel: checkInt("memLevel", o.memLevel ?? 8, 1, 9),
    threshold,
    maxCompressSize: checkSize(o.maxCompressSize),
  };
}

function checkSize(value: number | undefined): number {
  const v = value ?? 1 << 20;
  if (!(v >= 0)) throw new RangeError(`Invalid maxCompressSize: must be a number >= 0, got ${v}`);
  return v;
}

/**
 * The server's side of the negotiation (RFC 7692 sections 5 and 7.1): tries
 * the client's offers in order and accepts the first `permessage-deflate`
 * offer whose parameters are all known, unique and in range. Offers for
 * other extensions are skipped; a bad offer is declined, never an error.
 *
 * The answer echoes every `*_no_context_takeover` the server honours, always
 * states `server_max_window_bits` when the client asked for a limit (or the
 * server uses less than 15), and states `client_max_window_bits` only when
 * the offer allowed it.
 *
 * @param offers The parsed `Sec-WebSocket-Extensions` elements, in order.
 * @param options The server's compression options.
 * @returns The agreed parameters and the answer, or `null` when no offer
 *   could be accepted (then send no `Sec-WebSocket-Extensions` at all).
 * @throws {RangeError} If an option is out of range.
 *
 * @example Chrome's offer, answered by the default shared mode
 * ```ts
 * import { negotiateServer } from "./permessage_deflate.ts";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * const result = negotiateServer([
 *   { name: "permessage-deflate", params: [["client_max_window_bits", true]] },
 * ]);
 * deepEqual(result?.response, "permessage-deflate; server_no_context_takeover");
 * deepEqual(result?.params, {
 *   serverNoContextTakeover: true,
 *   clientNoContextTakeover: false,
 *   serverMaxWindowBits: 15,
 *   clientMaxWindowBits: 15,
 * });
 * ```
 */
export function negotiateServer(
  offers: ReadonlyArray<ExtensionOffer>,
  options: PerMessageDeflateOptions = {},
): NegotiationResult | null {
  const o = resolve(options);
  for (const offer of offers) {
    if (offer.name.toLowerCase() !== PERMESSAGE_DEFLATE) continue;
    const p = parseParams(offer.params);
    if (p === null) continue;
    if (p.serverMaxWindowBits === 8 && !EIGHT_BIT_WINDOW_HOLDS) continue;
    const serverNoContextTakeover = o.serverNoContextTakeover || p.serverNoContextTakeover;
    const clientNoContextTakeover = o.clientNoContextTakeover || p.clientNoContextTakeover;
    const serverMaxWindowBits = Math.min(o.serverMaxWindowBits, p.serverMaxWindowBits ?? 15);
    let clientMaxWindowBits = 15;
    if (p.clientMaxWindowBits !== undefined) {
      clientMaxWindowBits = p.clientMaxWindowBits === true
        ? o.clientMaxWindowBits
        : Math.min(o.clientMaxWindowBits, p.clientMaxWindowBits);
    }
    let response = PERMESSAGE_DEFLATE;
    if (serverNoContextTakeover) response += "; server_no_context_takeover";
    if (clientNoContextTakeover) response += "; client_no_context_takeover";
    if (p.serverMaxWindowBits !== undefined || serverMaxWindowBits < 15) {
      response += `; server_max_window_bits=${serverMaxWindowBits}`;
    }
    if (
      p.clientMaxWindowBits !== undefined &&
      (clientMaxWindowBits < 15 || typeof p.clientMaxWindowBits === "number")
    ) {
      response += `; client_max_window_bits=${clientMaxWindowBits}`;
    }
    return {
      params: {
        serverNoContextTakeover,
        clientNoContextTakeover,
        serverMaxWindowBits,
        clientMaxWindowBits,
      },
      response,
    };
  }
  return null;
}

// Whether a `server_max_window_bits=8` demand can be met honestly: zlib
// deflates with at least 9 bits, but its matches never reach back more than
// w_size - 262 = 250 bytes, which fits a 256-byte window. The tests check
// this on real output (permessage_deflate_test.ts walks every match of
// random and adversarial streams); set to false to decline 8-bit offers
// should a zlib ever break it.
const EIGHT_BIT_WINDOW_HOLDS = true;

/** Client-side options for {@linkcode clientOffer} and {@linkcode negotiateClient}. */
export interface ClientDeflateOptions {
  /**
   * Ask the server to reset its deflater after every message.
   *
   * @default {false}
   */
  serverNoContextTakeover?: boolean;
  /**
   * Promise to reset this client's deflater after every message.
   *
   * @default {false}
   */
  clientNoContextTakeover?: boolean;
  /**
   * Ask the server to deflate with at most this window, 8-15.
   *
   * @default {undefined} (no limit asked)
   */
  serverMaxWindowBits?: number;
  /**
   * The most window this client will deflate with, 8-15; `true` offers
   * `client_max_window_bits` without a value (the server picks).
   *
   * @default {true}
   */
  clientMaxWindowBits?: number | true;
}

/**
 * The client's offer, one `Sec-WebSocket-Extensions` element. With no
 * options it is what browsers send: `permessage-deflate; client_max_window_bits`.
 *
 * @param options What to ask for.
 * @returns The header value.
 * @throws {RangeError} If a window is out of range.
 *
 * @example The default offer
 * ```ts
 * import { clientOffer } from "./permessage_deflate.ts";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(clientOffer(), "permessage-deflate; client_max_window_bits");
 * ```
 */
export function clientOffer(options: ClientDeflateOptions = {}): string {
  let s = PERMESSAGE_DEFLATE;
  if (options.serverNoContextTakeover) s += "; server_no_context_takeover";
  if (options.clientNoContextTakeover) s += "; client_no_context_takeover";
  if (options.serverMaxWindowBits !== undefined) {
    s += `; server_max_window_bits=${
      checkInt("serverMaxWindowBits", options.serverMaxWindowBits, 8, 15)
    }`;
  }
  const cmwb = options.clientMaxWindowBits ?? true;
  s += cmwb === true
    ? "; client_max_window_bits"
    : `; client_max_window_bits=${checkInt("clientMaxWindowBits", cmwb, 8, 15)}`;
  return s;
}

/**
 * Why the client rejects a server's answer (the connection must fail).
 *
 * @example Thrown by negotiateClient()
 * ```ts
 * import { DeflateNegotiationError, negotiateClient } from "./permessage_deflate.ts";
 * import { throws } from "node:assert/strict";
 *
 * throws(
 *   () => negotiateClient([{ name: "permessage-deflate", params: [["foo", true]] }]),
 *   DeflateNegotiationError,
 * );
 * ```
 */
export class DeflateNegotiationError extends Error {
  /**
   * Creates the error.
   *
   * @param reason What is wrong with the answer.
   */
  constructor(reason: string) {
    super(`Cannot accept the server's permessage-deflate answer: ${reason}`);
    this.name = "DeflateNegotiationError";
  }
}

/**
 * The client's side: validates the server's parsed `Sec-WebSocket-Extensions`
 * answer against what {@linkcode clientOffer} offered with the same options.
 *
 * @param answer The parsed elements of the answer (empty when the header was
 *   absent).
 * @param options The options the offer was made with.
 * @returns The agreed parameters, or `null` when the server accepted no
 *   extension.
 * @throws {DeflateNegotiationError} If the answer names an extension that was
 *   not offered, more than one element, or a parameter that was not offered,
 *   is repeated, or is out of range (RFC 7692 section 7.1: fail the
 *   connection).
 *
 * @example A server that limits the client's window
 * ```ts
 * import { negotiateClient } from "./permessage_deflate.ts";
 * import { deepStrictEqual as deepEqual, throws } from "node:assert/strict";
 *
 * deepEqual(
 *   negotiateClient([{ name: "permessage-deflate", params: [["client_max_window_bits", "10"]] }]),
 *   {
 *     serverNoContextTakeover: false,
 *     clientNoContextTakeover: false,
 *     serverMaxWindowBits: 15,
 *     clientMaxWindowBits: 10,
 *   },
 * );
 * throws(() => negotiateClient([{ name: "x-webkit-deflate-frame", params: [] }]));
 * ```
 */
export function negotiateClient(
  answer: ReadonlyArray<ExtensionOffer>,
  options: ClientDeflateOptions = {},
): DeflateParams | null {
  if (answer.length === 0) return null;
  if (answer.length > 1) {
    throw new DeflateNegotiationError(`${answer.length} extensions, only one was offered`);
  }
  const el = answer[0]!;
  if (el.name.toLowerCase() !== PERMESSAGE_DEFLATE) {
    throw new DeflateNegotiationError(`extension "${el.name}" was not offered`);
  }
  const p = parseParams(el.params);
  if (p === null) {
    throw new DeflateNegotiationError("an unknown, repeated or out-of-range parameter");
  }
  if (options.serverNoContextTakeover && !p.serverNoContextTakeover) {
    throw new DeflateNegotiationError("server_no_context_takeover was asked for and not granted");
  }
  const askedServer = options.serverMaxWindowBits;
  if (askedServer !== undefined) {
    if (p.serverMaxWindowBits === undefined) {
      throw new DeflateNegotiationError("server_max_window_bits was asked for and not answered");
    }
    if (p.serverMaxWindowBits > askedServer) {
      throw new DeflateNegotiationError(
        `server_max_window_bits=${p.serverMaxWindowBits} exceeds the ${askedServer} asked for`,
      );
    }
  }
  const offeredClient = options.clientMaxWindowBits ?? true;
  let clientMaxWindowBits = offeredClient === true ? 15 : offeredClient;
  if (p.clientMaxWindowBits !== undefined) {
    if (p.clientMaxWindowBits === true) {
      throw new DeflateNegotiationError("client_max_window_bits without a value");
    }
    if (p.clientMaxWindowBits > clientMaxWindowBits) {
      throw new DeflateNegotiationError(
        `client_max_window_bits=${p.clientMaxWindowBits} exceeds the ${clientMaxWindowBits} offered`,
      );
    }
    clientMaxWindowBits = p.clientMaxWindowBits;
  }
  return {
    serverNoContextTakeover: p.serverNoContextTakeover,
    clientNoContextTakeover: p.clientNoContextTakeover || options.clientNoContextTakeover === true,
    serverMaxWindowBits: p.serverMaxWindowBits ?? 15,
    clientMaxWindowBits,
  };
}

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
    const i = this.#inflater ??= new RawInflater(this.#inflateWindow);
    const out = i.inflate(fragments, maxMessageSize);
    if (this.#resetInflater) i.reset();
    return out;
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
