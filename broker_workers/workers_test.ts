import { type Broker, BrokerClosedError, type BrokerListener, BrokerState } from "@coroio/core";
import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import { conformance, Recorder } from "./_conformance.ts";
import { WorkersBroker } from "./workers_broker.ts";
import { WorkersHub } from "./workers_hub.ts";

/**
 * A Broker on the test's thread that drives a WorkersBroker living in a real Deno worker, so
 * the conformance table runs across real worker boundaries.
 */
class RemoteBroker implements Broker {
  nodeId = "";
  state: BrokerState = BrokerState.Connected;
  listener: BrokerListener;
  #worker: Worker;
  #nextId = 0;
  #pending = new Map<number, PromiseWithResolvers<void>>();
  #ready = Promise.withResolvers<void>();
  #exited = Promise.withResolvers<void>();

  constructor(port: MessagePort, listener: BrokerListener) {
    this.listener = listener;
    this.#worker = new Worker(new URL("./testdata/broker_worker.ts", import.meta.url), {
      type: "module",
    });
    this.#worker.onmessage = (event) => this.#event(event.data);
    this.#worker.postMessage({ op: "init", port }, [port]);
  }

  ready(): Promise<void> {
    return this.#ready.promise;
  }

  // deno-lint-ignore no-explicit-any
  #event(msg: any): void {
    switch (msg.op) {
      case "ready":
        this.nodeId = msg.nodeId;
        this.#ready.resolve();
        break;
      case "message":
        this.listener.onMessage(msg.topic, msg.payload, msg);
        break;
      case "gap":
        this.listener.onGap(msg.gap);
        break;
      case "state":
        this.state = msg.state;
        this.listener.onStateChange(msg.state, undefined);
        break;
      case "done":
      case "failed": {
        const request = this.#pending.get(msg.id)!;
        this.#pending.delete(msg.id);
        if (msg.op === "done") request.resolve();
        else if (msg.name === "BrokerClosedError") request.reject(new BrokerClosedError("call"));
        else request.reject(new Error(msg.message));
        break;
      }
    }
  }

  #call(op: string, topic?: string): Promise<void> {
    const id = ++this.#nextId;
    const request = Promise.withResolvers<void>();
    this.#pending.set(id, request);
    this.#worker.postMessage({ op, id, topic });
    return request.promise;
  }

  subscribe(topic: string): Promise<void> {
    if (this.#closed) return Promise.reject(new BrokerClosedError("subscribe"));
    return this.#call("subscribe", topic);
  }

  unsubscribe(topic: string): Promise<void> {
    return this.#closed ? Promise.resolve() : this.#call("unsubscribe", topic);
  }

  publish(topic: string, payload: Uint8Array, flags = 0): void {
    if (this.#closed) throw new BrokerClosedError("publish");
    this.#worker.postMessage({ op: "publish", topic, payload, flags });
  }

  burst(topic: string, n: number): void {
    this.#worker.postMessage({ op: "burst", topic, n });
  }

  #closed = false;

  /** Kills the worker without a goodbye, as a crash would. */
  terminate(): void {
    this.#closed = true;
    this.#worker.terminate();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#call("close");
    this.#worker.terminate();
    this.#exited.resolve();
  }
}

conformance("WorkersBroker (real workers)", () => {
  const hub = new WorkersHub();
  return Promise.resolve({
    node: async (listener) => {
      const broker = new RemoteBroker(hub.connect(), listener);
      await broker.ready();
      return broker;
    },
    teardown: () => Promise.resolve(hub.close()),
  });
});

Deno.test("WorkersBroker() loses nothing in a 20,000-message burst between workers", async () => {
  const hub = new WorkersHub();
  const [subRec, pubRec] = [new Recorder(), new Recorder()];
  const sub = new RemoteBroker(hub.connect(), subRec);
  const pub = new RemoteBroker(hub.connect(), pubRec);
  await Promise.all([sub.ready(), pub.ready()]);
  await sub.subscribe("t");
  const n = 20_000; // BroadcastChannel would drop past 256 queued messages
  pub.burst("t", n);
  await subRec.count(n, 20_000);
  deepStrictEqual(subRec.texts().map(Number), Array.from({ length: n }, (_, i) => i));
  deepStrictEqual(subRec.gaps, []);
  await sub.close();
  await pub.close();
  strictEqual(hub.peerCount, 0);
  strictEqual(hub.topicCount, 0);
  hub.close();
});

Deno.test("WorkersHub.close() drops every port and refuses new ones", async () => {
  const hub = new WorkersHub();
  const a = new WorkersBroker({ port: hub.connect() });
  await a.subscribe("t");
  deepStrictEqual([hub.peerCount, hub.topicCount], [1, 1]);
  hub.close();
  deepStrictEqual([hub.peerCount, hub.topicCount], [0, 0]);
  throws(() => hub.connect(), /hub is closed/);
  await a.close();
});

Deno.test("WorkersHub routes a closing broker's BYE: its topics disappear", async () => {
  const hub = new WorkersHub();
  const rec = new Recorder();
  const a = new WorkersBroker({ port: hub.connect(), listener: rec });
  const b = new WorkersBroker({ port: hub.connect() });
  await Promise.all([a.subscribe("t"), b.subscribe("t"), b.subscribe("u")]);
  await b.close();
  // Ports are not ordered with each other: round trips on a's port until the hub saw b's BYE.
  for (let i = 0; i < 100 && hub.peerCount !== 1; i++) await a.subscribe("v");
  strictEqual(hub.topicCount, 2);
  strictEqual(hub.peerCount, 1);
  await a.close();
  hub.close();
});

Deno.test("WorkersHub.disconnect() drops a terminated worker's subscriptions", async () => {
  const hub = new WorkersHub();
  const [rec, deadRec] = [new Recorder(), new Recorder()];
  const dead = hub.connect();
  const doomed = new RemoteBroker(dead, deadRec);
  const live = new WorkersBroker({ port: hub.connect(), listener: rec });
  await doomed.ready();
  await Promise.all([doomed.subscribe("t"), live.subscribe("t")]);
  doomed.terminate();
  hub.disconnect(dead);
  hub.disconnect(dead); // idempotent
  deepStrictEqual([hub.peerCount, hub.topicCount], [1, 1]);
  await live.close();
  hub.close();
});
