// Runs examples/ws_echo.ts as a real process: it prints its address, echoes
// text and binary as the same type, and exits 0 on SIGTERM and SIGINT after
// closing its sessions with 1001.
import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import { connect } from "./connect.ts";
import { withTimeout } from "./_test_util.ts";
import { parseListenFlags } from "../examples/_args.ts";

const parseFlags = (args: string[]) => parseListenFlags(args, 8081);

const EXAMPLE = new URL("../examples/ws_echo.ts", import.meta.url).pathname;

async function start(): Promise<{ child: Deno.ChildProcess; url: string; rest: Promise<string> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", EXAMPLE, "--port", "0"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("\n")) {
    const { value, done } = await withTimeout(reader.read(), 20000, "example start");
    if (done) break;
    out += value;
  }
  const line = out.split("\n")[0]!;
  const rest = (async () => {
    let more = out.slice(line.length + 1);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return more;
      more += value;
    }
  })();
  return { child, url: line.replace(/^listening on /, ""), rest };
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`examples/ws_echo.ts echoes and stops cleanly on ${signal}`, async () => {
    const { child, url, rest } = await start();
    const stderr = child.stderr.pipeThrough(new TextDecoderStream());
    const errText = (async () => {
      let s = "";
      for await (const c of stderr) s += c;
      return s;
    })();
    try {
      ok(/^ws:\/\/127\.0\.0\.1:\d+$/.test(url), url);
      const ws = await connect(`${url}/any/path`);
      const it = ws[Symbol.asyncIterator]();
      for (const m of ["text", new Uint8Array([0, 1, 255]), "\u{1f600}", new Uint8Array(100000)]) {
        await ws.send(m);
        deepEqual(await withTimeout(it.next(), 5000, "echo"), { value: m, done: false });
      }
      child.kill(signal);
      deepEqual(await withTimeout(it.next(), 5000, "close"), { value: undefined, done: true });
      equal(ws.closeCode, 1001);
      const status = await withTimeout(child.status, 10000, "exit");
      equal(status.code, 0);
      equal(await rest, "");
      equal(await errText, "");
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      await child.status;
    }
  });
}

Deno.test("examples/_args.ts parseListenFlags() reads --hostname, --port and --compression", () => {
  deepEqual(parseFlags([]), { hostname: "127.0.0.1", port: 8081, compression: false });
  deepEqual(parseFlags(["--port", "0", "--hostname=::1"]), {
    hostname: "::1",
    port: 0,
    compression: false,
  });
  deepEqual(parseFlags(["--compression", "--port", "1"]), {
    hostname: "127.0.0.1",
    port: 1,
    compression: true,
  });
  throws(() => parseFlags(["--port", "70000"]), TypeError);
  throws(() => parseFlags(["--port"]), TypeError);
  throws(() => parseFlags(["--verbose", "1"]), TypeError);
});
