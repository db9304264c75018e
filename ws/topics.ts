/**
 * Pub/sub topics for WebSocket sessions: a {@linkcode Topics} hub frames a
 * published message once and stages the same bytes in every subscriber's
 * write buffer, optionally fanned out to other processes and machines
 * through a `Broker` from `@coroio/core` (workers, Redis, NATS).
 *
 * @module
 */
import {
  type Broker,
  type BrokerGap,
  type BrokerListener,
  BrokerState,
  intOption,
  MessageFlags,
  type MessageOrigin,
} from "@coroio/core";
import { ReadyState } from "./constants.ts";
import type { WebSocketSession } from "./session.ts";
import { headerLength, writeHeader } from "./_frame.ts";
import type { Sender } from "./_sender.ts";
import type { PerMessageDeflate } from "./permessage_deflate.ts";
import { sessionAccess } from "./_session_access.ts";

/**
 * What happens to a subscriber whose queued output would pass its limit:
 * `"drop"` skips the message for that subscriber (counted in
 * {@linkcode PublishResult.dropped}); `"close"` fails its connection with
 * 1008 (counted in {@linkcode PublishResult.closed}). Waiting is not an
 * option: one slow subscriber would stall the publisher.
 */
export type SlowSubscriberPolicy = "drop" | "close";

/** The honest outcome of a {@linkcode Topics.publish} on this process. */
export interface PublishResult {
  /** Local subscribers the message was meant for (the `except` session not counted). */
  subscribers: number;
  /** Subscribers whose write buffer took the message. */
  queued: number;
  /** Subscribers that skipped it: their queue was over the limit (policy `"drop"`). */
  dropped: number;
  /**
   * Subscribers that did not get it because their connection was closing or
   * closed, or was failed (1008) by this publish (policy `"close"`).
   */
  closed: number;
}

/** Options for {@linkcode Topics}. */
export interface TopicsOptions {
  /**
   * Fans topics out beyond this process: the hub becomes its `listener`,
   * subscribes a topic on it when the topic's first local subscriber
   * appears and unsubscribes when the last one leaves.
   *
   * @default {none: this process only}
   */
  broker?: Broker;
  /**
   * What to do with a subscriber over its limit.
   *
   * @default {"drop"}
   */
  slow?: SlowSubscriberPolicy;
  /**
   * Queued bytes per subscriber above which a publish does not stage the
   * message (a message always fits an empty queue).
   *
   * @default {each session's `highWaterMark`}
   */
  maxQueuedBytes?: number;
  /**
   * Messages of a topic may have been lost beyond this process (a broker
   * reconnect or a hole in a publisher's sequence): resync the topic.
   */
  onGap?: (gap: BrokerGap) => void;
  /** The broker's connection state changed. */
  onBrokerState?: (state: BrokerState, error: Error | undefined) => void;
}

/** Options for {@linkcode Topics.publish}. */
export interface PublishOptions {
  /** A session that does not get the message (usually the publisher). */
  except?: WebSocketSession<unknown> | null;
  /**
   * What to do with a subscriber over its limit.
   *
   * @default {the hub's `slow` option}
   */
  slow?: SlowSubscriberPolicy;
}

const RESOLVED: Promise<void> = Promise.resolve();
const NO_TOPICS: ReadonlySet<string> = new Set();
const encoder = new TextEncoder();
/** Room left in front of the payload for the longest unmasked header. */
const HEAD = 10;
/** The reusable framing buffer grows up to this; larger frames get their own. */
const MAX_SCRATCH = 1 << 20;

function ignore(): void {}

/** One session as the hub knows it. */
class Subscriber {
  readonly ws: WebSocketSession<unknown>;
  readonly sender: Sender;
  readonly topics = new Set<string>();
  /** In the hub's list of senders to flush at the end of the tick. */
  dirty = false;
  /** Runs once the session ended (one closure per subscribed session, not per message). */
  readonly ended: () => void;

  constructor(hub: Topics, drop: (s: Subscriber) => void, ws: WebSocketSession<unknown>) {
    this.ws = ws;
    this.sender = sessionAccess.senderOf(ws);
    this.ended = (): void => drop.call(hub, this);
  }
}

