// A slow subscriber in a worker: it blocks its event loop on the first message so the broker
// server's buffer towards it overflows and the server disconnects it. Reports events to the test.
/// <reference lib="deno.worker" />
import type { Broker, BrokerGap, BrokerListener, BrokerState, MessageOrigin } from "@coroio/core";

let broker: Broker | undefined;
let blockMs = 0;
let blocked = false;

const listener: BrokerListener = {
  onMessage(_topic: string, payload: Uint8Array, origin: MessageOrigin): void {
    if (!blocked) {
      blocked = true;
      const until = Date.now() + blockMs;
      while (Date.now() < until) {
        // a slow consumer: the socket is not read meanwhile
      }
    }
    self.postMessage({ op: "message", seq: origin.seq, size: payload.length });
  },
  onGap(gap: BrokerGap): void {
    self.postMessage({ op: "gap", gap });
  },
  onStateChange(state: BrokerState): void {
    self.postMessage({ op: "state", state });
  },
};

self.onmessage = async (event: MessageEvent) => {
  const msg = event.data;
  if (msg.op === "init") {
    blockMs = msg.blockMs;
    const mod = await import(msg.module);
    broker = new mod[msg.className]({ ...msg.options, listener }) as Broker;
    await (broker as Broker & { ready(): Promise<void> }).ready();
    await broker.subscribe(msg.topic);
    self.postMessage({ op: "ready" });
  } else if (msg.op === "close") {
    await broker?.close();
    self.postMessage({ op: "closed" });
  }
};
