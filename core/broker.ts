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
