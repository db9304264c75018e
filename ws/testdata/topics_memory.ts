// Heap per subscription of a Topics hub (bench material, not a test):
//   deno run -A --v8-flags=--expose-gc ws/testdata/topics_memory.ts [SESSIONS] [TOPICS_EACH]
// Sessions are built on a placeholder connection that is never read or written (the hub only
// keeps references), each subscribed to TOPICS_EACH topics out of SESSIONS * TOPICS_EACH / 10
// (ten subscribers per topic). Prints the heap growth per subscription, in bytes.
import { Topics, WebSocketSession } from "../mod.ts";

const sessions = Number(Deno.args[0] ?? 1000);
const each = Number(Deno.args[1] ?? 100);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const conn = {} as Deno.Conn; // never used: the sessions are not run
const list: WebSocketSession[] = [];
for (let i = 0; i < sessions; i++) list.push(new WebSocketSession(conn, new Uint8Array(0), null));
const names = Array.from({ length: (sessions * each) / 10 }, (_, i) => `topic:${i}`);
const topics = new Topics();
gc();
const before = Deno.memoryUsage().heapUsed;
for (let i = 0; i < sessions; i++) {
  for (let k = 0; k < each; k++) {
    void topics.subscribe(list[i]!, names[(i * each + k) % names.length]!);
  }
}
gc();
const after = Deno.memoryUsage().heapUsed;
const subscriptions = sessions * each;
// deno-lint-ignore no-console
console.log(JSON.stringify({
  sessions,
  subscriptions,
  topics: topics.size,
  bytesPerSubscription: Math.round((after - before) / subscriptions),
}));
