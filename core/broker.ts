/**
 * The `Broker` contract for fanning pub/sub topics out across workers,
 * processes and machines, the binary envelope every broker implementation
 * carries, gap detection on per-origin sequence numbers, and `MemoryBroker`,
 * the in-process implementation (several instances share one `MemoryBus`, so
 * tests can simulate several nodes).
 *
 * A broker is interest-based: the local topic hub subscribes a topic on the
 * broker when its first local subscriber appears and unsubscribes it when the
 * last one leaves. Local subscribers are served by the hub directly, so a
 * broker never delivers a node's own messages back to it.
 *
 * @module
 */

import { intOption } from "./options.ts";

/** The connection state of a {@linkcode Broker}. */
export const BrokerState = {
  /** Connecting for the first time. */
  Connecting: "connecting",
  /** Connected: subscriptions are active and messages flow. */
  Connected: "connected",
  /** The link to the broker is down; reconnecting with backoff. Messages are being lost. */
  Disconnected: "disconnected",
  /** Closed by {@linkcode Broker.close}; final. */
  Closed: "closed",
} as const;
/** One of the {@linkcode BrokerState} values. */
export type BrokerState = (typeof BrokerState)[keyof typeof BrokerState];

/** Bits of the `flags` byte of a message. */
export const MessageFlags = {
  /** The payload is binary (no bit set). */
  Binary: 0,
  /** The payload is UTF-8 text (deliver it as a text message). */
  Text: 1,
} as const;

/** Why {@linkcode BrokerListener.onGap} was called. */
export const GapReason = {
  /** A hole in an origin's sequence numbers: `missed` messages never arrived. */
  Sequence: "sequence",
  /**
   * The link to the broker was lost and is back, subscriptions renewed: whatever
   * was published meanwhile is lost (`missed` is -1: unknown).
   */
  Reconnect: "reconnect",
} as const;
/** One of the {@linkcode GapReason} values. */
export type GapReason = (typeof GapReason)[keyof typeof GapReason];

/** Where a delivered message came from. */
export interface MessageOrigin {
  /** The publishing node's id ({@linkcode Broker.nodeId}). */
  node: string;
  /** The publisher's sequence number of this message on this topic, from 1. */
  seq: number;
  /** The message's {@linkcode MessageFlags} bits. */
  flags: number;
}

/** What {@linkcode BrokerListener.onGap} reports: messages of a topic may have been lost. */
export interface BrokerGap {
  /** Why the gap was detected. */
  reason: GapReason;
  /** The topic that lost messages. */
  topic: string;
  /** The origin whose sequence has a hole, or `null` for a reconnect. */
  node: string | null;
  /** How many messages were missed, or -1 when unknown. */
  missed: number;
}

/**
 * Receives a broker's events: one object with one method per event, set once
 * as {@linkcode Broker.listener}. Methods are called synchronously by the
 * broker and must not throw (an exception is reported with `reportError`).
 */
export interface BrokerListener {
  /**
   * A message published by another node on a subscribed topic.
   *
   * @param topic The topic, exactly as subscribed.
   * @param payload The payload; read-only and shared with other readers.
   * @param origin The sender; the object is reused, valid only during the call.
   */
  onMessage(topic: string, payload: Uint8Array, origin: MessageOrigin): void;
  /**
   * Messages of a topic may have been lost: the application should resync it.
   *
   * @param gap What was lost and why; the object belongs to the listener.
   */
  onGap(gap: BrokerGap): void;
  /**
   * The broker's connection state changed.
   *
   * @param state The new state.
   * @param error What caused a {@linkcode BrokerState.Disconnected}, when known.
   */
  onStateChange(state: BrokerState, error: Error | undefined): void;
}

/**
 * Fan-out of opaque topics across nodes. Topics are literal strings: no
 * wildcards anywhere, whatever the underlying broker's subject syntax.
 * Subscriptions are not reference-counted: a topic is subscribed or not, and
 * the last call wins.
 */
