// deno-lint-ignore-file no-console
/**
 * Profiles one server under one benchmark load: `deno run --cpu-prof` on the
 * server (and `perf record` of its process with `--perf`, for the split
 * between JIT code, the deno binary and the kernel), then prints where the
 * time went.
 *
 * ```sh
 * deno run -A bench/profile.ts --scenario ws-32b --server coroio_ws
 * deno run -A bench/profile.ts --scenario http-hello --server coroio_http --perf
 * deno run -A bench/profile.ts --scenario ws-1k-deflate-x16 --server coroio_ws_deflate
 * deno run -A bench/profile.ts --list
 * ```
 *
 * Options: `--seconds S` of measured load (5), `--warmup S` (1), `--top N`
 * functions (25), `--out DIR` (a new temporary directory) where the
 * `.cpuprofile` and `perf.data` stay for a closer look (Chrome DevTools,
 * `perf report -i DIR/perf.data`). The WebSocket load is `bench/.bench/ws_load`
 * (built by `bench/compare.ts`), the HTTP load `wrk -t1 -c50`.
 *
 * @module
 */
import { ServerProcess, spawnTracked } from "./_proc.ts";
import { acceptKey } from "./_ws_frames.ts";
import { type Category, summariseProfile } from "./_cpuprof.ts";

const BENCH = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const ROOT = BENCH.replace(/\/bench$/, "");
const OWN = ["/core/", "/http/", "/ws/", "/http_ws/", "/serve/", "/examples/"];

const SERVERS: Record<string, { file: string; args: string[]; path: string }> = {
  "coroio_http": { file: "examples/http_hello.ts", args: [], path: "/" },
  "coroio_ws": { file: "examples/ws_echo.ts", args: [], path: "/" },
  "coroio_http_ws": { file: "examples/http_ws_echo.ts", args: [], path: "/ws" },
  "coroio_ws_deflate": { file: "examples/ws_echo.ts", args: ["--compression"], path: "/" },
  "coroio_http_ws_deflate": {
    file: "examples/http_ws_echo.ts",
    args: ["--compression"],
    path: "/ws",
  },
  "deno_serve": { file: "bench/peers/deno_serve.ts", args: [], path: "/" },
  // The hono "hello" app under serve() and Deno.serve (serve/testdata/bench_server.ts).
  "hono_serve": { file: "serve/testdata/bench_server.ts", args: ["hono-serve"], path: "/" },
  "hono_deno": { file: "serve/testdata/bench_server.ts", args: ["hono-deno"], path: "/" },
  "fetch_serve": { file: "serve/testdata/bench_server.ts", args: ["fetch-serve"], path: "/" },
  "deno_ws": { file: "bench/peers/deno_ws.ts", args: [], path: "/" },
  "floor_http": { file: "bench/floor.ts", args: ["--mode", "http"], path: "/" },
  "floor_ws": { file: "bench/floor.ts", args: ["--mode", "ws"], path: "/" },
  "floor_strict_http": { file: "bench/floor.ts", args: ["--mode", "http", "--strict"], path: "/" },
  "floor_strict_ws": { file: "bench/floor.ts", args: ["--mode", "ws", "--strict"], path: "/" },
};

const SCENARIOS: Record<string, string[]> = {
  "http-hello": ["wrk", "get.lua"],
  "http-pipeline": ["wrk", "pipeline.lua"],
  "http-post-1k": ["wrk", "post_1k.lua"],
  "ws-32b": ["--conns", "50", "--inflight", "1", "--size", "32"],
  "ws-32b-x16": ["--conns", "50", "--inflight", "16", "--size", "32"],
  "ws-64k": ["--conns", "4", "--inflight", "1", "--size", "65536", "--binary"],
  // The compressed ones need a server that negotiates (coroio_ws_deflate, coroio_http_ws_deflate).
  "ws-1k-deflate": ["--conns", "50", "--inflight", "1", "--size", "1024", "--json", "--deflate"],
  "ws-1k-deflate-x16": [
    "--conns",
    "50",
    "--inflight",
    "16",
    "--size",
    "1024",
    "--json",
    "--deflate",
  ],
  "ws-1k-json": ["--conns", "50", "--inflight", "1", "--size", "1024", "--json"],
  "ws-1k-json-x16": ["--conns", "50", "--inflight", "16", "--size", "1024", "--json"],
};

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] ?? fallback : fallback;
}