/**
 * A pub/sub hub for server sessions. `subscribe` and `unsubscribe` are
 * O(1); a topic exists while it has subscribers. `publish` frames the
 * message once (server frames are unmasked) and appends the same bytes to
 * each subscriber's write buffer, so it is ordered with that subscriber's
 * `send()`s; every touched subscriber is flushed once at the end of the
 * tick, so a burst of publishes leaves in one write per subscriber.
 *
 * Backpressure is per subscriber and never waits: over its limit a
 * subscriber skips the message or is closed (1008), as the `slow` option
 * says; control frames (pong, close) are not subject to it. A session is
 * unsubscribed from everything when it ends. Handlers may subscribe,
 * unsubscribe, publish or close at any time, also while a publish runs (a
 * publish calls no application code until it has delivered).
 *
 * With a `broker`, topics reach every process on it: a publish goes to the
 * local subscribers directly and once to the broker, which never hands a
 * node its own messages back; `subscribe` resolves once the broker
 * confirmed the topic. The hub is the broker's `listener`.
 *
 * @example Two sessions, one topic
 * ```ts
 * import { connect, type WebSocketHandler, WebSocketServer, type WebSocketSession, Topics } from "@coroio/ws";
 * import { deepStrictEqual, strictEqual } from "node:assert/strict";
 *
 * const topics = new Topics();
 * class Room implements WebSocketHandler {
 *   async onMessage(ws: WebSocketSession, data: string | Uint8Array): Promise<void> {
 *     if (data === "join") {
 *       await topics.subscribe(ws, "room");
 *       ws.send("joined");
 *     } else topics.publish("room", data);
 *   }
 * }
 * const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new Room());
 * const serving = server.serve();
 * const url = `ws://127.0.0.1:${server.addr.port}/`;
 * const [a, b] = [await connect(url), await connect(url)];
 * const ia = a[Symbol.asyncIterator]();
 * const ib = b[Symbol.asyncIterator]();
 * await a.send("join");
 * await b.send("join");
 * strictEqual((await ia.next()).value, "joined");
 * strictEqual((await ib.next()).value, "joined");
 * strictEqual(topics.count("room"), 2);
 * await a.send("hello");
 * deepStrictEqual([(await ia.next()).value, (await ib.next()).value], ["hello", "hello"]);
 * await a.close();
 * await b.close();
 * await server.shutdown();
 * await serving;
 * strictEqual(topics.count("room"), 0);
 * ```
 */
export class Topics implements BrokerListener {
  #topics = new Map<string, Set<Subscriber>>();
  #subs = new Map<WebSocketSession<unknown>, Subscriber>();
  /** Broker subscriptions not confirmed yet, by topic. */
  #pending = new Map<string, Promise<void>>();
  #broker: Broker | null;
  #close: boolean;
  #limit: number;
  #onGap: ((gap: BrokerGap) => void) | undefined;
  #onState: ((state: BrokerState, error: Error | undefined) => void) | undefined;
  #dirty: Subscriber[] = [];
  #closeLater: Subscriber[] = [];
  #scratch = new Uint8Array(4096);
  #frame: Uint8Array = this.#scratch;
  #payload: Uint8Array = this.#scratch;
  /** The message in #payload is text. */
  #text = false;
  /**
   * Compressed frames of the message being delivered, by the shared
   * compressor's key: with permessage-deflate in shared mode a message is
   * compressed once per key (usually one), not once per subscriber.
   */
  #compressed = new Map<string, Uint8Array>();
  #flushAll = (): void => this.#flushDirty();

