// deno-lint-ignore-file no-console
// What serve()'s `compression: true` costs: server CPU per request with it
// off and on, for requests without Accept-Encoding (the option must cost
// nothing measurable there), with `Accept-Encoding: gzip, br` on a 12-byte
// body (under the 64-byte floor) and on a 2 KiB text body (compressed).
// wrk -t1 -c50 over loopback, keep-alive and 16-deep pipelined; server CPU
// from /proc/PID/stat over each run. The machine is shared: noisy.
//
//   deno run -A serve/testdata/compression_cost.ts [seconds=3] [rounds=3]
//
// Internal mode: `server <on|off>`.
import { serve } from "../serve.ts";

const SMALL = "Hello World!";
const BIG = "All work and no play makes Jack a dull boy. ".repeat(47); // 2,068 bytes

function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

if (Deno.args[0] === "server") {
  serve({
    hostname: "127.0.0.1",
    port: 0,
    compression: Deno.args[1] === "on",
    onListen: (addr) => console.log(`listening on ${addr.port}`),
  }, (req) => new Response(new URL(req.url).pathname === "/big" ? BIG : SMALL));
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
} else {
  const secs = Number(Deno.args[0] ?? 3);
  const rounds = Number(Deno.args[1] ?? 3);
  const root = new URL("../../", import.meta.url).pathname;
  const pipeline = `${root}bench/wrk/pipeline.lua`;
  const cases: [string, string, string[]][] = [
    ["no Accept-Encoding", "/", []],
    ["gzip,br 12 B", "/", ["-H", "Accept-Encoding: gzip, br"]],
    ["gzip,br 2 KiB", "/big", ["-H", "Accept-Encoding: gzip, br"]],
  ];
  const results = new Map<string, number[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const mode of ["off", "on"]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", import.meta.filename!, "server", mode],
        stdout: "piped",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!/listening on (\d+)/.test(text)) text += (await reader.read()).value ?? "";
      reader.releaseLock();
      child.stdout.cancel().catch(() => {});
      const port = Number(/listening on (\d+)/.exec(text)![1]);
      try {
        for (const [name, path, headers] of cases) {
          // bench/wrk/pipeline.lua always asks for "/": the 2 KiB body is keep-alive only.
          for (const load of path === "/" ? ["keepalive", "pipelined"] : ["keepalive"]) {
            const url = `http://127.0.0.1:${port}${path}`;
            const script = load === "pipelined" ? ["-s", pipeline] : [];
            await new Deno.Command("wrk", {
              args: ["-t1", "-c50", "-d1s", ...headers, ...script, url],
              stdout: "null",
            }).output();
            const c0 = cpuSeconds(child.pid);
            const out = await new Deno.Command("wrk", {
              args: ["-t1", "-c50", `-d${secs}s`, ...headers, ...script, url],
              stdout: "piped",
            }).output();
            const c1 = cpuSeconds(child.pid);
            const reqs = Number(
              /(\d+) requests in/.exec(new TextDecoder().decode(out.stdout))?.[1],
            );
            const us = (c1 - c0) * 1e6 / reqs;
            const key = `${name} | ${load} | compression ${mode}`;
            results.set(key, [...(results.get(key) ?? []), us]);
            console.log(`round=${round} ${key} server_cpu_us_per_req=${us.toFixed(2)}`);
          }
        }
      } finally {
        child.kill("SIGTERM");
        await child.status;
      }
    }
  }
  console.log("\nmedian server CPU us per request");
  for (const [key, xs] of results) {
    xs.sort((a, b) => a - b);
    console.log(`${key}: ${xs[Math.floor((xs.length - 1) / 2)]!.toFixed(2)}`);
  }
}