async function load(
  scenario: string,
  port: number,
  path: string,
  seconds: number,
): Promise<string> {
  const spec = SCENARIOS[scenario]!;
  let cmd: string;
  let args: string[];
  if (spec[0] === "wrk") {
    const script = spec[1] === "post_1k.lua" ? "/echo" : path;
    cmd = "wrk";
    args = [
      "-t1",
      "-c50",
      `-d${Math.round(seconds)}s`,
      "-s",
      `${BENCH}/wrk/${spec[1]}`,
      `http://127.0.0.1:${port}${script}`,
    ];
  } else {
    const key = "dGhlIHNhbXBsZSBub25jZQ==";
    cmd = `${BENCH}/.bench/ws_load`;
    args = [
      "--url",
      `ws://127.0.0.1:${port}${path}`,
      "--key",
      key,
      "--accept",
      await acceptKey(key),
      "--duration",
      `${seconds}`,
      ...spec,
    ];
  }
  const out = await spawnTracked(cmd, args).output();
  if (!out.success) {
    throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr).slice(-300)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

function pct(part: number, whole: number): string {
  return `${(whole > 0 ? (part / whole) * 100 : 0).toFixed(1)}%`;
}

async function perfReport(data: string, sort: string, limit: number): Promise<string[]> {
  const out = await new Deno.Command("perf", {
    args: [
      "report",
      "-i",
      data,
      "--no-children",
      "--sort",
      sort,
      "--stdio",
      "--percent-limit",
      "1",
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n")
    .filter((l) => /^\s+[\d.]+%/.test(l)).slice(0, limit).map((l) => l.trimEnd());
}

async function main(): Promise<void> {
  if (Deno.args.includes("--list")) {
    console.log(`scenarios: ${Object.keys(SCENARIOS).join(", ")}`);
    console.log(`servers: ${Object.keys(SERVERS).join(", ")}`);
    return;
  }
  const scenario = option("scenario", "ws-32b");
  const serverId = option("server", "coroio_ws");
  const server = SERVERS[serverId];
  if (SCENARIOS[scenario] === undefined || server === undefined) {
    throw new TypeError(`Cannot profile: unknown --scenario or --server (see --list)`);
  }
  const seconds = Number(option("seconds", "5"));
  const warmup = Number(option("warmup", "1"));
  const topN = Number(option("top", "25"));
  const perf = Deno.args.includes("--perf");
  const dir = option("out", "") || await Deno.makeTempDir({ prefix: "coroio-profile-" });
  await Deno.mkdir(dir, { recursive: true });
  const proc = await ServerProcess.start({
    cmd: Deno.execPath(),
    args: [
      "run",
      "-A",
      "--cpu-prof",
      `--cpu-prof-dir=${dir}`,
      // --perf-basic-prof writes /tmp/perf-PID.map for perf; keep V8's log out of the cwd.
      ...(perf
        ? [`--v8-flags=--perf-basic-prof,--no-logfile-per-isolate,--logfile=${dir}/v8.log`]
        : []),
      `${ROOT}/${server.file}`,
      ...server.args,
      "--hostname",
      "127.0.0.1",
      "--port",
      "0",
    ],
    cwd: ROOT,
  });
  let result = "";
  let cpu = 0;
  try {
    if (warmup > 0) await load(scenario, proc.port, server.path, warmup);
    const recording = perf
      ? new Deno.Command("perf", {
        args: [
          "record",
          "-e",
          "cpu-clock",
          "-F",
          "999",
          "-g",
          "-p",
          `${proc.pid}`,
          "-o",
          `${dir}/perf.data`,
          "--",
          "sleep",
          `${seconds}`,
        ],
        stdout: "null",
        stderr: "piped",
      }).output()
      : null;
    const cpu0 = proc.cpuSeconds();
    result = await load(scenario, proc.port, server.path, seconds);
    cpu = proc.cpuSeconds() - cpu0;
    const rec = await recording;
    if (rec && !rec.success) {
      console.error(`perf record failed: ${new TextDecoder().decode(rec.stderr).slice(-300)}`);
    }
  } finally {
    await proc.stop(15_000); // SIGTERM: the server exits and writes its profile
  }
  const files = [...Deno.readDirSync(dir)].filter((e) => e.name.endsWith(".cpuprofile"));
  console.log(`${scenario} / ${serverId}: load ${seconds} s, server CPU ${cpu.toFixed(2)} s`);
  console.log(`load result: ${result.trim().split("\n").at(-1)?.slice(0, 200)}`);
  if (files.length === 0) {
    console.log(`no .cpuprofile in ${dir}: the server did not exit on SIGTERM`);
  } else {
    const profile = JSON.parse(await Deno.readTextFile(`${dir}/${files[0]!.name}`));
    const s = summariseProfile(profile, OWN);
    console.log(
      `\nV8 profile ${dir}/${files[0]!.name}: ${s.totalMs.toFixed(0)} ms, busy ${
        s.busyMs.toFixed(0)
      } ms (whole server life, warm-up and start-up included)`,
    );
    for (const [k, v] of Object.entries(s.byCategory) as Array<[Category, number]>) {
      if (k !== "idle") console.log(`  ${k.padEnd(8)} ${pct(v, s.busyMs).padStart(6)} of busy`);
    }
    console.log(`\n  self % of busy  function  (category, where)`);
    for (const f of s.top.slice(0, topN)) {
      console.log(
        `  ${pct(f.selfMs, s.busyMs).padStart(6)}  ${f.name}  (${f.category}, ${f.where || "-"})`,
      );
    }
  }
  if (perf) {
    console.log(`\nperf (${dir}/perf.data), by object:`);
    for (const l of await perfReport(`${dir}/perf.data`, "dso", 12)) console.log(l);
    console.log(`\nperf, by symbol:`);
    for (const l of await perfReport(`${dir}/perf.data`, "dso,sym", topN)) console.log(l);
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    Deno.exit(1);
  }
}