  /**
   * Creates a hub.
   *
   * @param options Broker, slow-subscriber policy and limit, broker callbacks.
   * @throws {RangeError} If `maxQueuedBytes` is negative or not a number.
   */
  constructor(options: TopicsOptions = {}) {
    // -1: each subscriber's own highWaterMark.
    this.#limit = options.maxQueuedBytes === undefined
      ? -1
      : intOption("Topics", "maxQueuedBytes", options.maxQueuedBytes, 0, 0);
    this.#close = options.slow === "close";
    this.#onGap = options.onGap;
    this.#onState = options.onBrokerState;
    this.#broker = options.broker ?? null;
    if (this.#broker !== null) this.#broker.listener = this;
  }

  /**
   * Subscribes a session to a topic (idempotent). Topics are opaque
   * strings: no wildcards.
   *
   * @param ws A server session; once it ends it is unsubscribed from everything.
   * @param topic The topic.
   * @returns A promise that resolves once the topic is active everywhere:
   * at once without a broker (or when the topic already was), else once the
   * broker confirmed it; it rejects if the broker refuses (it is closed),
   * the local subscription stays.
   * @throws {TypeError} If `ws` is a client session (its frames are masked).
   *
   * @example Counting subscriptions
   * ```ts
   * import { Topics, WebSocketSession } from "@coroio/ws";
   * import { MemoryBroker } from "@coroio/core";
   * import { deepStrictEqual, strictEqual } from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const ws = new WebSocketSession(await listener.accept(), new Uint8Array(0), null);
   * listener.close();
   * const broker = new MemoryBroker();
   * const topics = new Topics({ broker });
   * await topics.subscribe(ws, "a"); // resolved: the broker confirmed
   * await topics.subscribe(ws, "b");
   * deepStrictEqual([...topics.topicsOf(ws)], ["a", "b"]);
   * strictEqual(topics.unsubscribe(ws, "a"), true);
   * strictEqual(topics.count("a"), 0);
   * ws.run();
   * client.close();
   * await ws.done; // the session ended: it left "b" too
   * strictEqual(topics.size, 0);
   * await broker.close();
   * ```
   */
  subscribe(ws: WebSocketSession<unknown>, topic: string): Promise<void> {
    if (typeof topic !== "string") throw new TypeError("Cannot subscribe: topic must be a string");
    let sub = this.#subs.get(ws);
    if (sub === undefined) {
      if (ws.readyState === ReadyState.Closed) return RESOLVED;
      sub = new Subscriber(this, this.#ended, ws);
      if (sub.sender.masked) {
        throw new TypeError("Cannot subscribe: a client session cannot take server frames");
      }
      this.#subs.set(ws, sub);
      ws.done.then(sub.ended);
    }
    if (!sub.topics.has(topic)) {
      sub.topics.add(topic);
      let set = this.#topics.get(topic);
      if (set === undefined) {
        set = new Set();
        this.#topics.set(topic, set);
        set.add(sub);
        if (this.#broker !== null) return this.#brokerSubscribe(this.#broker, topic);
        return RESOLVED;
      }
      set.add(sub);
    }
    return this.#pending.get(topic) ?? RESOLVED;
  }

  #brokerSubscribe(broker: Broker, topic: string): Promise<void> {
    let p: Promise<void>;
    try {
      p = broker.subscribe(topic);
    } catch (error) {
      p = Promise.reject(error);
    }
    this.#pending.set(topic, p);
    // One closure per broker subscription (a topic's first local subscriber), not per message.
    const settled = (): void => {
      if (this.#pending.get(topic) === p) this.#pending.delete(topic);
    };
    p.then(settled, settled);
    return p;
  }

  /**
   * Unsubscribes a session from a topic; nothing more published on it
   * reaches the session. The last subscriber leaving removes the topic (and
   * its broker subscription).
   *
   * @param ws The session.
   * @param topic The topic.
   * @returns Whether the session was subscribed.
   */
  unsubscribe(ws: WebSocketSession<unknown>, topic: string): boolean {
    const sub = this.#subs.get(ws);
    if (sub === undefined || !sub.topics.delete(topic)) return false;
    this.#leave(sub, topic);
    return true;
  }

  #leave(sub: Subscriber, topic: string): void {
    const set = this.#topics.get(topic);
    if (set === undefined || !set.delete(sub) || set.size > 0) return;
    this.#topics.delete(topic);
    this.#pending.delete(topic);
    const broker = this.#broker;
    if (broker !== null && broker.state !== BrokerState.Closed) {
      try {
        broker.unsubscribe(topic).then(undefined, ignore);
      } catch {
        // A broker closing meanwhile has nothing left to unsubscribe.
      }
    }
  }

  /** A session ended: it leaves every topic. */
  #ended(sub: Subscriber): void {
    for (const topic of sub.topics) this.#leave(sub, topic);
    sub.topics.clear();
    this.#subs.delete(sub.ws);
  }

  /**
   * How many local sessions are subscribed to a topic.
   *
   * @param topic The topic.
   * @returns The count; 0 for a topic nobody subscribed.
   */
  count(topic: string): number {
    return this.#topics.get(topic)?.size ?? 0;
  }

  /**
   * The topics a session is subscribed to, live (do not modify it).
   *
   * @param ws The session.
   * @returns The topics; empty for a session never subscribed or ended.
   */
  topicsOf(ws: WebSocketSession<unknown>): ReadonlySet<string> {
    return this.#subs.get(ws)?.topics ?? NO_TOPICS;
  }

  /**
   * How many topics have local subscribers.
   *
   * @returns The count.
   */
  get size(): number {
    return this.#topics.size;
  }

  /**
   * Publishes a message to a topic: a string as text, bytes as binary. The
   * frame is built once and staged in every local subscriber's buffer;
   * with a broker, the message also goes once to every other process
   * subscribed to the topic. Never waits.
   *
   * @param topic The topic.
   * @param data The message; bytes are copied, the caller may reuse them.
   * @param options `except` (a session left out, usually the publisher) and `slow`.
   * @returns What happened on this process (deliveries elsewhere are not counted).
   * @throws {TypeError} If `data` is neither a string nor a `Uint8Array`.
   *
   * @example Counts with no subscribers, and with a slow one dropped
   * ```ts
   * import { Topics, WebSocketSession } from "@coroio/ws";
   * import { deepStrictEqual } from "node:assert/strict";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const ws = new WebSocketSession(await listener.accept(), new Uint8Array(0), null);
   * listener.close();
   * const topics = new Topics({ maxQueuedBytes: 100 });
   * deepStrictEqual(topics.publish("t", "x"), { subscribers: 0, queued: 0, dropped: 0, closed: 0 });
   * await topics.subscribe(ws, "t");
   * const bytes = new Uint8Array(80); // an 82-byte frame
   * deepStrictEqual(topics.publish("t", bytes), { subscribers: 1, queued: 1, dropped: 0, closed: 0 });
   * // In the same tick the first frame is still queued: 82 + 82 bytes pass the limit of 100.
   * deepStrictEqual(topics.publish("t", bytes), { subscribers: 1, queued: 0, dropped: 1, closed: 0 });
   * deepStrictEqual(topics.publish("t", bytes, { except: ws }).subscribers, 0);
   * ws.run();
   * client.close();
   * await ws.done;
   * ```
   */
  publish(
    topic: string,
    data: string | Uint8Array,
    options?: PublishOptions,
  ): PublishResult {
    let flags: number;
    if (typeof data === "string") {
      this.#encodeText(data);
      flags = MessageFlags.Text;
    } else if (data instanceof Uint8Array) {
      this.#encode(0x82, data);
      flags = MessageFlags.Binary;
    } else {
      throw new TypeError("Cannot publish: data must be a string or a Uint8Array");
    }
    const result: PublishResult = { subscribers: 0, queued: 0, dropped: 0, closed: 0 };
    const set = this.#topics.get(topic);
    if (set !== undefined) {
      const close = options?.slow === undefined ? this.#close : options.slow === "close";
      try {
        this.#deliver(set, options?.except ?? null, close, result);
      } finally {
        // Compressed frames belong to this message only, whatever happened.
        this.#compressed.clear();
      }
    }
    const broker = this.#broker;
    if (broker !== null && broker.state !== BrokerState.Closed) {
      broker.publish(topic, this.#payload, flags);
    }
    this.#closeSlow();
    return result;
  }

  /** Frames UTF-8 text into the scratch buffer (or a buffer of its own if large). */
  #encodeText(s: string): void {
    const max = HEAD + s.length * 3;
    const buf = this.#room(max);
    const n = encoder.encodeInto(s, buf.subarray(HEAD)).written;
    this.#head(buf, 0x81, n);
    this.#text = true;
  }

  #encode(b0: number, payload: Uint8Array): void {
    const buf = this.#room(HEAD + payload.length);
    buf.set(payload, HEAD);
    this.#head(buf, b0, payload.length);
    this.#text = b0 === 0x81;
  }