export interface Broker {
  /** This node's id, carried in every message it publishes. */
  readonly nodeId: string;
  /** The current connection state. */
  readonly state: BrokerState;
  /** Receives messages, gaps and state changes. */
  listener: BrokerListener;
  /**
   * Subscribes a topic. Resolves once the broker confirmed it: a message
   * published by another node after that is delivered. Idempotent.
   *
   * @param topic Any string, taken literally.
   * @returns When the subscription is active.
   * @throws {BrokerClosedError} (rejects) If the broker is closed.
   */
  subscribe(topic: string): Promise<void>;
  /**
   * Unsubscribes a topic. Delivery on it stops at once (messages already
   * received are dropped); resolves once the broker confirmed it.
   *
   * @param topic The topic.
   * @returns When the broker confirmed.
   */
  unsubscribe(topic: string): Promise<void>;
  /**
   * Publishes a message to every other node subscribed to the topic,
   * fire-and-forget (at most once).
   *
   * @param topic The topic.
   * @param payload The bytes; copied or sent before `publish` returns, so the caller may reuse them.
   * @param flags {@linkcode MessageFlags} bits.
   * @throws {BrokerClosedError} If the broker is closed.
   */
  publish(topic: string, payload: Uint8Array, flags?: number): void;
  /**
   * Releases every connection, timer and subscription; idempotent.
   *
   * @returns When everything is released.
   */
  close(): Promise<void>;
}

/**
 * Thrown (or rejected with) when a closed {@linkcode Broker} is used.
 *
 * @example Publishing on a closed broker
 * ```ts
 * import { BrokerClosedError, MemoryBroker } from "@coroio/core";
 * import { throws } from "node:assert/strict";
 *
 * const broker = new MemoryBroker();
 * await broker.close();
 * throws(() => broker.publish("t", new Uint8Array()), BrokerClosedError);
 * ```
 */
export class BrokerClosedError extends Error {
  /**
   * Creates the error.
   *
   * @param what The operation that was refused.
   */
  constructor(what: string) {
    super(`Cannot ${what}: the broker is closed`);
    this.name = "BrokerClosedError";
  }
}

/**
 * Generates a random node id: 16 URL-safe base64 characters (96 random bits).
 *
 * @returns A new id.
 *
 * @example Two ids differ
 * ```ts
 * import { newNodeId } from "@coroio/core";
 * import { match, notStrictEqual } from "node:assert/strict";
 *
 * match(newNodeId(), /^[A-Za-z0-9_-]{16}$/);
 * notStrictEqual(newNodeId(), newNodeId());
 * ```
 */
export function newNodeId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

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

function checkNodeId(node: string): void {
  if (node.length === 0 || node.length > 255) {
    throw new RangeError(`Cannot use node id: length ${node.length} is not in 1..255`);
  }
  for (let i = 0; i < node.length; i++) {
    const c = node.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) {
      throw new TypeError("Cannot use node id: only printable ASCII is allowed");
    }
  }
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

/** Options every {@linkcode Broker} implementation takes. */
export interface BrokerOptions {
  /**
   * This node's id (1 to 255 printable ASCII characters).
   *
   * @default {newNodeId()}
   */
  nodeId?: string;
  /**
   * The event receiver (also settable later as `listener`).
   *
   * @default {noopListener}
   */
  listener?: BrokerListener;
}

/**
 * Options of the brokers that keep a connection to a server and make it again
 * when it drops (`RedisBroker`, `NatsBroker`). Durations are milliseconds,
 * integers `>= 1`, checked at construction by {@linkcode reconnectSettings}.
 */
export interface ReconnectingBrokerOptions extends BrokerOptions {
  /**
   * How often the link to the server is PINGed, in milliseconds. PINGs left
   * unanswered mean a dead (half-open) link: it is dropped and made again.
   *
   * @default {5000}
   */
  heartbeatInterval?: number;
  /**
   * The first reconnect delay in milliseconds; it doubles per failed attempt
   * (with jitter, see {@linkcode reconnectBackoff}).
   *
   * @default {50}
   */
  reconnectDelay?: number;
  /**
   * The longest reconnect delay in milliseconds.
   *
   * @default {5000}
   */
  maxReconnectDelay?: number;
  /**
   * How long one connection attempt may take, in milliseconds.
   *
   * @default {5000}
   */
  connectTimeout?: number;
}

/** {@linkcode ReconnectingBrokerOptions} with every default applied and every value checked. */
export interface ReconnectSettings {
  /** This node's id. */
  nodeId: string;
  /** The event receiver. */
  listener: BrokerListener;
  /** See {@linkcode ReconnectingBrokerOptions.heartbeatInterval}. */
  heartbeatInterval: number;
  /** See {@linkcode ReconnectingBrokerOptions.reconnectDelay}. */
  reconnectDelay: number;
  /** See {@linkcode ReconnectingBrokerOptions.maxReconnectDelay}. */
  maxReconnectDelay: number;
  /** See {@linkcode ReconnectingBrokerOptions.connectTimeout}. */
  connectTimeout: number;
}

