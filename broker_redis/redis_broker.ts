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
import { Buffer } from "node:buffer";
import { createClient, ErrorReply } from "@redis/client";

type Client = ReturnType<typeof createClient>;

/** Options for {@linkcode RedisBroker}. */
export interface RedisBrokerOptions {
  /**
   * The server, as a `redis://` or `rediss://` URL (credentials and database allowed).
   *
   * @default {"redis://127.0.0.1:6379"}
   */
  url?: string;
  /**
   * Prepended to every topic to make its Redis channel, so several applications can share a
   * server. Channels are literal: `SUBSCRIBE`, never `PSUBSCRIBE`.
   *
   * @default {"coroio:"}
   */
  channelPrefix?: string;
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
   * How often both connections are PINGed, in milliseconds. A PING still unanswered at the
   * next beat means a dead (half-open) link: the connection is dropped and made again.
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
    throw new RangeError(`Cannot create RedisBroker: ${name} must be a positive number`);
  }
  return value;
}

/**
 * A {@linkcode Broker} over Redis pub/sub with the official `redis` client:
 * one connection publishes, a separate one subscribes (a subscribed Redis
 * connection cannot publish). Both connections are this broker's business,
 * not the client's (its reconnection is off): when one drops it is made again
 * with exponential backoff and jitter. The subscriber connection is PINGed
 * every `heartbeatInterval`, so a half-open link is found; after a reconnect
 * every topic is subscribed again and a {@linkcode GapReason.Reconnect} gap is
 * reported per topic; holes in a publisher's sequence numbers are reported as
 * {@linkcode GapReason.Sequence} gaps as they show up. Publishes while the
 * publisher connection is down are dropped and counted
 * ({@linkcode RedisBroker.dropped}), never queued without bound: Redis pub/sub
 * is at most once anyway.
 *
 * @example Two nodes through one Redis (needs a running server)
 * ```ts ignore
 * import { RedisBroker } from "@coroio/broker-redis";
 *
 * const a = new RedisBroker({ url: "redis://127.0.0.1:6379" });
 * const b = new RedisBroker({ url: "redis://127.0.0.1:6379" });
 * a.listener = {
 *   onMessage: (topic, payload) => console.log(topic, payload),
 *   onGap: (gap) => console.log("resync", gap.topic),
 *   onStateChange: (state) => console.log(state),
 * };
 * await a.subscribe("room:1");
 * b.publish("room:1", new TextEncoder().encode("hi"));
 * ```
 *
 * @example Options are checked
 * ```ts
 * import { RedisBroker } from "@coroio/broker-redis";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => new RedisBroker({ heartbeatInterval: 0 }), RangeError);
 * ```
 */
