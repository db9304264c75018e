// A worker holding one WorkersBroker, driven by messages from the test (see workers_test.ts).
/// <reference lib="deno.worker" />
import type { BrokerGap, BrokerListener, BrokerState, MessageOrigin } from "@coroio/core";
import { WorkersBroker } from "../workers_broker.ts";

let broker: WorkersBroker | undefined;

const listener: BrokerListener = {
  onMessage(topic: string, payload: Uint8Array, origin: MessageOrigin): void {
    const copy = payload.slice();
    self.postMessage({
      op: "message",
      topic,
      payload: copy,
      node: origin.node,
      seq: origin.seq,
      flags: origin.flags,
    }, [copy.buffer]);
  },
  onGap(gap: BrokerGap): void {
    self.postMessage({ op: "gap", gap });
  },
  onStateChange(state: BrokerState): void {
    self.postMessage({ op: "state", state });
  },
};

function settle(id: number, work: Promise<void>): void {
  work.then(
    () => self.postMessage({ op: "done", id }),
    (error: Error) =>
      self.postMessage({ op: "failed", id, name: error.name, message: error.message }),
  );
}

self.onmessage = (event: MessageEvent) => {
  const msg = event.data;
  switch (msg.op) {
    case "init":
      broker = new WorkersBroker({ port: msg.port, listener });
      self.postMessage({ op: "ready", nodeId: broker.nodeId });
      break;
    case "subscribe":
      settle(msg.id, broker!.subscribe(msg.topic));
      break;
    case "unsubscribe":
      settle(msg.id, broker!.unsubscribe(msg.topic));
      break;
    case "publish":
      broker!.publish(msg.topic, msg.payload, msg.flags);
      break;
    case "burst": // n messages in one synchronous loop: the receiver cannot keep up in between
      for (let i = 0; i < msg.n; i++) {
        broker!.publish(msg.topic, new TextEncoder().encode(String(i)));
      }
      break;
    case "close":
      settle(msg.id, broker!.close());
      break;
  }
};
