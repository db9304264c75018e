/**
 * permessage-deflate (RFC 7692) negotiation on parsed
 * `Sec-WebSocket-Extensions` offers and answers: the server's answer to a
 * client's offers, the client's offer and its check of the server's answer,
 * and the option and parameter validation both sides share.
 *
 * Negotiation never touches zlib; the engine that compresses with the agreed
 * parameters is `permessage_deflate.ts`, which re-exports this API.
 *
 * @module
 */

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
   * (`client_no_context_takeover`): its messages are then inflated by a
   * process-wide inflater, reset after each, and no session holds zlib
   * memory (a kept client context costs ~15 KiB of inflater per connection
   * for as long as it lives). Always honoured (and echoed) when the client
   * offers it.
   *
   * @default {true in "shared" mode, false in "dedicated" mode}
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

/**
 * Checks that an option is an integer in `[min, max]` (shared with the
 * engine in `permessage_deflate.ts`).
 *
 * @param name The option's name, for the error message.
 * @param value The value given.
 * @param min The smallest value allowed.
 * @param max The largest value allowed.
 * @returns The value.
 * @throws {RangeError} If the value is not an integer in range.
 *
 * @example A zlib level
 * ```ts
 * import { checkInt } from "./_deflate_negotiation.ts";
 * import { strictEqual as equal, throws } from "node:assert/strict";
 *
 * equal(checkInt("level", 3, 0, 9), 3);
 * throws(() => checkInt("level", 10, 0, 9), RangeError);
 * ```
 */
export function checkInt(name: string, value: number, min: number, max: number): number {
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
    // Shared mode asks the client to reset too, unless told otherwise: its
    // messages are then inflated by a process-wide inflater and a session
    // holds no zlib memory at all (a kept client context costs ~15 KiB of
    // inflater per connection for as long as it lives).
    clientNoContextTakeover: o.clientNoContextTakeover ?? mode === "shared",
    serverMaxWindowBits: checkInt("serverMaxWindowBits", o.serverMaxWindowBits ?? 15, 8, 15),
    clientMaxWindowBits: checkInt("clientMaxWindowBits", o.clientMaxWindowBits ?? 15, 8, 15),
    level: checkInt("level", o.level ?? 3, 0, 9),
    memLevel: checkInt("memLevel", o.memLevel ?? 8, 1, 9),
    threshold,
    maxCompressSize: checkSize(o.maxCompressSize),
  };
}

/**
 * Resolves and checks `maxCompressSize` (shared with the engine in
 * `permessage_deflate.ts`).
 *
 * @param value The option given, or `undefined` for the 1 MiB default.
 * @returns The size, in bytes.
 * @throws {RangeError} If the value is not a number >= 0.
 *
 * @example The default and a negative size
 * ```ts
 * import { checkSize } from "./_deflate_negotiation.ts";
 * import { strictEqual as equal, throws } from "node:assert/strict";
 *
 * equal(checkSize(undefined), 1 << 20);
 * throws(() => checkSize(-1), RangeError);
 * ```
 */
export function checkSize(value: number | undefined): number {
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
 * import { negotiateServer } from "./_deflate_negotiation.ts";
 * import { deepStrictEqual as deepEqual } from "node:assert/strict";
 *
 * const result = negotiateServer([
 *   { name: "permessage-deflate", params: [["client_max_window_bits", true]] },
 * ]);
 * deepEqual(
 *   result?.response,
 *   "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
 * );
 * deepEqual(result?.params, {
 *   serverNoContextTakeover: true,
 *   clientNoContextTakeover: true,
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
 * import { clientOffer } from "./_deflate_negotiation.ts";
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
 * import { DeflateNegotiationError, negotiateClient } from "./_deflate_negotiation.ts";
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
 * import { negotiateClient } from "./_deflate_negotiation.ts";
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