/**
 * A listener that ignores every event: the default of
 * {@linkcode BrokerOptions.listener}. Frozen, shared by every broker.
 *
 * @example A broker made without a listener has this one
 * ```ts
 * import { MemoryBroker, noopListener } from "@coroio/core";
 * import { ok, strictEqual } from "node:assert/strict";
 *
 * const broker = new MemoryBroker();
 * strictEqual(broker.listener, noopListener);
 * ok(Object.isFrozen(noopListener));
 * await broker.close();
 * ```
 */
export const noopListener: BrokerListener = Object.freeze({
  onMessage(): void {},
  onGap(): void {},
  onStateChange(): void {},
});

/**
 * Applies the defaults of {@linkcode ReconnectingBrokerOptions} and checks
 * them: the durations with {@linkcode intOption} (integers `>= 1`), the node
 * id as {@linkcode encodeEnvelope} would.
 *
 * @param owner The broker class being constructed, for messages (`"RedisBroker"`).
 * @param options The options given.
 * @returns The settings to use.
 * @throws {RangeError} If a duration is not an integer `>= 1`, or the node id is empty or too long.
 * @throws {TypeError} If the node id holds other than printable ASCII.
 *
 * @example Defaults, and a refused duration
 * ```ts
 * import { noopListener, reconnectSettings } from "@coroio/core";
 * import { deepStrictEqual, throws } from "node:assert/strict";
 *
 * deepStrictEqual(reconnectSettings("MyBroker", { nodeId: "n1" }), {
 *   nodeId: "n1",
 *   listener: noopListener,
 *   heartbeatInterval: 5000,
 *   reconnectDelay: 50,
 *   maxReconnectDelay: 5000,
 *   connectTimeout: 5000,
 * });
 * throws(
 *   () => reconnectSettings("MyBroker", { reconnectDelay: 0.5 }),
 *   /Cannot create MyBroker: reconnectDelay must be an integer >= 1, got 0.5/,
 * );
 * ```
 */
export function reconnectSettings(
  owner: string,
  options: ReconnectingBrokerOptions,
): ReconnectSettings {
  const heartbeatInterval = intOption(owner, "heartbeatInterval", options.heartbeatInterval, 5000);
  const reconnectDelay = intOption(owner, "reconnectDelay", options.reconnectDelay, 50);
  const maxReconnectDelay = intOption(owner, "maxReconnectDelay", options.maxReconnectDelay, 5000);
  const connectTimeout = intOption(owner, "connectTimeout", options.connectTimeout, 5000);
  const nodeId = options.nodeId ?? newNodeId();
  checkNodeId(nodeId);
  return {
    nodeId,
    listener: options.listener ?? noopListener,
    heartbeatInterval,
    reconnectDelay,
    maxReconnectDelay,
    connectTimeout,
  };
}

/**
 * The delay before reconnect attempt `attempt` (from 0): `reconnectDelay`
 * doubled per attempt, capped at `maxReconnectDelay`, times a random factor
 * in [0.8, 1.2) so that nodes cut off together do not all come back in the
 * same millisecond.
 *
 * @param settings The two delays, in milliseconds.
 * @param attempt How many attempts failed since the last success.
 * @param random A source of numbers in [0, 1).
 * @returns The delay in whole milliseconds.
 *
 * @example Doubling up to the cap, jitter at its extremes
 * ```ts
 * import { reconnectBackoff } from "@coroio/core";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const settings = { reconnectDelay: 50, maxReconnectDelay: 300 };
 * const doubled = [0, 1, 2, 3, 40].map((n) => reconnectBackoff(settings, n, () => 0.5));
 * deepStrictEqual(doubled, [50, 100, 200, 300, 300]);
 * const low = reconnectBackoff(settings, 0, () => 0);
 * const high = reconnectBackoff(settings, 0, () => 0.999);
 * deepStrictEqual([low, high], [40, 60]);
 * ```
 */
export function reconnectBackoff(
  settings: Pick<ReconnectSettings, "reconnectDelay" | "maxReconnectDelay">,
  attempt: number,
  random: () => number = Math.random,
): number {
  const delay = Math.min(settings.maxReconnectDelay, settings.reconnectDelay * 2 ** attempt);
  return Math.round(delay * (0.8 + random() * 0.4));
}