export class RedisBroker implements Broker {
  /** This node's id. */
  readonly nodeId: string;
  /** Receives messages, gaps and state changes. */
  listener: BrokerListener;
  #url: string;
  #prefix: string;
  #prefixBytes: number;
  #heartbeatInterval: number;
  #reconnectDelay: number;
  #maxReconnectDelay: number;
  #connectTimeout: number;
  #state: BrokerState = BrokerState.Connecting;
  #topics = new Set<string>();
  #seq = new PublishSequence();
  #tracker = new SequenceTracker();
  #pub: Client | undefined;
  #pubReady = Promise.withResolvers<void>();
  #pubAttempt = 0;
  #pubTimer: ReturnType<typeof setTimeout> | undefined;
  #pubConnecting: Promise<void> | undefined;
  #opening = new Set<Client>();
  #sub: Client | undefined;
  #ready = Promise.withResolvers<void>();
  #everConnected = false;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #pingOutstanding = false;
  #connecting: Promise<void> | undefined;
  #dropped = 0;
  #decoder = new TextDecoder();
  #envelope: Envelope = { node: "", seq: 0, flags: 0, payload: new Uint8Array() };
  #origin: MessageOrigin = { node: "", seq: 0, flags: 0 };
  #onRedisMessage = (message: Buffer, channel: Buffer): void => this.#receive(message, channel);
  #onPublishError = (): void => {
    this.#dropped++;
  };
  #onPong = (): void => {
    this.#pingOutstanding = false;
  };
  #pubPingOutstanding = false;
  #onPubPong = (): void => {
    this.#pubPingOutstanding = false;
  };
  #onClientError = (): void => {}; // every failure also ends in 'terminated' or a rejection
  #beat = (): void => this.#heartbeatTick();
  #reconnect = (): void => {
    this.#reconnectTimer = undefined;
    this.#connecting = this.#connect();
  };
  #reconnectPub = (): void => {
    this.#pubTimer = undefined;
    this.#pubConnecting = this.#connectPub();
  };

  /**
   * Starts connecting both connections; see {@linkcode RedisBroker.ready}.
   *
   * @param options Server, prefix, node id, listener, heartbeat and backoff.
   * @throws {RangeError} If a duration is not positive.
   */
  constructor(options: RedisBrokerOptions = {}) {
    this.#url = options.url ?? "redis://127.0.0.1:6379";
    this.#prefix = options.channelPrefix ?? "coroio:";
    this.#prefixBytes = new TextEncoder().encode(this.#prefix).length;
    this.#heartbeatInterval = positive("heartbeatInterval", options.heartbeatInterval ?? 5000);
    this.#reconnectDelay = positive("reconnectDelay", options.reconnectDelay ?? 50);
    this.#maxReconnectDelay = positive("maxReconnectDelay", options.maxReconnectDelay ?? 5000);
    this.#connectTimeout = positive("connectTimeout", options.connectTimeout ?? 5000);
    this.nodeId = options.nodeId ?? newNodeId();
    encodeEnvelope(this.nodeId, 0, 0, new Uint8Array()); // validates the id
    this.listener = options.listener ?? IGNORE;
    void this.#ready.promise.catch(this.#onClientError);
    void this.#pubReady.promise.catch(this.#onClientError);
    this.#pubConnecting = this.#connectPub();
    this.#connecting = this.#connect();
  }

  /** The subscriber connection's state. */
  get state(): BrokerState {
    return this.#state;
  }

  /** How many publishes failed (the publisher connection was down). */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Resolves once both connections are up the first time.
   *
   * @returns When the broker is ready.
   * @throws {BrokerClosedError} (rejects) If closed first.
   */
  async ready(): Promise<void> {
    await this.#ready.promise;
    await this.#pubReady.promise;
  }

  #closed(): boolean {
    return this.#state === BrokerState.Closed;
  }

  #backoff(retries: number): number {
    const delay = Math.min(this.#maxReconnectDelay, this.#reconnectDelay * 2 ** retries);
    return Math.round(delay * (0.8 + Math.random() * 0.4));
  }

  #channel(topic: string): string {
    return this.#prefix + topic;
  }

  /**
   * Opens one connection with the client's own reconnection off (this broker owns it). The
   * whole handshake is bounded by connectTimeout: a frozen server accepts TCP but never answers.
   */
  async #open(): Promise<Client> {
    const client: Client = createClient({
      url: this.#url,
      disableOfflineQueue: true,
      socket: { connectTimeout: this.#connectTimeout, reconnectStrategy: false },
    });
    client.on("error", this.#onClientError);
    client.on("terminated", (error: unknown) => this.#clientLost(client, error));
    this.#opening.add(client);
    const timer = setTimeout(() => client.destroy(), this.#connectTimeout);
    try {
      await client.connect();
      return client;
    } catch (error) {
      client.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
      this.#opening.delete(client);
    }
  }

  async #connectPub(): Promise<void> {
    let client: Client;
    try {
      client = await this.#open();
    } catch {
      if (this.#closed()) return;
      this.#pubTimer = setTimeout(this.#reconnectPub, this.#backoff(this.#pubAttempt++));
      return;
    }
    if (this.#closed()) {
      client.destroy();
      return;
    }
    this.#pub = client;
    this.#pubAttempt = 0;
    this.#pubPingOutstanding = false;
    this.#pubReady.resolve();
    if (!client.isReady) this.#clientLost(client, new Error("Redis connection closed"));
  }

  async #connect(): Promise<void> {
    let client: Client;
    try {
      client = await this.#open();
    } catch (error) {
      if (this.#closed()) return;
      this.#setState(BrokerState.Disconnected, error);
      this.#reconnectTimer = setTimeout(this.#reconnect, this.#backoff(this.#attempt++));
      return;
    }
    const timer = setTimeout(() => client.destroy(), this.#connectTimeout);
    try {
      const topics = [...this.#topics];
      if (topics.length > 0 && !this.#closed()) {
        const channels = topics.map((topic) => this.#channel(topic));
        await client.subscribe(channels, this.#onRedisMessage, true);
        // Topics unsubscribed while that was in flight: drop them on the server too.
        const stale = topics.filter((topic) => !this.#topics.has(topic));
        if (stale.length > 0) {
          await client.unsubscribe(
            stale.map((topic) => this.#channel(topic)),
            this.#onRedisMessage,
            true,
          );
        }
      }
    } catch (error) {
      client.destroy();
      if (this.#closed()) return;
      this.#setState(BrokerState.Disconnected, error);
      this.#reconnectTimer = setTimeout(this.#reconnect, this.#backoff(this.#attempt++));
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.#closed()) {
      client.destroy();
      return;
    }
    this.#sub = client;
    this.#attempt = 0;
    this.#pingOutstanding = false;
    this.#heartbeat ??= setInterval(this.#beat, this.#heartbeatInterval);
    this.#setState(BrokerState.Connected, undefined);
    if (this.#everConnected) {
      for (const topic of this.#topics) {
        this.listener.onGap({ reason: GapReason.Reconnect, topic, node: null, missed: -1 });
      }
    }
    this.#everConnected = true;
    this.#ready.resolve();
    if (!client.isReady) this.#clientLost(client, new Error("Redis connection closed"));
  }

  /** A connection ended without close(): the current subscriber or publisher is made again. */
  #clientLost(client: Client, error: unknown): void {
    if (client === this.#sub) this.#lost(client, error);
    else if (client === this.#pub && !this.#closed()) {
      this.#pub = undefined;
      client.destroy();
      this.#pubTimer = setTimeout(this.#reconnectPub, this.#backoff(this.#pubAttempt++));
    }
  }

  /** The subscriber connection `client` failed: drop it and reconnect (once per client). */
  #lost(client: Client, error: unknown): void {
    if (client !== this.#sub || this.#closed()) return;
    this.#sub = undefined;
    client.destroy();
    this.#ready = Promise.withResolvers<void>();
    void this.#ready.promise.catch(this.#onClientError);
    this.#setState(BrokerState.Disconnected, error);
    this.#reconnectTimer = setTimeout(this.#reconnect, this.#backoff(this.#attempt++));
  }

  #heartbeatTick(): void {
    const pub = this.#pub;
    if (pub !== undefined) {
      // The publisher too: over a half-open link, publishes would vanish into a socket buffer.
      if (this.#pubPingOutstanding) {
        this.#pubPingOutstanding = false;
        this.#clientLost(pub, new Error("Redis publisher connection: no PING reply"));
      } else {
        this.#pubPingOutstanding = true;
        pub.ping().then(this.#onPubPong, this.#onClientError);
      }
    }
    const sub = this.#sub;
    if (sub === undefined) return;
    if (this.#pingOutstanding) {
      this.#lost(sub, new Error("Redis subscriber connection: no PING reply within a heartbeat"));
      return;
    }
    this.#pingOutstanding = true;
    sub.ping().then(this.#onPong, this.#onClientError);
  }

  #setState(state: BrokerState, error: unknown): void {
    if (this.#state === state) return;
    this.#state = state;
    const cause = error === undefined || error instanceof Error ? error : new Error(String(error));
    this.listener.onStateChange(state, cause);
  }

  /**
   * Subscribes a topic (the Redis channel `channelPrefix + topic`).
   *
   * @param topic The topic.
   * @returns When Redis confirmed the subscription (after a reconnect if the link is down).
   * @throws {BrokerClosedError} (rejects) If the broker is or gets closed first.
   * @throws {Error} (rejects) Redis's error reply if it refuses (an ACL); the topic is dropped.
   */
  async subscribe(topic: string): Promise<void> {
    if (this.#state === BrokerState.Closed) throw new BrokerClosedError("subscribe");
    this.#topics.add(topic);
    for (;;) {
      const sub = this.#sub;
      if (sub === undefined) {
        await this.#ready.promise;
        continue;
      }
      try {
        await sub.subscribe(this.#channel(topic), this.#onRedisMessage, true);
        return;
      } catch (error) {
        if (this.#closed()) throw new BrokerClosedError("subscribe");
        if (error instanceof ErrorReply) {
          // Redis refused (an ACL, say): a new connection would not change its mind.
          this.#topics.delete(topic);
          throw error;
        }
        this.#lost(sub, error);
      }
    }
  }

  /**
   * Unsubscribes a topic; nothing more is delivered on it.
   *
   * @param topic The topic.
   * @returns When Redis confirmed, or at once when disconnected (a reconnect will not renew it).
   */
  async unsubscribe(topic: string): Promise<void> {
    this.#topics.delete(topic);
    this.#tracker.forget(topic);
    const sub = this.#sub;
    if (sub === undefined || this.#state === BrokerState.Closed) return;
    try {
      await sub.unsubscribe(this.#channel(topic), this.#onRedisMessage, true);
    } catch {
      // the connection died: the next one is made without this topic
    }
  }

  /**
   * Publishes on the topic's channel, fire-and-forget; dropped (and counted in
   * {@linkcode RedisBroker.dropped}) while the publisher connection is down.
   *
   * @param topic The topic.
   * @param payload The bytes, copied into the envelope.
   * @param flags `MessageFlags` bits.
   * @throws {BrokerClosedError} If closed.
   */
  publish(topic: string, payload: Uint8Array, flags = 0): void {
    if (this.#state === BrokerState.Closed) throw new BrokerClosedError("publish");
    const envelope = encodeEnvelope(this.nodeId, this.#seq.next(topic), flags, payload);
    const pub = this.#pub;
    if (pub === undefined) {
      this.#dropped++;
      return;
    }
    const message = Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength);
    pub.publish(this.#channel(topic), message).catch(this.#onPublishError);
  }

  #receive(message: Buffer, channel: Buffer): void {
    const topic = this.#decoder.decode(channel.subarray(this.#prefixBytes));
    if (!this.#topics.has(topic)) return;
    let envelope: Envelope;
    try {
      envelope = decodeEnvelope(message, this.#envelope);
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
   * Closes both connections and every timer; pending subscribes reject. Messages already
   * published are sent first (waiting up to `connectTimeout` for Redis). Idempotent.
   *
   * @returns When the connections are closed.
   */
  async close(): Promise<void> {
    if (this.#state === BrokerState.Closed) return;
    this.#setState(BrokerState.Closed, undefined);
    clearInterval(this.#heartbeat);
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#pubTimer);
    this.#ready.reject(new BrokerClosedError("subscribe"));
    this.#pubReady.reject(new BrokerClosedError("wait for ready"));
    for (const client of this.#opening) client.destroy();
    const sub = this.#sub;
    this.#sub = undefined;
    sub?.destroy();
    const pub = this.#pub;
    this.#pub = undefined;
    if (pub !== undefined) {
      // Publishes already written still reach Redis; a server that stops answering gets
      // connectTimeout to do so, then the connection is cut.
      const timer = setTimeout(() => pub.destroy(), this.#connectTimeout);
      try {
        await pub.close();
      } catch {
        pub.destroy();
      } finally {
        clearTimeout(timer);
      }
    }
    await this.#connecting;
    await this.#pubConnecting;
    this.#topics.clear();
    this.#tracker.clear();
  }
}
