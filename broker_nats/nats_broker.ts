import {
  type Broker,
  BrokerClosedError,
  type BrokerListener,
  BrokerState,
  decodeEnvelope,
  encodeEnvelope,
  type Envelope,
  GapReason,
  type MessageOrigin,
  newNodeId,
  PublishSequence,
  SequenceTracker,
} from "@coroio/core";
import {
  connect,
  type Msg,
  type NatsConnection,
  type NodeConnectionOptions,
  type Status,
  type Subscription,
} from "@nats-io/transport-node";
import { topicSubject } from "./subject.ts";

/** Options for {@linkcode NatsBroker}. */
export interface NatsBrokerOptions {
  /**
   * The server(s), `host:port` or `nats://host:port`.
   *
   * @default {"127.0.0.1:4222"}
   */
  servers?: string | string[];
  /**
   * Subject tokens before the encoded topic (see {@linkcode topicSubject}).
   *
   * @default {"coroio"}
   */
  subjectPrefix?: string;
  /**
   * This node's id.
   *
   * @default {newNodeId()}
   */
  nodeId?: string;
  /**
   * The event receiver (also settable later as `listener`).
   *
   * @default {a listener that ignores everything}
   */
  listener?: BrokerListener;
  /**
   * How often the client PINGs the server, in milliseconds; two unanswered PINGs mean a dead
   * (half-open) link and the client reconnects.
   *
   * @default {5000}
   */
  heartbeatInterval?: number;
  /**
   * The first reconnect delay in milliseconds; it doubles per failed attempt (with jitter).
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

const IGNORE: BrokerListener = {
  onMessage(): void {},
  onGap(): void {},
  onStateChange(): void {},
};

function positive(name: string, value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(`Cannot create NatsBroker: ${name} must be a positive number`);
  }
  return value;
}

/**
 * A {@linkcode Broker} over core NATS with the official
 * `@nats-io/transport-node` client: one connection, interest-based (the
 * server forwards a subject only to connections subscribed to it), `noEcho`
 * so a node's own messages never come back. Topics are encoded into literal
 * subjects ({@linkcode topicSubject}): `x.*` is a topic, not a wildcard.
 *
 * The client PINGs every `heartbeatInterval` and reconnects with exponential
 * backoff when two PINGs go unanswered or the link drops; NATS clients renew
 * every subscription on reconnect, after which this broker reports a
 * {@linkcode GapReason.Reconnect} gap per topic. Publishes while disconnected
 * are dropped and counted ({@linkcode NatsBroker.dropped}) instead of piling
 * up in the client's reconnect buffer; holes in a publisher's sequence numbers
 * are reported as {@linkcode GapReason.Sequence} gaps. NATS core is at most
 * once, and a slow consumer is disconnected by the server (`max_pending`,
 * `write_deadline`): that too ends in a reconnect and gaps.
 *
 * @example Two nodes through one NATS server (needs a running server)
 * ```ts ignore
 * import { NatsBroker } from "@coroio/broker-nats";
 *
 * const a = new NatsBroker({ servers: "127.0.0.1:4222" });
 * const b = new NatsBroker({ servers: "127.0.0.1:4222" });
 * a.listener = {
 *   onMessage: (topic, payload) => console.log(topic, payload),
 *   onGap: (gap) => console.log("resync", gap.topic),
 *   onStateChange: (state) => console.log(state),
 * };
 * await a.subscribe("room.*"); // a literal topic
 * b.publish("room.*", new TextEncoder().encode("hi"));
 * ```
 *
 * @example Options are checked
 * ```ts
 * import { NatsBroker } from "@coroio/broker-nats";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => new NatsBroker({ heartbeatInterval: 0 }), RangeError);
 * ```
 */
export class NatsBroker implements Broker {
  /** This node's id. */
  readonly nodeId: string;
  /** Receives messages, gaps and state changes. */
  listener: BrokerListener;
  #prefix: string;
  #reconnectDelay: number;
  #maxReconnectDelay: number;
  #state: BrokerState = BrokerState.Connecting;
  #options: NodeConnectionOptions;
  #retry: PromiseWithResolvers<void> | undefined;
  /** Settles when the connection is up again after a disconnect (renewed at each one). */
  #up = Promise.withResolvers<void>();
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #nc: NatsConnection | undefined;
  #connecting: Promise<NatsConnection | undefined>;
  #statusLoop: Promise<void> | undefined;
  #subs = new Map<string, Subscription>();
  #topicOf = new Map<string, string>();
  #seq = new PublishSequence();
  #tracker = new SequenceTracker();
  #attempt = 0;
  #dropped = 0;
  #envelope: Envelope = { node: "", seq: 0, flags: 0, payload: new Uint8Array() };
  #origin: MessageOrigin = { node: "", seq: 0, flags: 0 };
  #onNatsMessage = (error: Error | null, msg: Msg): void => {
    if (error === null) this.#receive(msg);
  };
  #ignore = (): void => {};

