// The fan-out bench's "usual way" peer: Deno.serve + Deno.upgradeWebSocket and a loop
// over the topic's sockets (send() frames the message again for each). Speaks the subset
// of examples/fanout.ts that ws/testdata/fanout_load.ts uses: `sub <topic>` and the binary
// publish form.
//   deno run -A ws/testdata/fanout_peer_deno.ts [PORT]
const topics = new Map<string, Set<WebSocket>>();
const decoder = new TextDecoder();

Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 0),
  // deno-lint-ignore no-console
  onListen: ({ port }) => console.log(`listening on ws://127.0.0.1:${port}`),
}, (req) => {
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.binaryType = "arraybuffer";
  const mine = new Set<string>();
  socket.onmessage = (e: MessageEvent<string | ArrayBuffer>) => {
    if (typeof e.data === "string") {
      if (!e.data.startsWith("sub ")) return;
      const topic = e.data.slice(4);
      let set = topics.get(topic);
      if (set === undefined) topics.set(topic, set = new Set());
      set.add(socket);
      mine.add(topic);
      socket.send(`subscribed ${topic}`);
    } else {
      const bytes = new Uint8Array(e.data);
      const n = bytes[0]!;
      const set = topics.get(decoder.decode(bytes.subarray(1, 1 + n)));
      if (set === undefined) return;
      const payload = bytes.subarray(1 + n);
      for (const s of set) if (s.readyState === WebSocket.OPEN) s.send(payload);
    }
  };
  socket.onclose = () => {
    for (const topic of mine) topics.get(topic)?.delete(socket);
  };
  return response;
});
