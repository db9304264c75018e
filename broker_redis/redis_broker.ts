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
import { Buffer } from "node:buffer";
import { createClient, ErrorReply } from "@redis/client";

type Client = ReturnType<typeof createClient>;

/**
 * Options for {@linkcode RedisBroker}; the node id, listener, heartbeat and
 * backoff are the {@linkcode ReconnectingBrokerOptions} every reconnecting broker takes.
 * Both connections (publisher and subscriber) are PINGed every
 * `heartbeatInterval`; a PING still unanswered at the next beat drops that connection.
 */
export interface RedisBrokerOptions extends ReconnectingBrokerOptions {
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
  #settings: ReconnectSettings;
  #events = new BrokerEvents(this, BrokerState.Connecting);
  #topics = new Set<string>();
  #seq = new PublishSequence();
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
   * @throws {RangeError} If a duration is not an integer `>= 1`, or the node id is empty or
   * too long.
   * @throws {TypeError} If the node id holds other than printable ASCII.
   */
  constructor(options: RedisBrokerOptions = {}) {
    this.#settings = reconnectSettings("RedisBroker", options);
    this.nodeId = this.#settings.nodeId;
    this.listener = this.#settings.listener;
    this.#url = options.url ?? "redis://127.0.0.1:6379";
    this.#prefix = options.channelPrefix ?? "coroio:";
    this.#prefixBytes = new TextEncoder().encode(this.#prefix).length;
    void this.#ready.promise.catch(this.#onClientError);
    void this.#pubReady.promise.catch(this.#onClientError);
    this.#pubConnecting = this.#connectPub();
    this.#connecting = this.#connect();
  }

  /** The subscriber connection's state. */
  get state(): BrokerState {
    return this.#events.state;
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

  /** The subscriber connection is down: report it and try again after the backoff. */
  #retrySub(error: unknown): void {
    this.#events.setState(BrokerState.Disconnected, error);
    const delay = reconnectBackoff(this.#settings, this.#attempt++);
    this.#reconnectTimer = setTimeout(this.#reconnect, delay);
  }

  /** The publisher connection is down: try again after the backoff. */
  #retryPub(): void {
    this.#pubTimer = setTimeout(
      this.#reconnectPub,
      reconnectBackoff(this.#settings, this.#pubAttempt++),
    );
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
      socket: { connectTimeout: this.#settings.connectTimeout, reconnectStrategy: false },
    });
    client.on("error", this.#onClientError);
    client.on("terminated", (error: unknown) => this.#clientLost(client, error));
    this.#opening.add(client);
    const timer = setTimeout(() => client.destroy(), this.#settings.connectTimeout);
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
      if (this.#events.closed) return;
      this.#retryPub();
      return;
    }
    if (this.#events.closed) {
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
      if (this.#events.closed) return;
      this.#retrySub(error);
      return;
    }
    const timer = setTimeout(() => client.destroy(), this.#settings.connectTimeout);
    try {
      const topics = [...this.#topics];
      if (topics.length > 0 && !this.#events.closed) {
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
      if (this.#events.closed) return;
      this.#retrySub(error);
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.#events.closed) {
      client.destroy();
      return;
    }
    this.#sub = client;
    this.#attempt = 0;
    this.#pingOutstanding = false;
    this.#heartbeat ??= setInterval(this.#beat, this.#settings.heartbeatInterval);
    this.#events.setState(BrokerState.Connected, undefined);
    if (this.#everConnected) this.#events.reconnected(this.#topics);
    this.#everConnected = true;
    this.#ready.resolve();
    if (!client.isReady) this.#clientLost(client, new Error("Redis connection closed"));
  }

  /** A connection ended without close(): the current subscriber or publisher is made again. */
  #clientLost(client: Client, error: unknown): void {
    if (client === this.#sub) this.#lost(client, error);
    else if (client === this.#pub && !this.#events.closed) {
      this.#pub = undefined;
      client.destroy();
      this.#retryPub();
    }
  }

  /** The subscriber connection `client` failed: drop it and reconnect (once per client). */
  #lost(client: Client, error: unknown): void {
    if (client !== this.#sub || this.#events.closed) return;
    this.#sub = undefined;
    client.destroy();
    this.#ready = Promise.withResolvers<void>();
    void this.#ready.promise.catch(this.#onClientError);
    this.#retrySub(error);
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

  /**
   * Subscribes a topic (the Redis channel `channelPrefix + topic`).
   *
   * @param topic The topic.
   * @returns When Redis confirmed the subscription (after a reconnect if the link is down).
   * @throws {BrokerClosedError} (rejects) If the broker is or gets closed first.
   * @throws {Error} (rejects) Redis's error reply if it refuses (an ACL); the topic is dropped.
   */
  async subscribe(topic: string): Promise<void> {
    if (this.#events.closed) throw new BrokerClosedError("subscribe");
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
        if (this.#events.closed) throw new BrokerClosedError("subscribe");
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
    this.#events.forget(topic);
    const sub = this.#sub;
    if (sub === undefined || this.#events.closed) return;
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
    if (this.#events.closed) throw new BrokerClosedError("publish");
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
    if (this.#topics.has(topic)) this.#events.deliver(topic, message);
  }

  /**
   * Closes both connections and every timer; pending subscribes reject. Messages already
   * published are sent first (waiting up to `connectTimeout` for Redis). Idempotent.
   *
   * @returns When the connections are closed.
   */
  async close(): Promise<void> {
    if (this.#events.closed) return;
    this.#events.setState(BrokerState.Closed, undefined);
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
      const timer = setTimeout(() => pub.destroy(), this.#settings.connectTimeout);
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
    this.#events.clear();
  }
}