  /**
   * Starts connecting; see {@linkcode NatsBroker.ready}.
   *
   * @param options Servers, prefix, node id, listener, heartbeat and backoff.
   * @throws {RangeError} If a duration is not positive.
   */
  constructor(options: NatsBrokerOptions = {}) {
    const heartbeat = positive("heartbeatInterval", options.heartbeatInterval ?? 5000);
    void this.#up.promise.catch(this.#ignore);
    this.#reconnectDelay = positive("reconnectDelay", options.reconnectDelay ?? 50);
    this.#maxReconnectDelay = positive("maxReconnectDelay", options.maxReconnectDelay ?? 5000);
    const timeout = positive("connectTimeout", options.connectTimeout ?? 5000);
    this.#prefix = options.subjectPrefix ?? "coroio";
    this.nodeId = options.nodeId ?? newNodeId();
    encodeEnvelope(this.nodeId, 0, 0, new Uint8Array()); // validates the id
    this.listener = options.listener ?? IGNORE;
    this.#options = {
      servers: options.servers ?? "127.0.0.1:4222",
      name: `coroio-${this.nodeId}`,
      noEcho: true,
      maxReconnectAttempts: -1,
      pingInterval: heartbeat,
      maxPingOut: 2,
      timeout,
      reconnectDelayHandler: () => this.#backoff(),
    };
    this.#connecting = this.#firstConnect();
  }

  /**
   * The first connection is this broker's loop (the client's own retry before a first
   * connection cannot be cancelled by close()); after it the client reconnects by itself.
   */
  async #firstConnect(): Promise<NatsConnection | undefined> {
    for (;;) {
      try {
        const nc = await connect(this.#options);
        if (this.#closed()) {
          await nc.close().catch(this.#ignore);
          return undefined;
        }
        return this.#connected(nc);
      } catch (error) {
        if (this.#closed()) return undefined;
        this.#setState(BrokerState.Disconnected, error);
      }
      const wait = Promise.withResolvers<void>();
      this.#retry = wait;
      this.#retryTimer = setTimeout(wait.resolve, this.#backoff());
      await wait.promise;
      this.#retry = undefined;
      if (this.#closed()) return undefined;
    }
  }

  /** The connection's state. */
  get state(): BrokerState {
    return this.#state;
  }

  /** How many publishes were dropped because the connection was down. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Resolves once connected the first time.
   *
   * @returns When the broker is ready.
   * @throws {BrokerClosedError} (rejects) If closed first.
   */
  async ready(): Promise<void> {
    if ((await this.#connecting) === undefined || this.#closed()) {
      throw new BrokerClosedError("wait for ready");
    }
  }

  #closed(): boolean {
    return this.#state === BrokerState.Closed;
  }

  #backoff(): number {
    const delay = Math.min(this.#maxReconnectDelay, this.#reconnectDelay * 2 ** this.#attempt++);
    return Math.round(delay * (0.8 + Math.random() * 0.4));
  }

  #connected(nc: NatsConnection): NatsConnection {
    this.#nc = nc;
    this.#up.resolve();
    this.#attempt = 0;
    this.#statusLoop = this.#watch(nc);
    this.#setState(BrokerState.Connected, undefined);
    return nc;
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) this.#onStatus(nc, status);
  }

  #onStatus(nc: NatsConnection, status: Status): void {
    if (this.#closed()) return;
    switch (status.type) {
      case "disconnect":
      case "staleConnection":
        if (this.#state === BrokerState.Connected) {
          this.#up = Promise.withResolvers<void>();
          void this.#up.promise.catch(this.#ignore);
        }
        this.#setState(BrokerState.Disconnected, new Error(`NATS: ${status.type}`));
        break;
      case "reconnect":
        this.#attempt = 0;
        // The client has re-sent every SUB; the flush confirms them before the gaps go out.
        nc.flush().then(() => this.#reconnected(), this.#ignore);
        break;
    }
  }

  #reconnected(): void {
    if (this.#closed()) return;
    this.#setState(BrokerState.Connected, undefined);
    this.#up.resolve();
    for (const topic of this.#subs.keys()) {
      this.listener.onGap({ reason: GapReason.Reconnect, topic, node: null, missed: -1 });
    }
  }

  #setState(state: BrokerState, error: unknown): void {
    if (this.#state === state) return;
    this.#state = state;
    const cause = error === undefined || error instanceof Error ? error : new Error(String(error));
    this.listener.onStateChange(state, cause);
  }

  /**
   * Subscribes a topic.
   *
   * @param topic The topic, encoded into a literal subject.
   * @returns When the server confirmed (a PING/PONG round trip after the SUB), after the
   * reconnect if the link is down.
   * @throws {BrokerClosedError} (rejects) If the broker is or gets closed first.
   */
  async subscribe(topic: string): Promise<void> {
    if (this.#closed()) throw new BrokerClosedError("subscribe");
    const nc = this.#nc ?? await this.#connecting;
    if (nc === undefined || this.#closed()) throw new BrokerClosedError("subscribe");
    if (!this.#subs.has(topic)) {
      const subject = topicSubject(this.#prefix, topic);
      this.#subs.set(topic, nc.subscribe(subject, { callback: this.#onNatsMessage }));
      this.#topicOf.set(subject, topic);
    }
    for (;;) {
      try {
        await nc.flush();
        return;
      } catch (error) {
        if (this.#closed()) throw new BrokerClosedError("subscribe");
        if (this.#state === BrokerState.Connected) throw error;
      }
      // Disconnected: the client sends the SUB again when it reconnects; confirm after that.
      try {
        await this.#up.promise;
      } catch {
        throw new BrokerClosedError("subscribe");
      }
      if (!this.#subs.has(topic)) return;
    }
  }

  /**
   * Unsubscribes a topic; nothing more is delivered on it.
   *
   * @param topic The topic.
   * @returns When the server confirmed.
   */
  async unsubscribe(topic: string): Promise<void> {
    const sub = this.#subs.get(topic);
    this.#tracker.forget(topic);
    if (sub === undefined) return;
    this.#subs.delete(topic);
    this.#topicOf.delete(sub.getSubject());
    sub.unsubscribe();
    await this.#nc?.flush().catch(this.#ignore);
  }

  /**
   * Publishes on the topic's subject, fire-and-forget; dropped (and counted in
   * {@linkcode NatsBroker.dropped}) while disconnected.
   *
   * @param topic The topic.
   * @param payload The bytes, copied into the envelope.
   * @param flags `MessageFlags` bits.
   * @throws {BrokerClosedError} If closed.
   * @throws {RangeError} If the envelope exceeds the server's `max_payload`.
   */
  publish(topic: string, payload: Uint8Array, flags = 0): void {
    if (this.#closed()) throw new BrokerClosedError("publish");
    const seq = this.#seq.next(topic);
    const nc = this.#nc;
    if (nc === undefined || this.#state !== BrokerState.Connected) {
      this.#dropped++;
      return;
    }
    const envelope = encodeEnvelope(this.nodeId, seq, flags, payload);
    const max = nc.info?.max_payload;
    if (max !== undefined && envelope.length > max) {
      throw new RangeError(
        `Cannot publish: ${envelope.length} bytes exceed the server's max_payload ${max}`,
      );
    }
    nc.publish(topicSubject(this.#prefix, topic), envelope);
  }

  #receive(msg: Msg): void {
    const topic = this.#topicOf.get(msg.subject);
    if (topic === undefined) return;
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(msg.data, this.#envelope);
    } catch {
      return; // not from a coroio broker
    }
    if (envelope.node === this.nodeId) return;
    const missed = this.#tracker.observe(topic, envelope.node, envelope.seq);
    if (missed < 0) return;
    if (missed > 0) {
      this.listener.onGap({ reason: GapReason.Sequence, topic, node: envelope.node, missed });
    }
    const origin = this.#origin;
    origin.node = envelope.node;
    origin.seq = envelope.seq;
    origin.flags = envelope.flags;
    try {
      this.listener.onMessage(topic, envelope.payload, origin);
    } catch (error) {
      reportError(error);
    }
  }

  /**
   * Closes the connection; idempotent.
   *
   * @returns When the connection and its status watcher are done.
   */
  async close(): Promise<void> {
    if (this.#closed()) return;
    this.#setState(BrokerState.Closed, undefined);
    this.#up.reject(new BrokerClosedError("subscribe"));
    clearTimeout(this.#retryTimer);
    this.#retry?.resolve();
    await this.#connecting;
    const nc = this.#nc;
    this.#nc = undefined;
    this.#subs.clear();
    this.#topicOf.clear();
    this.#tracker.clear();
    if (nc !== undefined) {
      await nc.close().catch(this.#ignore);
      await this.#statusLoop;
    }
  }
}
