import {
  type Broker,
  BrokerClosedError,
  BrokerEvents,
  type BrokerListener,
  BrokerState,
  encodeEnvelope,
  PublishSequence,
  reconnectBackoff,
  type ReconnectingBrokerOptions,
  type ReconnectSettings,
  reconnectSettings,
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

/**
 * Options for {@linkcode NatsBroker}; the node id, listener, heartbeat and
 * backoff are the {@linkcode ReconnectingBrokerOptions} every reconnecting broker takes.
 * The heartbeat is the client's PING: two unanswered PINGs mean a dead link and the
 * client reconnects.
 */
export interface NatsBrokerOptions extends ReconnectingBrokerOptions {
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
  #settings: ReconnectSettings;
  #events = new BrokerEvents(this, BrokerState.Connecting);
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
  #attempt = 0;
  #dropped = 0;
  #onNatsMessage = (error: Error | null, msg: Msg): void => {
    if (error === null) this.#receive(msg);
  };
  #ignore = (): void => {};

  /**
   * Starts connecting; see {@linkcode NatsBroker.ready}.
   *
   * @param options Servers, prefix, node id, listener, heartbeat and backoff.
   * @throws {RangeError} If a duration is not an integer `>= 1`, or the node id is empty or
   * too long.
   * @throws {TypeError} If the node id holds other than printable ASCII.
   */
  constructor(options: NatsBrokerOptions = {}) {
    this.#settings = reconnectSettings("NatsBroker", options);
    this.nodeId = this.#settings.nodeId;
    this.listener = this.#settings.listener;
    void this.#up.promise.catch(this.#ignore);
    this.#prefix = options.subjectPrefix ?? "coroio";
    this.#options = {
      servers: options.servers ?? "127.0.0.1:4222",
      name: `coroio-${this.nodeId}`,
      noEcho: true,
      maxReconnectAttempts: -1,
      pingInterval: this.#settings.heartbeatInterval,
      maxPingOut: 2,
      timeout: this.#settings.connectTimeout,
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
        if (this.#events.closed) {
          await nc.close().catch(this.#ignore);
          return undefined;
        }
        return this.#connected(nc);
      } catch (error) {
        if (this.#events.closed) return undefined;
        this.#events.setState(BrokerState.Disconnected, error);
      }
      const wait = Promise.withResolvers<void>();
      this.#retry = wait;
      this.#retryTimer = setTimeout(wait.resolve, this.#backoff());
      await wait.promise;
      this.#retry = undefined;
      if (this.#events.closed) return undefined;
    }
  }

  /** The connection's state. */
  get state(): BrokerState {
    return this.#events.state;
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
    if ((await this.#connecting) === undefined || this.#events.closed) {
      throw new BrokerClosedError("wait for ready");
    }
  }

  #backoff(): number {
    return reconnectBackoff(this.#settings, this.#attempt++);
  }

  #connected(nc: NatsConnection): NatsConnection {
    this.#nc = nc;
    this.#up.resolve();
    this.#attempt = 0;
    this.#statusLoop = this.#watch(nc);
    this.#events.setState(BrokerState.Connected, undefined);
    return nc;
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) this.#onStatus(nc, status);
  }

  #onStatus(nc: NatsConnection, status: Status): void {
    if (this.#events.closed) return;
    switch (status.type) {
      case "disconnect":
      case "staleConnection":
        if (this.#events.state === BrokerState.Connected) {
          this.#up = Promise.withResolvers<void>();
          void this.#up.promise.catch(this.#ignore);
        }
        this.#events.setState(BrokerState.Disconnected, new Error(`NATS: ${status.type}`));
        break;
      case "reconnect":
        this.#attempt = 0;
        // The client has re-sent every SUB; the flush confirms them before the gaps go out.
        nc.flush().then(() => this.#reconnected(), this.#ignore);
        break;
    }
  }

  #reconnected(): void {
    if (this.#events.closed) return;
    this.#events.setState(BrokerState.Connected, undefined);
    this.#up.resolve();
    this.#events.reconnected(this.#subs.keys());
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
    if (this.#events.closed) throw new BrokerClosedError("subscribe");
    const nc = this.#nc ?? await this.#connecting;
    if (nc === undefined || this.#events.closed) throw new BrokerClosedError("subscribe");
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
        if (this.#events.closed) throw new BrokerClosedError("subscribe");
        if (this.#events.state === BrokerState.Connected) throw error;
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
    this.#events.forget(topic);
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
    if (this.#events.closed) throw new BrokerClosedError("publish");
    const seq = this.#seq.next(topic);
    const nc = this.#nc;
    if (nc === undefined || this.#events.state !== BrokerState.Connected) {
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
    if (topic !== undefined) this.#events.deliver(topic, msg.data);
  }

  /**
   * Closes the connection; idempotent.
   *
   * @returns When the connection and its status watcher are done.
   */
  async close(): Promise<void> {
    if (this.#events.closed) return;
    this.#events.setState(BrokerState.Closed, undefined);
    this.#up.reject(new BrokerClosedError("subscribe"));
    clearTimeout(this.#retryTimer);
    this.#retry?.resolve();
    await this.#connecting;
    const nc = this.#nc;
    this.#nc = undefined;
    this.#subs.clear();
    this.#topicOf.clear();
    this.#events.clear();
    if (nc !== undefined) {
      await nc.close().catch(this.#ignore);
      await this.#statusLoop;
    }
  }
}