/**
 * The part of a broker that talks to its listener, shared by the brokers that
 * carry envelopes: the connection state (a change is reported once), received
 * envelopes (own and duplicate ones dropped, holes in an origin's sequence
 * reported as {@linkcode GapReason.Sequence} gaps, a throwing listener
 * reported with `reportError`), {@linkcode GapReason.Reconnect} gaps, and the
 * per-topic sequence baselines. The broker owns it; the listener and node id
 * are read from the broker at each event, so `listener` may be replaced.
 *
 * @example Delivering, dropping a duplicate, reporting a hole
 * ```ts
 * import {
 *   BrokerEvents,
 *   type BrokerGap,
 *   BrokerState,
 *   encodeEnvelope,
 *   noopListener,
 * } from "@coroio/core";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const got: string[] = [];
 * const gaps: BrokerGap[] = [];
 * const broker = {
 *   nodeId: "me",
 *   listener: {
 *     ...noopListener,
 *     onMessage: (topic: string, _payload: Uint8Array, origin: { seq: number }) =>
 *       got.push(`${topic}#${origin.seq}`),
 *     onGap: (gap: BrokerGap) => gaps.push(gap),
 *   },
 * };
 * const events = new BrokerEvents(broker, BrokerState.Connected);
 * const empty = new Uint8Array();
 * for (const [node, seq] of [["a", 1], ["a", 1], ["me", 1], ["a", 4]] as const) {
 *   events.deliver("t", encodeEnvelope(node, seq, 0, empty));
 * }
 * deepStrictEqual(got, ["t#1", "t#4"]);
 * deepStrictEqual(gaps, [{ reason: "sequence", topic: "t", node: "a", missed: 2 }]);
 * ```
 */
export class BrokerEvents {
  #broker: { readonly nodeId: string; readonly listener: BrokerListener };
  #state: BrokerState;
  #tracker = new SequenceTracker();
  #envelope: Envelope = { node: "", seq: 0, flags: 0, payload: new Uint8Array() };
  #origin: MessageOrigin = { node: "", seq: 0, flags: 0 };

  /**
   * Creates the dispatcher of one broker.
   *
   * @param broker The broker: its `nodeId` and current `listener` are read at each event.
   * @param state The initial state (not reported).
   */
  constructor(
    broker: { readonly nodeId: string; readonly listener: BrokerListener },
    state: BrokerState,
  ) {
    this.#broker = broker;
    this.#state = state;
  }

  /** The current state. */
  get state(): BrokerState {
    return this.#state;
  }

  /** Whether the state is {@linkcode BrokerState.Closed}. */
  get closed(): boolean {
    return this.#state === BrokerState.Closed;
  }

