// deno-lint-ignore-file
// The fan-out bench's Node peer: npm `ws` with a loop over the topic's sockets (the usual
// way). Speaks the subset of examples/fanout.ts that ws/testdata/fanout_load.ts uses.
//   NODE_PATH=.bench/node/node_modules node ws/testdata/fanout_peer_node.mjs [PORT]
import { createRequire } from "node:module";
import { join } from "node:path";

const require = createRequire(join(process.env.NODE_PATH ?? process.cwd(), "noop.js"));
const { WebSocketServer } = require("ws");
const topics = new Map();
const decoder = new TextDecoder();
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2] ?? 0) });
wss.on("listening", () => console.log(`listening on ws://127.0.0.1:${wss.address().port}`));
wss.on("connection", (socket) => {
  const mine = new Set();
  socket.on("message", (data, isBinary) => {
    if (!isBinary) {
      const text = data.toString();
      if (!text.startsWith("sub ")) return;
      const topic = text.slice(4);
      if (!topics.has(topic)) topics.set(topic, new Set());
      topics.get(topic).add(socket);
      mine.add(topic);
      socket.send(`subscribed ${topic}`);
    } else {
      const n = data[0];
      const set = topics.get(decoder.decode(data.subarray(1, 1 + n)));
      if (set === undefined) return;
      const payload = data.subarray(1 + n);
      for (const s of set) if (s.readyState === 1) s.send(payload, { binary: true });
    }
  });
  socket.on("close", () => {
    for (const topic of mine) topics.get(topic)?.delete(socket);
  });
});
process.on("SIGTERM", () => process.exit(0));
