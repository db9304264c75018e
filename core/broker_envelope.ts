/**
 * The binary envelope every broker carries (version, flags, node id,
 * sequence number, payload) and gap detection on per-origin sequence
 * numbers.
 *
 * @module
 */
import { checkNodeId } from "./_broker_node_id.ts";

/** The version byte of the envelope format. */
const ENVELOPE_VERSION = 1;
const TWO_32 = 2 ** 32;

/** A decoded envelope (see {@linkcode encodeEnvelope}). */
export interface Envelope {
  /** The publishing node's id. */
  node: string;
  /** The publisher's sequence number. */
  seq: number;
  /** {@linkcode MessageFlags} bits. */
  flags: number;
  /** The payload: a view into the decoded bytes, not a copy. */
  payload: Uint8Array;
}

/**
 * Encodes a message envelope: version (1 byte), flags (1), node id length
 * (1), node id (ASCII), sequence number (8, big-endian, up to 2^53 - 1),
 * payload. The topic is not part of it: it travels as the broker's channel.
 *
 * @param node The publishing node's id (1 to 255 printable ASCII characters).
 * @param seq The sequence number, a non-negative safe integer.
 * @param flags {@linkcode MessageFlags} bits (0..255).
 * @param payload The payload, copied into the result.
 * @returns The envelope bytes.
 * @throws {RangeError} If `seq` or `flags` is out of range or `node` too long.
 * @throws {TypeError} If `node` holds other than printable ASCII.
 *
 * @example Round trip
 * ```ts
 * import { decodeEnvelope, encodeEnvelope, MessageFlags } from "@coroio/core";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const bytes = encodeEnvelope("n1", 7, MessageFlags.Text, new TextEncoder().encode("hi"));
 * const { node, seq, flags, payload } = decodeEnvelope(bytes);
 * deepStrictEqual([node, seq, flags, new TextDecoder().decode(payload)], ["n1", 7, 1, "hi"]);
 * ```
 */
export function encodeEnvelope(
  node: string,
  seq: number,
  flags: number,
  payload: Uint8Array,
): Uint8Array {
  checkNodeId(node);
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new RangeError(`Cannot encode envelope: sequence number ${seq} is not a safe integer`);
  }
  if (!Number.isInteger(flags) || flags < 0 || flags > 255) {
    throw new RangeError(`Cannot encode envelope: flags ${flags} is not a byte`);
  }
  const head = 3 + node.length + 8;
  const out = new Uint8Array(head + payload.length);
  out[0] = ENVELOPE_VERSION;
  out[1] = flags;
  out[2] = node.length;
  for (let i = 0; i < node.length; i++) out[3 + i] = node.charCodeAt(i);
  const view = new DataView(out.buffer);
  view.setUint32(3 + node.length, Math.floor(seq / TWO_32));
  view.setUint32(7 + node.length, seq >>> 0);
  out.set(payload, head);
  return out;
}

/**
 * Decodes an envelope made by {@linkcode encodeEnvelope}.
 *
 * @param bytes The envelope.
 * @param into An object to fill instead of allocating one (hot paths).
 * @returns The decoded fields; `payload` is a view into `bytes`.
 * @throws {TypeError} If the bytes are not a valid envelope.
 *
 * @example Rejecting garbage
 * ```ts
 * import { decodeEnvelope } from "@coroio/core";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => decodeEnvelope(new Uint8Array([9, 0, 0])), TypeError);
 * ```
 */
export function decodeEnvelope(bytes: Uint8Array, into?: Envelope): Envelope {
  if (bytes.length < 3 || bytes[0] !== ENVELOPE_VERSION) {
    throw new TypeError("Cannot decode envelope: unknown version or truncated");
  }
  const nodeLength = bytes[2]!;
  const head = 3 + nodeLength + 8;
  if (nodeLength === 0 || bytes.length < head) {
    throw new TypeError("Cannot decode envelope: truncated header");
  }
  const node = String.fromCharCode.apply(null, bytes.subarray(3, 3 + nodeLength) as never);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const seq = view.getUint32(3 + nodeLength) * TWO_32 + view.getUint32(7 + nodeLength);
  // A plain Uint8Array view even when `bytes` is a node Buffer (whose subarray is a Buffer).
  const payload = new Uint8Array(bytes.buffer, bytes.byteOffset + head, bytes.length - head);
  if (into === undefined) return { node, seq, flags: bytes[1]!, payload };
  into.node = node;
  into.seq = seq;
  into.flags = bytes[1]!;
  into.payload = payload;
  return into;
}

/**
 * Numbers a node's publications: one counter per topic, from 1. Per topic
 * because routing is interest-based: a subscriber sees only its topics, so a
 * single counter per node would show a hole for every message on another
 * topic.
 *
 * @example Counting per topic
 * ```ts
 * import { PublishSequence } from "@coroio/core";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const seq = new PublishSequence();
 * deepStrictEqual([seq.next("a"), seq.next("a"), seq.next("b")], [1, 2, 1]);
 * ```
 */
export class PublishSequence {
  #counters = new Map<string, number>();

  /**
   * Returns the next sequence number of a topic.
   *
   * @param topic The topic.
   * @returns 1 for the first publication, then 2, 3, ...
   */
  next(topic: string): number {
    const seq = (this.#counters.get(topic) ?? 0) + 1;
    this.#counters.set(topic, seq);
    return seq;
  }
}

/**
 * Tracks the last sequence number seen per (topic, origin) and reports holes.
 * The first message of an origin on a topic sets its baseline (a subscriber
 * joins mid-stream). Baselines survive a reconnect, so messages lost while
 * disconnected are counted exactly once the origin publishes again.
 *
 * @example Detecting a hole and a duplicate
 * ```ts
 * import { SequenceTracker } from "@coroio/core";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const tracker = new SequenceTracker();
 * const seen = [5, 6, 9, 9].map((seq) => tracker.observe("t", "n1", seq));
 * deepStrictEqual(seen, [0, 0, 2, -1]);
 * ```
 */
export class SequenceTracker {
  #topics = new Map<string, Map<string, number>>();

  /**
   * Records a message.
   *
   * @param topic The topic.
   * @param node The origin node id.
   * @param seq The message's sequence number.
   * @returns 0 if in order (or the first seen), the number of missed messages
   * if there is a hole, or -1 for a duplicate or stale message (drop it).
   */
  observe(topic: string, node: string, seq: number): number {
    let origins = this.#topics.get(topic);
    if (origins === undefined) {
      origins = new Map();
      this.#topics.set(topic, origins);
    }
    const last = origins.get(node);
    if (last !== undefined && seq <= last) return -1;
    origins.set(node, seq);
    return last === undefined ? 0 : seq - last - 1;
  }

  /**
   * Forgets a topic's baselines (on unsubscribe: a later subscription starts afresh).
   *
   * @param topic The topic.
   */
  forget(topic: string): void {
    this.#topics.delete(topic);
  }

  /** Forgets everything. */
  clear(): void {
    this.#topics.clear();
  }
}