  /**
   * Moves to a state and reports it, unless it is the current one.
   *
   * @param state The new state.
   * @param error What caused it; anything not an `Error` is wrapped in one.
   *
   * @example The same state is reported once
   * ```ts
   * import { BrokerEvents, BrokerState, noopListener } from "@coroio/core";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * const seen: string[] = [];
   * const listener = {
   *   ...noopListener,
   *   onStateChange: (state: string, error?: Error) => seen.push(`${state}:${error?.message}`),
   * };
   * const events = new BrokerEvents({ nodeId: "n", listener }, BrokerState.Connecting);
   * events.setState(BrokerState.Disconnected, "refused");
   * events.setState(BrokerState.Disconnected, "refused again");
   * events.setState(BrokerState.Connected, undefined);
   * deepStrictEqual(seen, ["disconnected:refused", "connected:undefined"]);
   * ```
   */
  setState(state: BrokerState, error: unknown): void {
    if (this.#state === state) return;
    this.#state = state;
    const cause = error === undefined || error instanceof Error ? error : new Error(String(error));
    this.#broker.listener.onStateChange(state, cause);
  }

  /**
   * Hands a received envelope of a subscribed topic to the listener: dropped
   * if it is not an envelope, comes from this node or is a duplicate; a hole
   * before it is reported as a gap first.
   *
   * @param topic The topic it arrived on (the caller checked it is subscribed).
   * @param bytes The envelope.
   */
  deliver(topic: string, bytes: Uint8Array): void {
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(bytes, this.#envelope);
    } catch {
      return; // not from a coroio broker
    }
    const broker = this.#broker;
    if (envelope.node === broker.nodeId) return;
    const missed = this.#tracker.observe(topic, envelope.node, envelope.seq);
    if (missed < 0) return;
    if (missed > 0) {
      broker.listener.onGap({ reason: GapReason.Sequence, topic, node: envelope.node, missed });
    }
    const origin = this.#origin;
    origin.node = envelope.node;
    origin.seq = envelope.seq;
    origin.flags = envelope.flags;
    try {
      broker.listener.onMessage(topic, envelope.payload, origin);
    } catch (error) {
      reportError(error);
    }
  }

  /**
   * Reports a {@linkcode GapReason.Reconnect} gap for each topic: the link is
   * back and the subscriptions are renewed, but what was published meanwhile
   * is lost.
   *
   * @param topics The subscribed topics.
   *
   * @example One gap per topic
   * ```ts
   * import { type BrokerGap, BrokerEvents, BrokerState, noopListener } from "@coroio/core";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * const gaps: BrokerGap[] = [];
   * const listener = { ...noopListener, onGap: (gap: BrokerGap) => gaps.push(gap) };
   * new BrokerEvents({ nodeId: "n", listener }, BrokerState.Connected).reconnected(["a", "b"]);
   * deepStrictEqual(gaps.map((g) => `${g.reason} ${g.topic} ${g.missed}`), [
   *   "reconnect a -1",
   *   "reconnect b -1",
   * ]);
   * ```
   */
  reconnected(topics: Iterable<string>): void {
    for (const topic of topics) {
      this.#broker.listener.onGap({ reason: GapReason.Reconnect, topic, node: null, missed: -1 });
    }
  }

  /**
   * Forgets a topic's sequence baselines (on unsubscribe: a later subscription starts afresh).
   *
   * @param topic The topic.
   */
  forget(topic: string): void {
    this.#tracker.forget(topic);
  }

  /** Forgets every topic's baselines (on close). */
  clear(): void {
    this.#tracker.clear();
  }
}

/** The subscription table of a bus: topic to subscribed brokers. */
const busTopics = new WeakMap<MemoryBus, Map<string, Set<MemoryBroker>>>();

/**
 * An in-memory bus shared by {@linkcode MemoryBroker}s: each broker is a
 * node, the bus is the broker server.
 *
 * @example Counting topics
 * ```ts
 * import { MemoryBroker, MemoryBus } from "@coroio/core";
 * import { strictEqual } from "node:assert/strict";
 *
 * const bus = new MemoryBus();
 * const node = new MemoryBroker({ bus });
 * await node.subscribe("room");
 * strictEqual(bus.topicCount, 1);
 * await node.close();
 * strictEqual(bus.topicCount, 0);
 * ```
 */
export class MemoryBus {
  /** Creates an empty bus. */
  constructor() {
    busTopics.set(this, new Map());
  }

  /** How many topics have at least one subscribed node. */
  get topicCount(): number {
    return busTopics.get(this)!.size;
  }
}

/** Options for {@linkcode MemoryBroker}. */
export interface MemoryBrokerOptions extends BrokerOptions {
  /**
   * The bus shared with the other nodes.
   *
   * @default {a new bus of its own}
   */
  bus?: MemoryBus;
}

/**
 * An in-process {@linkcode Broker}: nodes sharing a {@linkcode MemoryBus}
 * exchange messages in a later microtask, in publish order, never losing one.
 *
 * @example Two nodes on one bus
 * ```ts
 * import { type BrokerListener, MemoryBroker, MemoryBus } from "@coroio/core";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const got: string[] = [];
 * const listener: BrokerListener = {
 *   onMessage: (topic, payload) => got.push(`${topic}:${new TextDecoder().decode(payload)}`),
 *   onGap() {},
 *   onStateChange() {},
 * };
 * const bus = new MemoryBus();
 * const a = new MemoryBroker({ bus, listener });
 * const b = new MemoryBroker({ bus });
 * await a.subscribe("room");
 * b.publish("room", new TextEncoder().encode("hi"));
 * await Promise.resolve();
 * deepStrictEqual(got, ["room:hi"]);
 * await a.close();
 * await b.close();
 * ```
 */
export class MemoryBroker implements Broker {
  /** This node's id. */
  readonly nodeId: string;
  /** Receives messages, gaps and state changes. */
  listener: BrokerListener;
  #bus: MemoryBus;
  #topics = new Set<string>();
  #seq = new PublishSequence();
  #state: BrokerState = BrokerState.Connected;
  // The inbox: five parallel arrays, drained once per microtask.
  #inTopic: string[] = [];
  #inPayload: Uint8Array[] = [];
  #inNode: string[] = [];
  #inSeq: number[] = [];
  #inFlags: number[] = [];
  #scheduled = false;
  #origin: MessageOrigin = { node: "", seq: 0, flags: 0 };
  #drain = (): void => this.#drainInbox();

