// deno-lint-ignore-file
// The fan-out bench's "usual way" across processes: a Node `ws` server relaying every
// publish through Redis (official `redis` client) or NATS (`@nats-io/transport-node`); each
// server delivers what the broker sends it to its local subscribers with a loop (its own
// messages included: they come back from the broker). Speaks the subset of
// examples/fanout.ts that ws/testdata/fanout_load.ts uses.
//   NODE_PATH=.bench/node/node_modules node ws/testdata/fanout_peer_node_broker.mjs \
//     redis://127.0.0.1:6379 | nats://127.0.0.1:4222
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.NODE_PATH ?? process.cwd(), "noop.js"));
const { WebSocketServer } = require("ws");
const brokerUrl = process.argv[2];
const topics = new Map();
const decoder = new TextDecoder();

function deliver(topic, payload) {
  const set = topics.get(topic);
  if (set === undefined) return;
  for (const s of set) if (s.readyState === 1) s.send(payload, { binary: true });
}

let publish;
let subscribe;
if (brokerUrl.startsWith("redis:")) {
  const { createClient } = require("redis");
  const pub = createClient({ url: brokerUrl });
  const sub = pub.duplicate();
  await pub.connect();
  await sub.connect();
  publish = (topic, payload) => pub.publish(Buffer.from(topic), Buffer.from(payload));
  subscribe = (topic) => sub.subscribe(topic, (message) => deliver(topic, message), true);
} else {
  const { connect } = require("@nats-io/transport-node");
  const nc = await connect({ servers: brokerUrl.replace("nats://", "") });
  publish = (topic, payload) => nc.publish(topic, payload);
  subscribe = async (topic) => {
    const s = nc.subscribe(topic);
    (async () => {
      for await (const m of s) deliver(topic, m.data);
    })();
    await nc.flush();
  };
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
wss.on("listening", () => console.log(`listening on ws://127.0.0.1:${wss.address().port}`));
wss.on("connection", (socket) => {
  const mine = new Set();
  socket.on("message", async (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString();
      if (!text.startsWith("sub ")) return;
      const topic = text.slice(4);
      if (!topics.has(topic)) {
        topics.set(topic, new Set());
        await subscribe(topic);
      }
      topics.get(topic).add(socket);
      mine.add(topic);
      socket.send(`subscribed ${topic}`);
    } else {
      const n = data[0];
      publish(decoder.decode(data.subarray(1, 1 + n)), data.subarray(1 + n));
    }
  });
  socket.on("close", () => {
    for (const topic of mine) topics.get(topic)?.delete(socket);
  });
});
process.on("SIGTERM", () => process.exit(0));
