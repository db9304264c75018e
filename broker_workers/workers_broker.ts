import {
  type Broker,
  BrokerClosedError,
  BrokerEvents,
  type BrokerListener,
  type BrokerOptions,
  BrokerState,
  encodeEnvelope,
  newNodeId,
  noopListener,
  PublishSequence,
} from "@coroio/core";
import { ACK, type Batch, BYE, PUB, SUB, UNSUB } from "./_protocol.ts";

/** Options for {@linkcode WorkersBroker}. */
export interface WorkersBrokerOptions extends BrokerOptions {
  /** A port made by {@linkcode WorkersHub.connect}. */
  port: MessagePort;
}

/**
 * A {@linkcode Broker} between the Deno workers of one process, through a
 * {@linkcode WorkersHub} on the main thread. Operations are batched: one
 * `postMessage` per microtask turn, envelopes transferred, not copied.
 * Ports are reliable and ordered, so no message is lost while both ends live.
 *
 * @example Two brokers exchange a message
 * ```ts
 * import { type BrokerListener } from "@coroio/core";
 * import { WorkersBroker, WorkersHub } from "@coroio/broker-workers";
 * import { strictEqual } from "node:assert/strict";
 *
 * const { promise, resolve } = Promise.withResolvers<string>();
 * const listener: BrokerListener = {
 *   onMessage: (_topic, payload) => resolve(new TextDecoder().decode(payload)),
 *   onGap() {},
 *   onStateChange() {},
 * };
 * const hub = new WorkersHub();
 * const a = new WorkersBroker({ port: hub.connect(), listener });
 * const b = new WorkersBroker({ port: hub.connect() });
 * await a.subscribe("room");
 * b.publish("room", new TextEncoder().encode("hi"));
 * strictEqual(await promise, "hi");
 * await a.close();
 * await b.close();
 * hub.close();
 * ```
 */
export class WorkersBroker implements Broker {
  /** This node's id. */
  readonly nodeId: string;
  /** Receives messages, gaps and state changes. */
  listener: BrokerListener;
  #port: MessagePort;
  #events = new BrokerEvents(this, BrokerState.Connected);
  #topics = new Set<string>();
  #seq = new PublishSequence();
  #pending = new Map<number, PromiseWithResolvers<void>>();
  #nextId = 0;
  #out: Batch = [];
  #transfer: ArrayBuffer[] = [];
  #scheduled = false;
  #flush = (): void => this.#flushOut();
  #receiver = { handleEvent: (event: MessageEvent<Batch>): void => this.#receive(event.data) };

  /**
   * Starts listening on the port; connected at once.
   *
   * @param options The hub's port, node id, listener.
   */
  constructor(options: WorkersBrokerOptions) {
    this.#port = options.port;
    this.nodeId = options.nodeId ?? newNodeId();
    this.listener = options.listener ?? noopListener;
    this.#port.addEventListener("message", this.#receiver);
    this.#port.start();
  }

  /** {@linkcode BrokerState.Connected} until closed. */
  get state(): BrokerState {
    return this.#events.state;
  }

  /**
   * Subscribes a topic.
   *
   * @param topic The topic.
   * @returns When the hub routes the topic to this broker (never, if the hub was closed or
   * dropped this broker: ports give no sign of that; close() rejects what is pending).
   * @throws {BrokerClosedError} (rejects) If closed.
   */
  subscribe(topic: string): Promise<void> {
    if (this.#events.closed) {
      return Promise.reject(new BrokerClosedError("subscribe"));
    }
    this.#topics.add(topic);
    return this.#request(SUB, topic);
  }

  /**
   * Unsubscribes a topic; nothing more is delivered on it.
   *
   * @param topic The topic.
   * @returns When the hub confirmed.
   */
  unsubscribe(topic: string): Promise<void> {
    if (this.#events.closed) return Promise.resolve();
    this.#topics.delete(topic);
    this.#events.forget(topic);
    return this.#request(UNSUB, topic);
  }

  #request(op: number, topic: string): Promise<void> {
    const id = ++this.#nextId;
    const request = Promise.withResolvers<void>();
    this.#pending.set(id, request);
    this.#out.push(op, id, topic);
    this.#schedule();
    return request.promise;
  }

  /**
   * Sends the message to every other broker subscribed to the topic.
   *
   * @param topic The topic.
   * @param payload The bytes, copied into the envelope.
   * @param flags `MessageFlags` bits.
   * @throws {BrokerClosedError} If closed.
   */
  publish(topic: string, payload: Uint8Array, flags = 0): void {
    if (this.#events.closed) throw new BrokerClosedError("publish");
    const envelope = encodeEnvelope(this.nodeId, this.#seq.next(topic), flags, payload);
    this.#out.push(PUB, topic, envelope);
    this.#transfer.push(envelope.buffer as ArrayBuffer);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flush);
  }

  #flushOut(): void {
    this.#scheduled = false;
    if (this.#out.length === 0 || this.#events.closed) return;
    this.#port.postMessage(this.#out, this.#transfer);
    this.#out.length = 0;
    this.#transfer.length = 0;
  }

  #receive(batch: Batch): void {
    let i = 0;
    while (i < batch.length) {
      const op = batch[i];
      if (op === PUB) {
        const topic = batch[i + 1] as string;
        const bytes = batch[i + 2] as Uint8Array;
        i += 3;
        if (this.#topics.has(topic)) this.#events.deliver(topic, bytes);
      } else if (op === ACK) {
        const id = batch[i + 1] as number;
        i += 2;
        const request = this.#pending.get(id);
        this.#pending.delete(id);
        request?.resolve();
      } else {
        break;
      }
    }
  }

  /**
   * Tells the hub goodbye and closes the port; pending subscribes reject. Idempotent.
   *
   * @returns A resolved promise.
   */
  close(): Promise<void> {
    if (this.#events.closed) return Promise.resolve();
    this.#out.push(BYE);
    this.#flushOut();
    this.#port.removeEventListener("message", this.#receiver);
    this.#port.close();
    const error = new BrokerClosedError("subscribe");
    for (const request of this.#pending.values()) request.reject(error);
    this.#pending.clear();
    this.#topics.clear();
    this.#events.clear();
    this.#events.setState(BrokerState.Closed, undefined);
    return Promise.resolve();
  }
}
