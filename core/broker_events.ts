/**
 * What every broker implementation shares: its reconnect settings and
 * backoff, and `BrokerEvents`, the state / delivery / gap bookkeeping a
 * broker owns.
 *
 * @module
 */
import { intOption } from "./options.ts";
import { checkNodeId } from "./_broker_node_id.ts";
import {
  type BrokerListener,
  BrokerState,
  GapReason,
  type MessageOrigin,
  newNodeId,
  noopListener,
  type ReconnectingBrokerOptions,
  type ReconnectSettings,
} from "./broker.ts";
import { decodeEnvelope, type Envelope, SequenceTracker } from "./broker_envelope.ts";

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
