// deno-lint-ignore-file
// The fan-out bench's Bun peer: Bun.serve with ws.subscribe and server.publish (uWS
// topics). Speaks the subset of examples/fanout.ts that ws/testdata/fanout_load.ts uses.
//   bun ws/testdata/fanout_peer_bun.mjs [PORT]
const decoder = new TextDecoder();
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.argv[2] ?? 0),
  fetch(req, server) {
    if (server.upgrade(req)) return undefined;
    return new Response("WebSocket only", { status: 400 });
  },
  websocket: {
    message(ws, message) {
      if (typeof message === "string") {
        if (!message.startsWith("sub ")) return;
        const topic = message.slice(4);
        ws.subscribe(topic);
        ws.send(`subscribed ${topic}`);
      } else {
        const n = message[0];
        server.publish(decoder.decode(message.subarray(1, 1 + n)), message.subarray(1 + n));
      }
    },
  },
});
console.log(`listening on ws://127.0.0.1:${server.port}`);