  #room(n: number): Uint8Array {
    if (n <= this.#scratch.length) return this.#scratch;
    if (n > MAX_SCRATCH) return new Uint8Array(n);
    let size = this.#scratch.length;
    while (size < n) size *= 2;
    return this.#scratch = new Uint8Array(size);
  }

  /** Writes the header just before the payload at HEAD; sets #frame and #payload. */
  #head(buf: Uint8Array, b0: number, len: number): void {
    const start = HEAD - headerLength(len, false);
    writeHeader(buf, start, b0, len, false, 0);
    this.#frame = buf.subarray(start, HEAD + len);
    this.#payload = buf.subarray(HEAD, HEAD + len);
  }

  /** Stages #frame in each subscriber's buffer. Calls no application code. */
  #deliver(
    set: Set<Subscriber>,
    except: WebSocketSession<unknown> | null,
    close: boolean,
    result: PublishResult,
  ): void {
    const frame = this.#frame;
    const fixed = this.#limit;
    for (const sub of set) {
      if (sub.ws === except) continue;
      result.subscribers++;
      const sender = sub.sender;
      const limit = fixed >= 0 ? fixed : sender.highWaterMark;
      const pmd = sender.deflate;
      let r: number;
      if (sender.closed) {
        // Ending (its deflate context may be closed already): nothing to stage.
        r = 2;
      } else if (pmd === null || !pmd.shouldCompress(this.#payload.length)) {
        r = sender.stageFrame(frame, limit);
      } else if (pmd.sharedKey === null) {
        // Dedicated context: this connection's window, its own deflate.
        r = sender.stageCompressed(this.#payload, this.#text, limit);
      } else {
        r = sender.stageFrame(this.#compressedFrame(pmd), limit);
      }
      if (r === 0) {
        result.queued++;
        if (!sub.dirty) {
          sub.dirty = true;
          if (this.#dirty.push(sub) === 1) queueMicrotask(this.#flushAll);
        }
      } else if (r === 1 && !close) {
        result.dropped++;
      } else {
        result.closed++;
        if (r === 1) this.#closeLater.push(sub);
      }
    }
  }

  /** The message compressed by a shared compressor, framed with RSV1: once per key. */
  #compressedFrame(pmd: PerMessageDeflate): Uint8Array {
    const key = pmd.sharedKey!;
    let frame = this.#compressed.get(key);
    if (frame === undefined) {
      const z = pmd.compress(this.#payload);
      const h = headerLength(z.length, false);
      frame = new Uint8Array(h + z.length);
      writeHeader(frame, 0, this.#text ? 0xc1 : 0xc2, z.length, false, 0);
      frame.set(z, h);
      this.#compressed.set(key, frame);
    }
    return frame;
  }

  /** Fails the subscribers found over their limit with policy "close" (after delivering). */
  #closeSlow(): void {
    const list = this.#closeLater;
    if (list.length === 0) return;
    // Failing a session calls its handler's onError, which may publish: take the list first.
    this.#closeLater = [];
    for (const sub of list) sub.sender.slowConsumer();
  }

  #flushDirty(): void {
    const list = this.#dirty;
    this.#dirty = [];
    for (const sub of list) {
      sub.dirty = false;
      if (!sub.sender.closed) sub.sender.flush();
    }
  }

  // ---- BrokerListener: called by the broker ----

  /**
   * A message from another process: delivered to the local subscribers
   * (text or binary, as published). Called by the broker.
   *
   * @param topic The topic.
   * @param payload The payload (read-only, shared).
   * @param origin The publisher; its `flags` say text or binary.
   */
  onMessage(topic: string, payload: Uint8Array, origin: MessageOrigin): void {
    const set = this.#topics.get(topic);
    if (set === undefined) return;
    this.#encode((origin.flags & MessageFlags.Text) !== 0 ? 0x81 : 0x82, payload);
    try {
      this.#deliver(set, null, this.#close, DISCARD);
    } finally {
      this.#compressed.clear();
    }
    this.#closeSlow();
  }

  /**
   * Messages may have been lost: passed to the `onGap` option. Called by the broker.
   *
   * @param gap What was lost and why.
   */
  onGap(gap: BrokerGap): void {
    this.#onGap?.(gap);
  }

  /**
   * The broker's state changed: passed to the `onBrokerState` option. Called by the broker.
   *
   * @param state The new state.
   * @param error The cause of a disconnection, when known.
   */
  onStateChange(state: BrokerState, error: Error | undefined): void {
    this.#onState?.(state, error);
  }
}

/** Counts of deliveries from the broker, which nobody reads. */
const DISCARD: PublishResult = { subscribers: 0, queued: 0, dropped: 0, closed: 0 };