  /**
   * Creates a node, connected at once.
   *
   * @param options Bus, node id, listener.
   */
  constructor(options: MemoryBrokerOptions = {}) {
    this.#bus = options.bus ?? new MemoryBus();
    this.nodeId = options.nodeId ?? newNodeId();
    checkNodeId(this.nodeId);
    this.listener = options.listener ?? noopListener;
  }

  /** {@linkcode BrokerState.Connected} until closed. */
  get state(): BrokerState {
    return this.#state;
  }

  /**
   * Subscribes a topic; active when this returns.
   *
   * @param topic The topic.
   * @returns A resolved promise.
   */
  subscribe(topic: string): Promise<void> {
    if (this.#state === BrokerState.Closed) {
      return Promise.reject(new BrokerClosedError("subscribe"));
    }
    this.#topics.add(topic);
    const table = busTopics.get(this.#bus)!;
    let nodes = table.get(topic);
    if (nodes === undefined) {
      nodes = new Set();
      table.set(topic, nodes);
    }
    nodes.add(this);
    return Promise.resolve();
  }

  /**
   * Unsubscribes a topic; nothing more is delivered on it.
   *
   * @param topic The topic.
   * @returns A resolved promise.
   */
  unsubscribe(topic: string): Promise<void> {
    this.#topics.delete(topic);
    const table = busTopics.get(this.#bus)!;
    const nodes = table.get(topic);
    if (nodes !== undefined && nodes.delete(this) && nodes.size === 0) table.delete(topic);
    return Promise.resolve();
  }

  /**
   * Queues the message for every other node subscribed to the topic.
   *
   * @param topic The topic.
   * @param payload The bytes, copied once.
   * @param flags {@linkcode MessageFlags} bits.
   * @throws {BrokerClosedError} If closed.
   */
  publish(topic: string, payload: Uint8Array, flags = 0): void {
    if (this.#state === BrokerState.Closed) throw new BrokerClosedError("publish");
    const seq = this.#seq.next(topic);
    const nodes = busTopics.get(this.#bus)!.get(topic);
    if (nodes === undefined) return;
    let copy: Uint8Array | undefined;
    for (const node of nodes) {
      if (node === this) continue;
      copy ??= payload.slice();
      node.#enqueue(topic, copy, this.nodeId, seq, flags);
    }
  }

  #enqueue(topic: string, payload: Uint8Array, node: string, seq: number, flags: number): void {
    this.#inTopic.push(topic);
    this.#inPayload.push(payload);
    this.#inNode.push(node);
    this.#inSeq.push(seq);
    this.#inFlags.push(flags);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#drain);
    }
  }

  #drainInbox(): void {
    this.#scheduled = false;
    const topics = this.#inTopic;
    const origin = this.#origin;
    // A listener may publish to this node's bus during the loop: new entries land in the
    // arrays past `n` and are drained by the next scheduled microtask.
    const n = topics.length;
    for (let i = 0; i < n; i++) {
      const topic = topics[i]!;
      if (!this.#topics.has(topic)) continue;
      origin.node = this.#inNode[i]!;
      origin.seq = this.#inSeq[i]!;
      origin.flags = this.#inFlags[i]!;
      try {
        this.listener.onMessage(topic, this.#inPayload[i]!, origin);
      } catch (error) {
        reportError(error);
      }
    }
    topics.splice(0, n);
    this.#inPayload.splice(0, n);
    this.#inNode.splice(0, n);
    this.#inSeq.splice(0, n);
    this.#inFlags.splice(0, n);
  }

  /**
   * Leaves the bus; idempotent.
   *
   * @returns A resolved promise.
   */
  close(): Promise<void> {
    if (this.#state === BrokerState.Closed) return Promise.resolve();
    for (const topic of [...this.#topics]) void this.unsubscribe(topic);
    this.#inTopic.length = 0;
    this.#inPayload.length = 0;
    this.#inNode.length = 0;
    this.#inSeq.length = 0;
    this.#inFlags.length = 0;
    this.#state = BrokerState.Closed;
    this.listener.onStateChange(BrokerState.Closed, undefined);
    return Promise.resolve();
  }
}
