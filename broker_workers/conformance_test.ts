import { MemoryBroker, MemoryBus } from "@coroio/core";
import { conformance } from "./_conformance.ts";
import { WorkersBroker } from "./workers_broker.ts";
import { WorkersHub } from "./workers_hub.ts";

conformance("MemoryBroker", () => {
  const bus = new MemoryBus();
  return Promise.resolve({
    node: (listener) => Promise.resolve(new MemoryBroker({ bus, listener })),
    teardown: () => Promise.resolve(),
  });
});

conformance("WorkersBroker", () => {
  const hub = new WorkersHub();
  return Promise.resolve({
    node: (listener) => Promise.resolve(new WorkersBroker({ port: hub.connect(), listener })),
    teardown: () => Promise.resolve(hub.close()),
  });
});
