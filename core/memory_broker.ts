/**
 * `MemoryBroker`, the in-process {@linkcode Broker}: several instances share
 * one `MemoryBus`, so tests can simulate several nodes.
 *
 * @module
 */
import { checkNodeId } from "./_broker_node_id.ts";
import {
  type Broker,
  BrokerClosedError,
  type BrokerListener,
  type BrokerOptions,
  BrokerState,
  type MessageOrigin,
  newNodeId,
  noopListener,
} from "./broker.ts";
import { PublishSequence } from "./broker_envelope.ts";

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
