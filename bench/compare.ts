// deno-lint-ignore-file no-console
/**
 * End-to-end comparison of coroio's servers with the runtime's own, Node's
 * and Bun's (1.4.4, installed on demand from npm into `bench/.bench/bun/`),
 * and with the platform floor (`bench/floor.ts`: the cheapest correct server
 * on `Deno.listen`), on this machine, side by side.
 *
 * ```sh
 * deno run -A bench/compare.ts                 # full run: 3 rounds x 5 s per server and scenario
 * deno run -A bench/compare.ts --quick         # smoke run: 1 round x 1 s, 1,000 idle connections
 * deno run -A bench/compare.ts --only ws-32b --rounds 5 --duration 10
 * deno run -A bench/compare.ts --list
 * ```
 *
 * Every server is started here on 127.0.0.1 port 0 (its `listening on` line
 * gives the port), checked, warmed up, loaded for a fixed time and stopped by
 * PID (SIGTERM, then SIGKILL; its exit is checked), fresh for each run. The
 * servers of a scenario run alternately (A B C A B C ...) for `--rounds`
 * rounds. Per run the server's CPU time (`/proc/PID/stat`) and the load
 * client's are recorded, so a saturated client shows. HTTP load comes from
 * `wrk`; WebSocket load from `bench/ws_load.c` (compiled here with gcc, the
 * default because it leaves the server more of the 2 cores) or
 * `bench/ws_load.ts` (`--client ts`, or when gcc is missing).
 *
 * The compressed scenarios (`--only ws-1k`: `ws-1k-deflate`, `-x16`, and
 * their uncompressed baselines `ws-1k-json`, `-x16`) need the C client (it
 * links zlib: `apt-get install -y zlib1g-dev`): it negotiates
 * permessage-deflate, sends 64 different 1 KiB JSON-like documents deflated
 * once at start-up, and inflates and compares every echo. Ours run with
 * `--compression`, npm ws and Bun with permessage-deflate on;
 * `Deno.upgradeWebSocket` cannot compress and runs uncompressed for
 * reference, without a ratio.
 *
 * Output: the Markdown table on stdout and in `bench/results/<out>.md`, the
 * JSON in `<out>.json`, the ratio chart in `ratios.svg` (`<out>-ratios.svg`
 * when `--out` is not `latest`; `<out>` is `quick` with `--quick`). Exit
 * status 1 when a run had errors or failed.
 *
 * @module
 */
import {
  clockTicks,
  cpuTimes,
  killAll,
  machineBusySeconds,
  ServerProcess,
  type ServerSpec,
  spawnTracked,
} from "./_proc.ts";
import {
  type CompetitorResult,
  ratios,
  renderMarkdown,
  renderSvg,
  type Report,
  type RunSample,
  type ScenarioResult,
  summarise,
} from "./_report.ts";
import { Better, LatencyHistogram } from "./_stats.ts";
import { acceptKey } from "./_ws_frames.ts";

const BENCH = new URL(".", import.meta.url).pathname.replace(/\/$/, "");
const ROOT = BENCH.replace(/\/bench$/, "");
const NODE_DIR = `${BENCH}/peers/node`;
/** The Bun release the peer runs, from the npm registry (`@oven/bun-linux-x64`). */
const BUN_VERSION = "1.4.4";
const BUN_DIR = `${BENCH}/.bench/bun`;
const BUN_BIN = `${BUN_DIR}/node_modules/@oven/bun-linux-x64/bin/bun`;

// ---------------------------------------------------------------- options

interface Options {
  rounds: number;
  duration: number;
  warmup: number;
  only: string[];
  servers: string[];
  quick: boolean;
  client: "auto" | "c" | "ts";
  wrkThreads: number;
  connections: number;
  idleConns: number;
  out: string;
  list: boolean;
  render: boolean;
}

const HELP = `Usage: deno run -A bench/compare.ts [options]

  --rounds N        rounds of alternating runs (default 3)
  --duration S      seconds of load per run (default 5)
  --warmup S        seconds of load before each measured run (default 1)
  --only A,B        run only scenarios whose id contains one of these (see --list)
  --servers A,B     run only servers whose id contains one of these; the strict
                    floors (bench/floor.ts --strict) run only when named: --servers strict
  --quick           smoke run: 1 round, 1 s, 0.3 s warm-up, 1,000 idle connections
  --client c|ts     WebSocket load client (default c when gcc exists, else ts)
  --wrk-threads N   wrk threads (default 1: see bench/README.md)
  --connections N   connections for the HTTP and 32-byte WebSocket scenarios (default 50)
  --idle-conns N    connections in the idle-memory scenario (default 10000)
  --out NAME        result file name under bench/results/ (default latest, quick with --quick)
  --list            list scenarios and servers, then exit
  --render          only rewrite <out>.md and the chart from <out>.json (no load)
`;

function parseOptions(argv: string[]): Options {
  const o: Options = {
    rounds: 3,
    duration: 5,
    warmup: 1,
    only: [],
    servers: [],
    quick: false,
    client: "auto",
    wrkThreads: 1,
    connections: 50,
    idleConns: 10_000,
    out: "",
    list: false,
    render: false,
  };
  const given = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf("=");
    const name = eq > 0 ? raw.slice(0, eq) : raw;
    const value = () => (eq > 0 ? raw.slice(eq + 1) : argv[++i] ?? "");
    const num = () => {
      const s = value();
      const v = Number(s);
      if (!(v > 0)) throw new TypeError(`Cannot parse ${name}: "${s}" is not a positive number`);
      return v;
    };
    given.add(name);
    switch (name) {
      case "--rounds":
        o.rounds = Math.round(num());
        break;
      case "--duration":
        o.duration = num();
        break;
      case "--warmup": {
        const s = value();
        o.warmup = Number(s);
        if (!(o.warmup >= 0)) {
          throw new TypeError(`Cannot parse --warmup: "${s}" is not a number >= 0`);
        }
        break;
      }
      case "--only":
        o.only = value().split(",").filter(Boolean);
        break;
      case "--servers":
        o.servers = value().split(",").filter(Boolean);
        break;
      case "--quick":
        o.quick = true;
        break;
      case "--client": {
        const c = value();
        if (c !== "c" && c !== "ts" && c !== "auto") {
          throw new TypeError(`Cannot parse --client: "${c}" is not c or ts`);
        }
        o.client = c;
        break;
      }
      case "--wrk-threads":
        o.wrkThreads = Math.round(num());
        break;
      case "--connections":
        o.connections = Math.round(num());
        break;
      case "--idle-conns":
        o.idleConns = Math.round(num());
        break;
      case "--out":
        o.out = value();
        if (!/^[\w.-]+$/.test(o.out)) {
          throw new TypeError(`Cannot parse --out: "${o.out}" is not a plain file name`);
        }
        break;
      case "--list":
        o.list = true;
        break;
      case "--render":
        o.render = true;
        break;
      case "--help":
      case "-h":
        console.log(HELP);
        Deno.exit(0);
        break;
      default:
        throw new TypeError(`Cannot parse arguments: unknown option "${raw}"\n\n${HELP}`);
    }
  }
  if (o.quick) {
    if (!given.has("--rounds")) o.rounds = 1;
    if (!given.has("--duration")) o.duration = 1;
    if (!given.has("--warmup")) o.warmup = 0.3;
    if (!given.has("--idle-conns")) o.idleConns = 1000;
  }
  if (o.out === "") o.out = o.quick ? "quick" : "latest";
  return o;
}

// ---------------------------------------------------------------- servers and scenarios

interface Competitor {
  id: string;
  label: string;
  ours: boolean;
  /** The platform floor (`bench/floor.ts`): ours are reported as a share of it. */
  floor?: boolean;
  /** File that must exist, relative to the repo root. */
  file: string;
  runtime: "deno" | "node" | "bun";
  /** Arguments after the file, before the listen flags. */
  args?: string[];
  /** Request path for WebSocket servers. */
  wsPath?: string;
  /**
   * Shown for reference only, not compared (no ratios): a server that cannot
   * do what the scenario asks (Deno.upgradeWebSocket cannot compress).
   */
  reference?: boolean;
  /** In a compressed scenario: the server does not negotiate permessage-deflate, load it without. */
  plain?: boolean;
  /**
   * The listen flags after `args` (default `--hostname 127.0.0.1 --port 0`);
   * `[]` for the borrowed test-data servers, which listen on 127.0.0.1 port 0
   * when given no port.
   */
  listenArgs?: string[];
  /** Needs npm ws from `bench/peers/node/` (run with `NODE_PATH` pointing there). */
  nodeWs?: boolean;
  /** Needs hono for Bun (`bench/.bench/hono/`, passed as `--hono <entry file>`). */
  bunHono?: boolean;
  /** Run only when `--servers` names it (a filter containing "strict" that matches its id). */
  onDemand?: boolean;
}

const HTTP_SERVERS: Competitor[] = [
  {
    id: "coroio_http",
    label: "coroio http",
    ours: true,
    file: "examples/http_hello.ts",
    runtime: "deno",
  },
  {
    id: "deno_serve",
    label: "Deno.serve",
    ours: false,
    file: "bench/peers/deno_serve.ts",
    runtime: "deno",
  },
  {
    id: "node_http",
    label: "Node http",
    ours: false,
    file: "bench/peers/node/node_http.mjs",
    runtime: "node",
  },
  {
    id: "bun",
    label: "Bun.serve",
    ours: false,
    file: "bench/peers/bun/bun_server.ts",
    runtime: "bun",
  },
  {
    id: "floor_http",
    label: "floor (Deno.listen)",
    ours: false,
    floor: true,
    file: "bench/floor.ts",
    runtime: "deno",
    args: ["--mode", "http"],
  },
  {
    id: "floor_strict_http",
    label: "floor + strict parse",
    ours: false,
    file: "bench/floor.ts",
    runtime: "deno",
    args: ["--mode", "http", "--strict"],
    onDemand: true,
  },
];

const WS_SERVERS: Competitor[] = [
  {
    id: "coroio_ws",
    label: "coroio ws",
    ours: true,
    file: "examples/ws_echo.ts",
    runtime: "deno",
    wsPath: "/",
  },
  {
    id: "coroio_http_ws",
    label: "coroio http+ws bridge",
    ours: true,
    file: "examples/http_ws_echo.ts",
    runtime: "deno",
    wsPath: "/ws",
  },
  {
    id: "deno_ws",
    label: "Deno.upgradeWebSocket",
    ours: false,
    file: "bench/peers/deno_ws.ts",
    runtime: "deno",
    wsPath: "/",
  },
  {
    id: "node_ws",
    label: "ws (Node)",
    ours: false,
    file: "bench/peers/node/node_ws.mjs",
    runtime: "node",
    wsPath: "/",
  },
  {
    id: "bun",
    label: "Bun.serve",
    ours: false,
    file: "bench/peers/bun/bun_server.ts",
    runtime: "bun",
    wsPath: "/",
  },
  {
    id: "floor_ws",
    label: "floor (Deno.listen)",
    ours: false,
    floor: true,
    file: "bench/floor.ts",
    runtime: "deno",
    args: ["--mode", "ws"],
    wsPath: "/",
  },
  {
    id: "floor_strict_ws",
    label: "floor + RFC 6455 checks + handler",
    ours: false,
    file: "bench/floor.ts",
    runtime: "deno",
    args: ["--mode", "ws", "--strict"],
    wsPath: "/",
    onDemand: true,
  },
];

/**
 * The compressed scenarios' servers: ours with `--compression` (the default
 * shared mode), npm ws with permessage-deflate on (its defaults, and again
 * with `serverNoContextTakeover`: the same work per message as ours), Bun
 * with permessage-deflate on, and
 * `Deno.upgradeWebSocket`, which cannot compress, run uncompressed for
 * reference (no ratio). The floor does not compress either and is left out.
 */
const WS_DEFLATE_SERVERS: Competitor[] = [
  ...WS_SERVERS.filter((c) => c.ours).map((c) => ({
    ...c,
    label: `${c.label} (deflate, shared)`,
    args: [...(c.args ?? []), "--compression"],
  })),
  {
    ...WS_SERVERS.find((c) => c.id === "node_ws")!,
    label: "ws (Node, perMessageDeflate)",
    args: ["--compression"],
  },
  {
    ...WS_SERVERS.find((c) => c.id === "node_ws")!,
    id: "node_ws_nct",
    label: "ws (Node, perMessageDeflate, serverNoContextTakeover)",
    args: ["--compression", "--no-context-takeover"],
  },
  {
    ...WS_SERVERS.find((c) => c.id === "bun")!,
    label: "Bun.serve (perMessageDeflate)",
    args: ["--compression"],
  },
  {
    ...WS_SERVERS.find((c) => c.id === "deno_ws")!,
    label: "Deno.upgradeWebSocket (cannot compress: uncompressed, reference only)",
    reference: true,
    plain: true,
  },
];

/**
 * The fan-out scenario's servers (issue 10), borrowed from `ws/testdata/`
 * (run from there, not copied): ours is `examples/fanout.ts` (`Topics`),
 * the others speak its `sub <topic>` and binary publish subset.
 */
const FANOUT_SERVERS: Competitor[] = [
  {
    id: "coroio_fanout",
    label: "coroio Topics (examples/fanout.ts)",
    ours: true,
    file: "examples/fanout.ts",
    runtime: "deno",
  },
  {
    id: "deno_fanout",
    label: "Deno.upgradeWebSocket + loop",
    ours: false,
    file: "ws/testdata/fanout_peer_deno.ts",
    runtime: "deno",
    listenArgs: [],
  },
  {
    id: "node_ws_fanout",
    label: "ws (Node) + loop",
    ours: false,
    file: "ws/testdata/fanout_peer_node.mjs",
    runtime: "node",
    listenArgs: [],
    nodeWs: true,
  },
  {
    id: "bun",
    label: "Bun.serve server.publish",
    ours: false,
    file: "ws/testdata/fanout_peer_bun.mjs",
    runtime: "bun",
    listenArgs: [],
  },
];

/** The hono release `serve/testdata/bench_server.ts` imports; Bun's peer loads the same. */
const HONO_VERSION = "4.13.19";
const HONO_DIR = `${BENCH}/.bench/hono`;
const HONO_ENTRY = `${HONO_DIR}/node_modules/hono/dist/index.js`;

/**
 * The hono scenarios' servers (issue 11): one hono "hello" app
 * (`serve/testdata/bench_server.ts`, GET / only) under our `serve()`, under
 * `Deno.serve`, and under `Bun.serve` (`bench/peers/bun/bun_hono.ts`).
 */
const HONO_SERVERS: Competitor[] = [
  {
    id: "coroio_hono",
    label: "hono on coroio serve()",
    ours: true,
    file: "serve/testdata/bench_server.ts",
    runtime: "deno",
    args: ["hono-serve"],
    listenArgs: [],
  },
  {
    id: "deno_hono",
    label: "hono on Deno.serve",
    ours: false,
    file: "serve/testdata/bench_server.ts",
    runtime: "deno",
    args: ["hono-deno"],
    listenArgs: [],
  },
  {
    id: "bun_hono",
    label: "hono on Bun.serve",
    ours: false,
    file: "bench/peers/bun/bun_hono.ts",
    runtime: "bun",
    bunHono: true,
  },
];

/** Pool of different messages the load client sends in the JSON scenarios (`--pool`). */
const JSON_POOL = 64;

type Kind =
  | {
    type: "wrk";
    script: string;
    path: string;
    /** Check only `GET /` before loading (the hono app has no `/echo`). */
    helloOnly?: boolean;
  }
  | {
    /** `ws/testdata/fanout_load.ts`: one topic, N subscribers, one closed-loop publisher. */
    type: "fanout";
    subscribers: number;
    size: number;
    /** Publishes ahead of subscriber 0 (`--window`). */
    window: number;
  }
  | {
    type: "ws-echo";
    conns: number;
    inflight: number;
    size: number;
    binary: boolean;
    mb: boolean;
    /** Varied JSON-like text (`--json`), not one repeated string. */
    json?: boolean;
    /** Negotiate permessage-deflate; every echo is inflated and compared (`--deflate`). */
    deflate?: boolean;
  }
  | { type: "ws-idle"; deflate?: boolean };

interface Scenario {
  id: string;
  title: string;
  unit: string;
  better: Better;
  kind: Kind;
  servers: Competitor[];
  /**
   * Ratio targets by peer id: issue 5 (Deno, Node), issue 12 (Bun; share of
   * the floor, `floor_*`, >= 0.9 everywhere).
   */
  targets: Record<string, number>;
  absoluteTarget?: number;
}

function scenarios(o: Options): Scenario[] {
  const c = o.connections;
  return [
    {
      id: "http-hello",
      title: `HTTP/1.1 keep-alive GET / (short text), ${c} connections`,
      unit: "req/s",
      better: Better.higher,
      kind: { type: "wrk", script: "get.lua", path: "/" },
      servers: HTTP_SERVERS,
      targets: { deno_serve: 1.0, node_http: 1.7, bun: 1.0, floor_http: 0.9 },
    },
    {
      id: "http-pipeline",
      title: `HTTP/1.1 GET / pipelined 16 deep, ${c} connections`,
      unit: "req/s",
      better: Better.higher,
      kind: { type: "wrk", script: "pipeline.lua", path: "/" },
      servers: HTTP_SERVERS,
      targets: { deno_serve: 5, bun: 1.0, floor_http: 0.9 },
    },
    {
      id: "http-post-1k",
      title: `HTTP/1.1 POST /echo with a 1 KiB body echoed back (buffered), ${c} connections`,
      unit: "req/s",
      better: Better.higher,
      kind: { type: "wrk", script: "post_1k.lua", path: "/echo" },
      servers: HTTP_SERVERS,
      targets: { deno_serve: 2, bun: 1.0, floor_http: 0.9 },
    },
    {
      id: "ws-32b",
      title: `WebSocket echo, ${c} connections x 32-byte text, 1 in flight each`,
      unit: "msg/s",
      better: Better.higher,
      kind: { type: "ws-echo", conns: c, inflight: 1, size: 32, binary: false, mb: false },
      servers: WS_SERVERS,
      targets: { deno_ws: 1.0, node_ws: 1.3, floor_ws: 0.9 },
    },
    {
      id: "ws-32b-x16",
      title: `WebSocket echo, ${c} connections x 32-byte text, 16 in flight each`,
      unit: "msg/s",
      better: Better.higher,
      kind: { type: "ws-echo", conns: c, inflight: 16, size: 32, binary: false, mb: false },
      servers: WS_SERVERS,
      targets: { deno_ws: 5, bun: 1.0, floor_ws: 0.9 },
    },
    {
      id: "ws-64k",
      title: "WebSocket echo, 4 connections x 64 KiB binary, 1 in flight each",
      unit: "MB/s",
      better: Better.higher,
      kind: { type: "ws-echo", conns: 4, inflight: 1, size: 65536, binary: true, mb: true },
      servers: WS_SERVERS,
      targets: { deno_ws: 1.3, floor_ws: 0.9 },
    },
    ...[1, 16].flatMap((inflight): Scenario[] => {
      const x = inflight === 1 ? "" : `-x${inflight}`;
      const json = { type: "ws-echo", conns: c, inflight, size: 1024, binary: false, mb: false };
      return [{
        id: `ws-1k-deflate${x}`,
        title: `WebSocket echo with permessage-deflate, ${c} connections x 1 KiB JSON-like text ` +
          `(${JSON_POOL} different messages), ${inflight} in flight each`,
        unit: "msg/s",
        better: Better.higher,
        kind: { ...json, type: "ws-echo", json: true, deflate: true },
        servers: WS_DEFLATE_SERVERS,
        targets: { node_ws: 2, bun: 1 },
      }, {
        id: `ws-1k-json${x}`,
        title: `WebSocket echo without compression, ${c} connections x 1 KiB JSON-like text ` +
          `(${JSON_POOL} different messages), ${inflight} in flight each: the baseline of ws-1k-deflate${x}`,
        unit: "msg/s",
        better: Better.higher,
        kind: { ...json, type: "ws-echo", json: true },
        servers: WS_SERVERS,
        targets: {},
      }];
    }),
    {
      id: "ws-fanout",
      title: "WebSocket fan-out: one topic, 1,000 subscriber connections, 64-byte binary " +
        "publishes (closed loop, 32 ahead): deliveries per second",
      unit: "deliveries/s",
      better: Better.higher,
      kind: { type: "fanout", subscribers: 1000, size: 64, window: 32 },
      servers: FANOUT_SERVERS,
      targets: { deno_fanout: 3, node_ws_fanout: 3, bun: 0.8 },
    },
    {
      id: "http-hono",
      title: `hono "hello" app, HTTP/1.1 keep-alive GET /, ${c} connections`,
      unit: "req/s",
      better: Better.higher,
      kind: { type: "wrk", script: "get.lua", path: "/", helloOnly: true },
      servers: HONO_SERVERS,
      targets: { deno_hono: 1.0 },
    },
    {
      id: "http-hono-pipeline",
      title: `hono "hello" app, HTTP/1.1 GET / pipelined 16 deep, ${c} connections`,
      unit: "req/s",
      better: Better.higher,
      kind: { type: "wrk", script: "pipeline.lua", path: "/", helloOnly: true },
      servers: HONO_SERVERS,
      targets: { deno_hono: 3 },
    },
    {
      id: "ws-idle",
      title:
        `${
          o.idleConns.toLocaleString("en-US")
        } idle WebSocket connections: server RSS growth per ` +
        `connection (VmRSS after minus before, / N)`,
      unit: "KiB/conn",
      better: Better.lower,
      kind: { type: "ws-idle" },
      servers: WS_SERVERS,
      targets: {},
      absoluteTarget: 10,
    },
  ];
}

// ---------------------------------------------------------------- environment

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function commandLine(cmd: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    return text.trim().split("\n")[0] ?? "";
  } catch {
    return null;
  }
}

interface Environment {
  nodeVersion: string | null;
  wrkVersion: string | null;
  nodeWsReady: boolean | string;
  /** Bun's version when its binary is ready, else why it is not. */
  bun: { version: string } | { missing: string };
  /** True when hono is installed for Bun's hono peer, else why not. */
  honoReady: true | string;
  wsClient: "c" | "ts";
  wsClientPath: string;
}

async function prepare(o: Options, wanted: Scenario[]): Promise<Environment> {
  const nodeVersion = await commandLine("node", ["--version"]);
  const wrkLine = await commandLine("wrk", ["-v"]);
  const wrkVersion = wrkLine === null
    ? null
    : (/wrk (?:debian\/)?(\S+)/.exec(wrkLine)?.[1] ?? wrkLine);
  if (wrkVersion === null && wanted.some((s) => s.kind.type === "wrk")) {
    console.error(
      "wrk is not installed: the HTTP scenarios are skipped. Install it with: apt-get install -y wrk",
    );
  }
  let nodeWsReady: boolean | string = false;
  if (nodeVersion === null) {
    nodeWsReady = "node is not installed (the Node peers need it)";
  } else if (wanted.some((s) => s.servers.some((c) => c.id === "node_ws" || c.nodeWs))) {
    if (await exists(`${NODE_DIR}/node_modules/ws/package.json`)) {
      nodeWsReady = true;
    } else {
      console.error(`installing npm ws for the Node peer: npm ci --prefix ${NODE_DIR}`);
      const out = await new Deno.Command("npm", {
        args: ["ci", "--prefix", NODE_DIR, "--no-audit", "--no-fund"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
      nodeWsReady = out.success ||
        `npm ci --prefix bench/peers/node failed: ${
          new TextDecoder().decode(out.stderr).trim().slice(-300)
        }`;
    }
  }
  const bun = wanted.some((s) => s.servers.some((c) => c.runtime === "bun"))
    ? await prepareBun()
    : { missing: "not wanted" };
  if ("missing" in bun && bun.missing !== "not wanted") {
    console.error(
      `\n*** BUN IS NOT AVAILABLE: the Bun peer is skipped in every scenario. ${bun.missing} ***\n`,
    );
  }
  const honoReady = wanted.some((s) => s.servers.some((c) => c.bunHono))
    ? await prepareHono()
    : "not wanted";
  if (honoReady !== true && honoReady !== "not wanted") {
    console.error(
      `\n*** HONO FOR BUN IS NOT AVAILABLE: Bun's hono peer is skipped. ${honoReady} ***\n`,
    );
  }
  let wsClient: "c" | "ts" = "ts";
  let wsClientPath = `${BENCH}/ws_load.ts`;
  if (o.client !== "ts" && wanted.some((s) => s.kind.type.startsWith("ws-"))) {
    const bin = `${BENCH}/.bench/ws_load`;
    const src = `${BENCH}/ws_load.c`;
    const fresh = await Promise.all([Deno.stat(bin), Deno.stat(src)])
      .then(([b, s]) => (b.mtime?.getTime() ?? 0) >= (s.mtime?.getTime() ?? 0))
      .catch(() => false);
    if (!fresh) {
      await Deno.mkdir(`${BENCH}/.bench`, { recursive: true });
      const out = await new Deno.Command("gcc", {
        args: ["-O2", "-Wall", "-o", bin, src, "-lz"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output().catch(() => null);
      if (out === null || !out.success) {
        const why = out === null
          ? "gcc is not installed"
          : new TextDecoder().decode(out.stderr).slice(0, 500) +
            (new TextDecoder().decode(out.stderr).includes("zlib.h")
              ? " (install zlib: apt-get install -y zlib1g-dev)"
              : "");
        if (o.client === "c") throw new Error(`Cannot build bench/ws_load.c: ${why}`);
        console.error(`Cannot build the C load client (${why}); using bench/ws_load.ts instead`);
      }
    }
    if (await exists(bin)) {
      wsClient = "c";
      wsClientPath = bin;
    }
  }
  return { nodeVersion, wrkVersion, nodeWsReady, bun, honoReady, wsClient, wsClientPath };
}

/**
 * Makes hono ${HONO_VERSION} importable by Bun's hono peer: installed from the
 * npm registry into `bench/.bench/hono/` (ignored by git) on first use, its
 * own folder so that npm does not prune Bun's `--no-save` install.
 */
async function prepareHono(): Promise<true | string> {
  const installed = async () =>
    JSON.parse(
        await Deno.readTextFile(`${HONO_DIR}/node_modules/hono/package.json`).catch(() => "{}"),
      ).version === HONO_VERSION && await exists(HONO_ENTRY);
  if (await installed()) return true;
  const spec = `hono@${HONO_VERSION}`;
  console.error(`installing hono for Bun's hono peer: npm install --prefix ${HONO_DIR} ${spec}`);
  await Deno.mkdir(HONO_DIR, { recursive: true });
  const out = await new Deno.Command("npm", {
    args: ["install", "--prefix", HONO_DIR, "--no-save", "--no-audit", "--no-fund", spec],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
  if (!out.success) {
    return `npm install of ${spec} failed: ${
      new TextDecoder().decode(out.stderr).trim().replace(/\s+/g, " ").slice(-240)
    }`;
  }
  return (await installed()) ? true : `${HONO_ENTRY} is missing after npm install`;
}

/**
 * Makes Bun ${BUN_VERSION} available in `bench/.bench/bun/` (ignored by git):
 * installed from the npm registry as `@oven/bun-linux-x64` on first use.
 */
async function prepareBun(): Promise<{ version: string } | { missing: string }> {
  const version = async () => (await commandLine(BUN_BIN, ["--version"]))?.trim() ?? null;
  let v = await version();
  if (v !== BUN_VERSION) {
    if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
      return { missing: `the npm package @oven/bun-linux-x64 is for Linux x64 only` };
    }
    const spec = `@oven/bun-linux-x64@${BUN_VERSION}`;
    console.error(`installing Bun for the Bun peer: npm install --prefix ${BUN_DIR} ${spec}`);
    await Deno.mkdir(BUN_DIR, { recursive: true });
    const out = await new Deno.Command("npm", {
      args: ["install", "--prefix", BUN_DIR, "--no-save", "--no-audit", "--no-fund", spec],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output().catch((e) => ({ success: false, stderr: new TextEncoder().encode(String(e)) }));
    if (!out.success) {
      // One line for the console and the report: npm's own "npm error" lines, log path left out.
      const why = new TextDecoder().decode(out.stderr).split("\n")
        .filter((l) => l.startsWith("npm error") && !l.includes("complete log"))
        .map((l) => l.slice("npm error".length).trim()).join("; ").replace(/\s+/g, " ");
      return { missing: `npm install of ${spec} failed: ${why.slice(0, 240) || "no output"}` };
    }
    v = await version();
  }
  return v === BUN_VERSION
    ? { version: v }
    : { missing: `${BUN_BIN} ${v === null ? "does not run" : `reports version ${v}`}` };
}

function specFor(c: Competitor): ServerSpec {
  const args = [
    `${ROOT}/${c.file}`,
    ...(c.args ?? []),
    ...(c.bunHono ? ["--hono", HONO_ENTRY] : []),
    ...(c.listenArgs ?? ["--hostname", "127.0.0.1", "--port", "0"]),
  ];
  switch (c.runtime) {
    case "deno":
      return { cmd: Deno.execPath(), args: ["run", "-A", ...args], cwd: ROOT };
    case "node":
      return c.nodeWs
        ? { cmd: "node", args, cwd: ROOT, env: { NODE_PATH: `${NODE_DIR}/node_modules` } }
        : { cmd: "node", args, cwd: ROOT };
    case "bun":
      return { cmd: BUN_BIN, args, cwd: ROOT };
  }
}

async function unavailable(c: Competitor, env: Environment): Promise<string | null> {
  if (!(await exists(`${ROOT}/${c.file}`))) return `${c.file} does not exist yet`;
  if (c.runtime === "node" && env.nodeVersion === null) return "node is not installed";
  if ((c.id.startsWith("node_ws") || c.nodeWs) && env.nodeWsReady !== true) {
    return String(env.nodeWsReady);
  }
  if (c.bunHono && env.honoReady !== true) return `HONO FOR BUN NOT AVAILABLE: ${env.honoReady}`;
  if (c.runtime === "bun" && "missing" in env.bun) {
    return `BUN NOT AVAILABLE: ${env.bun.missing}`;
  }
  return null;
}

// ---------------------------------------------------------------- helpers

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Runs a client to completion with a hard time limit; returns stdout. */
async function runClient(
  cmd: string,
  args: string[],
  limitS: number,
): Promise<{ stdout: string; stderr: string }> {
  const child = spawnTracked(cmd, args);
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, limitS * 1000);
  try {
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success) {
      throw new Error(
        `${cmd.split("/").pop()} exited with ${out.code}${out.signal ? ` (${out.signal})` : ""}: ${
          (stderr || stdout).trim().slice(-400)
        }`,
      );
    }
    return { stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

function lastJson<T>(text: string, what: string): T {
  const line = text.trim().split("\n").reverse().find((l) => l.startsWith("{"));
  if (line === undefined) throw new Error(`${what} printed no JSON result: ${text.slice(-300)}`);
  return JSON.parse(line) as T;
}

/** One raw HTTP/1.1 exchange with `Connection: close`, bounded by a timeout. */
async function httpExchange(
  port: number,
  request: string,
  timeoutMs = 5000,
): Promise<{ status: number; body: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timer = setTimeout(() => conn.close(), timeoutMs);
  const chunks: Uint8Array[] = [];
  try {
    const req = new TextEncoder().encode(request);
    for (let off = 0; off < req.length;) off += await conn.write(req.subarray(off));
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  } catch (e) {
    if (chunks.length === 0) throw new Error(`no response within ${timeoutMs} ms (${e})`);
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) all.set(c, (off += c.length) - c.length);
  const text = new TextDecoder("latin1").decode(all);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`incomplete response head: "${text.slice(0, 200)}"`);
  const head = text.slice(0, end);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? NaN);
  let body = all.subarray(end + 4);
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(head)) {
    const parts: number[] = [];
    let i = 0;
    while (i < body.length) {
      const lineEnd = text.indexOf("\r\n", end + 4 + i) - (end + 4);
      const size = parseInt(text.slice(end + 4 + i, end + 4 + lineEnd), 16);
      if (!(size > 0)) break;
      for (let k = 0; k < size; k++) parts.push(body[lineEnd + 2 + k]!);
      i = lineEnd + 2 + size + 2;
    }
    body = new Uint8Array(parts);
  } else if (cl) {
    body = body.subarray(0, Number(cl[1]));
  }
  return { status, body };
}

/** Checks the HTTP routes every server must have; returns what is wrong, or null. */
async function checkHttp(port: number, helloOnly = false): Promise<string | null> {
  const host = `Host: 127.0.0.1:${port}\r\nConnection: close\r\n`;
  const hello = await httpExchange(port, `GET / HTTP/1.1\r\n${host}\r\n`);
  if (hello.status !== 200 || hello.body.length === 0) {
    return `GET / answered ${hello.status} with ${hello.body.length} bytes`;
  }
  if (helloOnly) return null;
  const payload = "0123456789abcdef".repeat(64);
  const echo = await httpExchange(
    port,
    `POST /echo HTTP/1.1\r\n${host}Content-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n${payload}`,
  );
  if (echo.status !== 200 || new TextDecoder().decode(echo.body) !== payload) {
    return `POST /echo answered ${echo.status} with ${echo.body.length} bytes, not the 1024 sent`;
  }
  const missing = await httpExchange(port, `GET /no-such-path HTTP/1.1\r\n${host}\r\n`);
  if (missing.status !== 404) return `GET /no-such-path answered ${missing.status}, not 404`;
  return null;
}

// ---------------------------------------------------------------- load runs

interface WrkJson {
  requests: number;
  bytes: number;
  durationUs: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { p50: number; p99: number; max: number };
}

async function wrkScript(name: string): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "coroio-wrk-", suffix: ".lua" });
  const [scenario, report] = await Promise.all([
    Deno.readTextFile(`${BENCH}/wrk/${name}`),
    Deno.readTextFile(`${BENCH}/wrk/report.lua`),
  ]);
  await Deno.writeTextFile(path, `${scenario}\n${report}`);
  return path;
}

function wrkArgs(
  o: Options,
  script: string,
  port: number,
  path: string,
  seconds: number,
): string[] {
  return [
    `-t${o.wrkThreads}`,
    `-c${o.connections}`,
    `-d${Math.max(1, Math.round(seconds))}s`,
    "--timeout",
    "5s",
    "-s",
    script,
    `http://127.0.0.1:${port}${path}`,
  ];
}

async function runWrk(
  o: Options,
  server: ServerProcess,
  kind: Extract<Kind, { type: "wrk" }>,
  round: number,
): Promise<RunSample> {
  const script = await wrkScript(kind.script);
  try {
    const bad = await checkHttp(server.port, kind.helloOnly);
    if (bad !== null) throw new Error(`route check failed: ${bad}`);
    if (o.warmup > 0) {
      // wrk's -d is whole seconds; a sub-second warm-up still runs 1 s.
      await runClient("wrk", wrkArgs(o, script, server.port, kind.path, o.warmup), o.warmup + 30);
    }
    const cpu0 = server.cpuSeconds();
    const child0 = cpuTimes("self").children;
    const busy0 = machineBusySeconds();
    const { stdout } = await runClient(
      "wrk",
      wrkArgs(o, script, server.port, kind.path, o.duration),
      o.duration + 30,
    );
    const busy = machineBusySeconds() - busy0;
    const clientCpu = cpuTimes("self").children - child0;
    const serverCpu = server.cpuSeconds() - cpu0;
    const w = lastJson<WrkJson>(stdout, "wrk");
    const seconds = w.durationUs / 1e6;
    const e = w.errors;
    const errors = e.connect + e.read + e.write + e.status + e.timeout;
    const sample: RunSample = {
      round,
      value: w.requests / seconds,
      ops: w.requests,
      seconds,
      serverCpu,
      clientCpu,
      otherCpu: Math.max(0, busy - serverCpu - clientCpu),
      errors,
      p50Us: w.latencyUs.p50,
      // wrk's percentile() returns 0 when its sample count and histogram disagree
      // (seen with pipelining): report no p99 rather than a wrong one.
      p99Us: w.latencyUs.p99 >= w.latencyUs.p50 ? w.latencyUs.p99 : NaN,
    };
    if (errors > 0) sample.note = `wrk errors: ${JSON.stringify(e)}`;
    return sample;
  } finally {
    await Deno.remove(script).catch(() => {});
  }
}

interface WsResult {
  connected: number;
  messages: number;
  errors: number;
  firstError: string | null;
  seconds: number;
  bytes: number;
  clientCpu: number;
  latency: Array<[number, number]>;
  /** The server's `Sec-WebSocket-Extensions` answer (C client). */
  extensions?: string | null;
  /** Echoes that came back compressed (RSV1; C client). */
  compressed?: number;
  /** Mean payload bytes of the compressed echoes (C client). */
  echoPayloadMean?: number;
}

class WsClient {
  readonly #env: Environment;
  readonly #key: string;
  readonly #accept: string;

  private constructor(env: Environment, key: string, accept: string) {
    this.#env = env;
    this.#key = key;
    this.#accept = accept;
  }

  static async create(env: Environment): Promise<WsClient> {
    const key = crypto.getRandomValues(new Uint8Array(16)).toBase64();
    return new WsClient(env, key, await acceptKey(key));
  }

  command(url: string, flags: string[]): [string, string[]] {
    if (this.#env.wsClient === "c") {
      return [this.#env.wsClientPath, [
        "--url",
        url,
        "--key",
        this.#key,
        "--accept",
        this.#accept,
        ...flags,
      ]];
    }
    return [Deno.execPath(), ["run", "-A", this.#env.wsClientPath, "--url", url, ...flags]];
  }
}

function echoFlags(
  k: Extract<Kind, { type: "ws-echo" }>,
  seconds: number,
  plain = false,
): string[] {
  const f = [
    "--conns",
    `${k.conns}`,
    "--inflight",
    `${k.inflight}`,
    "--size",
    `${k.size}`,
    "--duration",
    `${seconds}`,
  ];
  if (k.binary) f.push("--binary");
  if (k.json) f.push("--json", "--pool", `${JSON_POOL}`);
  if (k.deflate && !plain) f.push("--deflate");
  return f;
}

async function runWsEcho(
  o: Options,
  client: WsClient,
  server: ServerProcess,
  path: string,
  kind: Extract<Kind, { type: "ws-echo" }>,
  round: number,
  plain = false,
): Promise<RunSample> {
  const url = `ws://127.0.0.1:${server.port}${path}`;
  let note: string | undefined;
  if (o.warmup > 0) {
    const [cmd, args] = client.command(url, echoFlags(kind, o.warmup, plain));
    const w = lastJson<WsResult>((await runClient(cmd, args, o.warmup + 60)).stdout, "ws_load");
    if (w.errors > 0) note = `warm-up: ${w.errors} errors, first: ${w.firstError}`;
  }
  const [cmd, args] = client.command(url, echoFlags(kind, o.duration, plain));
  const cpu0 = server.cpuSeconds();
  const child0 = cpuTimes("self").children;
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const { stdout } = await runClient(cmd, args, o.duration + 60);
  const wall = (performance.now() - t0) / 1000;
  const busy = machineBusySeconds() - busy0;
  const clientWhole = cpuTimes("self").children - child0;
  const serverCpu = server.cpuSeconds() - cpu0;
  const r = lastJson<WsResult>(stdout, "ws_load");
  const hist = LatencyHistogram.fromSparse(r.latency);
  if (r.errors > 0) note = `${note ? `${note}; ` : ""}${r.errors} errors, first: ${r.firstError}`;
  if (r.connected < kind.conns) {
    note = `${note ? `${note}; ` : ""}only ${r.connected}/${kind.conns} connected`;
  }
  // Every echo must have come back compressed (the client counts RSV1 messages,
  // drained ones included): a server that negotiates but sends plain frames is
  // not doing the work this scenario measures.
  const uncompressed = kind.deflate && !plain ? r.messages - (r.compressed ?? 0) : 0;
  if (uncompressed > 0) {
    note = `${
      note ? `${note}; ` : ""
    }${uncompressed} of ${r.messages} echoes came back uncompressed`;
  }
  const sample: RunSample = {
    round,
    value: kind.mb ? r.bytes / r.seconds / 1e6 : r.messages / r.seconds,
    ops: r.messages,
    seconds: r.seconds,
    serverCpu,
    clientCpu: r.clientCpu,
    // Over the client's whole life (start-up, connecting), scaled to the measured window.
    otherCpu: Math.max(0, busy - serverCpu - clientWhole) * (r.seconds / Math.max(wall, r.seconds)),
    errors: r.errors + Math.max(0, uncompressed),
    p50Us: hist.quantileUs(0.5),
    p99Us: hist.quantileUs(0.99),
  };
  if (note !== undefined) sample.note = note;
  if (kind.deflate && r.extensions) sample.extensions = r.extensions;
  if (kind.deflate && r.echoPayloadMean) sample.echoBytes = r.echoPayloadMean;
  return sample;
}

/** The JSON line `ws/testdata/fanout_load.ts` prints. */
interface FanoutResult {
  seconds: number;
  deliveriesPerSecond: number;
  publishesPerSecond: number;
  p50ms: number;
  p99ms: number;
  /** CPU seconds per wall second. */
  clientCpu: number;
  serverCpu: number;
}

const FANOUT_LOAD = `${ROOT}/ws/testdata/fanout_load.ts`;

function fanoutArgs(
  o: Options,
  url: string,
  pid: number,
  k: Extract<Kind, { type: "fanout" }>,
): string[] {
  return [
    "run",
    "-A",
    FANOUT_LOAD,
    "--url",
    url,
    "--subscribers",
    `${k.subscribers}`,
    "--size",
    `${k.size}`,
    "--seconds",
    `${o.duration}`,
    "--warmup",
    `${o.warmup}`,
    "--window",
    `${k.window}`,
    "--server-pid",
    `${pid}`,
  ];
}

/**
 * One fan-out run: `ws/testdata/fanout_load.ts` connects the subscribers,
 * warms up (its `--warmup`) and measures; the value is deliveries per second,
 * p50/p99 the publish-to-receive latency.
 */
async function runFanout(
  o: Options,
  server: ServerProcess,
  k: Extract<Kind, { type: "fanout" }>,
  round: number,
): Promise<RunSample> {
  const url = `ws://127.0.0.1:${server.port}/`;
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  const { stdout } = await runClient(
    Deno.execPath(),
    fanoutArgs(o, url, server.pid, k),
    o.duration + o.warmup + 90,
  );
  const wall = (performance.now() - t0) / 1000;
  const busy = machineBusySeconds() - busy0;
  const r = lastJson<FanoutResult>(stdout, "fanout_load.ts");
  const serverCpu = r.serverCpu * r.seconds;
  const clientCpu = r.clientCpu * r.seconds;
  const sample: RunSample = {
    round,
    value: r.deliveriesPerSecond,
    ops: Math.round(r.deliveriesPerSecond * r.seconds),
    seconds: r.seconds,
    serverCpu,
    clientCpu,
    // Machine CPU over the client's whole life (connecting 1,000 included), scaled to the window.
    otherCpu: Math.max(0, busy * (r.seconds / Math.max(wall, r.seconds)) - serverCpu - clientCpu),
    errors: 0,
    p50Us: r.p50ms * 1000,
    p99Us: r.p99ms * 1000,
    note: `${Math.round(r.publishesPerSecond)} publishes/s`,
  };
  if (!(r.deliveriesPerSecond > 0)) {
    sample.errors = 1;
    sample.note = "no deliveries";
  }
  return sample;
}

/** Reads JSON lines from a child's stdout. */
class LineReader {
  readonly #reader: ReadableStreamDefaultReader<string>;
  #buf = "";
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  async next(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const nl = this.#buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        return line;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) =>
        timer = setTimeout(() => r("late"), Math.max(0, deadline - Date.now()))
      );
      const r = await Promise.race([this.#reader.read(), late]);
      clearTimeout(timer);
      if (r === "late") throw new Error(`no line from the load client within ${timeoutMs} ms`);
      if (r.done) {
        throw new Error(`load client closed its output; it had printed "${this.#buf.slice(-200)}"`);
      }
      this.#buf += r.value;
    }
  }
  async rest(): Promise<void> {
    try {
      while (!(await this.#reader.read()).done);
    } catch {
      // gone
    }
  }
}

/** Opens `n` idle connections, returns after `hold` ran while they are open. */
async function withIdleConns(
  client: WsClient,
  url: string,
  n: number,
  hold: (connected: number) => Promise<void>,
): Promise<{ connected: number; failed: number; stillOpen: number; firstError: string | null }> {
  const [cmd, args] = client.command(url, [
    "--mode",
    "idle",
    "--conns",
    `${n}`,
    "--connect-concurrency",
    "64",
  ]);
  const child = spawnTracked(cmd, args, "piped");
  const lines = new LineReader(child.stdout);
  const errText = new Response(child.stderr).text();
  const writer = child.stdin.getWriter();
  let stdinClosed = false;
  try {
    const c = JSON.parse(await lines.next(180_000)) as {
      connected: number;
      failed: number;
      firstError: string | null;
    };
    await hold(c.connected);
    await writer.close();
    stdinClosed = true;
    const d = JSON.parse(await lines.next(30_000)) as { stillOpen: number };
    await lines.rest();
    const status = await child.status;
    if (!status.success) {
      throw new Error(`idle client exited with ${status.code}: ${(await errText).slice(-300)}`);
    }
    return {
      connected: c.connected,
      failed: c.failed,
      stillOpen: d.stillOpen,
      firstError: c.firstError,
    };
  } finally {
    if (!stdinClosed) await writer.close().catch(() => {});
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
    await child.status;
    await errText.catch(() => "");
  }
}

async function runWsIdle(
  o: Options,
  client: WsClient,
  server: ServerProcess,
  path: string,
  round: number,
): Promise<RunSample> {
  const url = `ws://127.0.0.1:${server.port}${path}`;
  // Warm the server's upgrade path so lazily loaded code is not billed to the connections.
  await withIdleConns(client, url, Math.min(100, o.idleConns), () => Promise.resolve());
  await delay(500);
  const before = server.rssKiB();
  const cpu0 = server.cpuSeconds();
  const child0 = cpuTimes("self").children;
  const busy0 = machineBusySeconds();
  const t0 = performance.now();
  let after = NaN;
  const r = await withIdleConns(client, url, o.idleConns, async () => {
    await delay(1000); // let the server settle
    after = server.rssKiB();
  });
  const seconds = (performance.now() - t0) / 1000;
  const busy = machineBusySeconds() - busy0;
  const serverCpu = server.cpuSeconds() - cpu0;
  const clientCpu = cpuTimes("self").children - child0;
  const lost = r.connected - r.stillOpen;
  const errors = r.failed + lost;
  const sample: RunSample = {
    round,
    value: r.connected > 0 ? (after - before) / r.connected : NaN,
    ops: r.connected,
    seconds,
    serverCpu,
    clientCpu,
    otherCpu: Math.max(0, busy - serverCpu - clientCpu),
    errors,
  };
  const notes = [`RSS ${before} -> ${after} KiB`];
  if (r.failed > 0) notes.push(`${r.failed} connections failed, first: ${r.firstError}`);
  if (lost > 0) notes.push(`${lost} connections closed by the server while idle`);
  sample.note = notes.join("; ");
  return sample;
}

// ---------------------------------------------------------------- main

function failedSample(round: number, e: unknown): RunSample {
  const msg = e instanceof Error ? e.message : String(e);
  return {
    round,
    value: NaN,
    ops: 0,
    seconds: 0,
    serverCpu: 0,
    clientCpu: 0,
    errors: 1,
    note: `run failed: ${msg.replace(/\s+/g, " ").slice(0, 400)}`,
  };
}

async function machine(): Promise<Report["machine"]> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  return {
    nproc: navigator.hardwareConcurrency,
    cpuModel: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    kernel: Deno.osRelease(),
    memTotalKiB: Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1] ?? NaN),
  };
}

function describeLoad(o: Options, s: Scenario, env: Environment): string {
  const k = s.kind;
  if (k.type === "wrk") {
    return `wrk -t${o.wrkThreads} -c${o.connections} -d${o.duration}s -s bench/wrk/${k.script}`;
  }
  if (k.type === "fanout") {
    return `ws/testdata/fanout_load.ts --subscribers ${k.subscribers} --size ${k.size} ` +
      `--window ${k.window} --seconds ${o.duration} --warmup ${o.warmup}`;
  }
  const client = env.wsClient === "c" ? "bench/ws_load.c" : "bench/ws_load.ts";
  if (k.type === "ws-echo") {
    return `${client} --conns ${k.conns} --inflight ${k.inflight} --size ${k.size}${
      k.binary ? " --binary" : ""
    }${k.json ? ` --json --pool ${JSON_POOL}` : ""}${k.deflate ? " --deflate" : ""} ` +
      `--duration ${o.duration}`;
  }
  return `${client} --mode idle --conns ${o.idleConns}`;
}

async function runScenario(
  o: Options,
  s: Scenario,
  env: Environment,
  client: WsClient,
): Promise<ScenarioResult> {
  const skipped: ScenarioResult["skipped"] = [];
  const servers: Competitor[] = [];
  for (const c of s.servers) {
    if (o.servers.length > 0 && !o.servers.some((f) => c.id.includes(f))) continue;
    if (c.onDemand && !o.servers.some((f) => f.includes("strict") && c.id.includes(f))) continue;
    const k = s.kind;
    const why = k.type === "wrk" && env.wrkVersion === null
      ? "wrk is not installed (apt-get install -y wrk)"
      : k.type === "ws-echo" && (k.json || k.deflate) && env.wsClient !== "c"
      ? "THIS SCENARIO NEEDS THE C LOAD CLIENT (gcc and zlib1g-dev): bench/ws_load.ts " +
        "sends no varied messages and cannot compress"
      : await unavailable(c, env);
    if (why === null) servers.push(c);
    else {
      skipped.push({ id: c.id, reason: why });
      console.error(`  [${s.id}] skipping ${c.label}: ${why}`);
    }
  }
  const runs = new Map<string, RunSample[]>(servers.map((c) => [c.id, []]));
  for (let round = 1; round <= o.rounds; round++) {
    for (const c of servers) {
      let sample: RunSample;
      let server: ServerProcess | null = null;
      try {
        server = await ServerProcess.start(specFor(c));
        const k = s.kind;
        if (k.type === "wrk") sample = await runWrk(o, server, k, round);
        else if (k.type === "fanout") sample = await runFanout(o, server, k, round);
        else if (k.type === "ws-echo") {
          sample = await runWsEcho(o, client, server, c.wsPath ?? "/", k, round, c.plain);
        } else sample = await runWsIdle(o, client, server, c.wsPath ?? "/", round);
        if (server.exited) {
          throw new Error(`server exited during the run: ${server.stderrTail.slice(-300)}`);
        }
      } catch (e) {
        sample = failedSample(round, e);
      } finally {
        await server?.stop();
      }
      const other = sample.seconds > 0 ? (sample.otherCpu ?? 0) / sample.seconds : 0;
      if (other > 0.25) {
        const busy = `machine busy: other processes used ${Math.round(other * 100)}% of a core`;
        sample.note = sample.note === undefined ? busy : `${sample.note}; ${busy}`;
      }
      runs.get(c.id)!.push(sample);
      const cpu = sample.seconds > 0
        ? ` server CPU ${Math.round((sample.serverCpu / sample.seconds) * 100)}%, client CPU ${
          Math.round((sample.clientCpu / sample.seconds) * 100)
        }%, other CPU ${Math.round(((sample.otherCpu ?? 0) / sample.seconds) * 100)}%`
        : "";
      console.error(
        `  [${s.id}] round ${round}/${o.rounds} ${c.label}: ${
          Number.isFinite(sample.value)
            ? `${Math.round(sample.value * 100) / 100} ${s.unit}`
            : "failed"
        }${cpu}${sample.errors ? `, ${sample.errors} errors` : ""}${
          sample.note ? ` (${sample.note})` : ""
        }`,
      );
    }
  }
  const results: CompetitorResult[] = servers.map((c) => {
    const r = summarise(c.id, c.label, c.ours, runs.get(c.id)!);
    if (c.floor) r.floor = true;
    if (c.reference) r.reference = true;
    return r;
  });
  const out: ScenarioResult = {
    id: s.id,
    title: s.title,
    unit: s.unit,
    better: s.better,
    load: describeLoad(o, s, env),
    results,
    ratios: ratios(results, s.better, s.targets),
    skipped,
  };
  if (s.absoluteTarget !== undefined) out.absoluteTarget = s.absoluteTarget;
  return out;
}

/** Writes `<out>.md`, the chart and (unless re-rendering) `<out>.json`; prints the Markdown. */
async function writeResults(out: string, report: Report, json: boolean): Promise<void> {
  const md = renderMarkdown(report);
  await Deno.mkdir(`${BENCH}/results`, { recursive: true });
  await Deno.writeTextFile(`${BENCH}/results/${out}.md`, md);
  if (json) {
    await Deno.writeTextFile(
      `${BENCH}/results/${out}.json`,
      JSON.stringify(report, null, 2) + "\n",
    );
  }
  const svg = out === "latest" ? "ratios.svg" : `${out}-ratios.svg`;
  await Deno.writeTextFile(`${BENCH}/results/${svg}`, renderSvg(report));
  console.log(md);
  console.error(`wrote bench/results/${out}.md${json ? `, ${out}.json` : ""} and ${svg}`);
}

async function main(): Promise<number> {
  const o = parseOptions(Deno.args);
  if (o.render) {
    // JSON has no NaN: missing figures come back as null, which the renderers show as "-".
    const text = await Deno.readTextFile(`${BENCH}/results/${o.out}.json`);
    const report = JSON.parse(text, (_k, v) => (v === null ? NaN : v)) as Report;
    await writeResults(o.out, report, false);
    return 0;
  }
  const all = scenarios(o);
  if (o.list) {
    for (const s of all) {
      console.log(
        `${s.id.padEnd(14)} ${s.title}\n${" ".repeat(15)}servers: ${
          s.servers.map((c) => c.id).join(", ")
        }`,
      );
    }
    return 0;
  }
  const wanted = all.filter((s) => o.only.length === 0 || o.only.some((f) => s.id.includes(f)));
  if (wanted.length === 0) {
    throw new Error(`Cannot run: no scenario matches --only ${o.only.join(",")} (see --list)`);
  }
  clockTicks();
  const env = await prepare(o, wanted);
  const client = await WsClient.create(env);
  console.error(
    `coroio compare: ${
      wanted.map((s) => s.id).join(", ")
    }; ${o.rounds} round(s) x ${o.duration} s ` +
      `(+${o.warmup} s warm-up), wrk -t${o.wrkThreads}, WebSocket client ${env.wsClient}`,
  );
  const results: ScenarioResult[] = [];
  for (const s of wanted) results.push(await runScenario(o, s, env, client));
  const warnings: string[] = [];
  if ("missing" in env.bun && env.bun.missing !== "not wanted") {
    warnings.push(
      `Bun ${BUN_VERSION} was NOT run (the Bun column reads n/a): ${env.bun.missing}. ` +
        `Install it with: npm install --prefix bench/.bench/bun @oven/bun-linux-x64@${BUN_VERSION}`,
    );
  }
  const busy =
    results.flatMap((s) =>
      s.results.flatMap((r) => r.runs.filter((x) => x.note?.includes("machine busy")))
    ).length;
  if (busy > 0) {
    warnings.push(
      `${busy} run(s) had other processes using more than 25% of a core (see Notes): ` +
        `their figures are disturbed.`,
    );
  }
  const report: Report = {
    date: new Date().toISOString(),
    ...(warnings.length > 0 ? { warnings } : {}),
    machine: await machine(),
    versions: {
      deno: Deno.version.deno,
      v8: Deno.version.v8,
      ...(env.nodeVersion ? { node: env.nodeVersion.replace(/^v/, "") } : {}),
      ...(env.wrkVersion ? { wrk: env.wrkVersion } : {}),
      ...("version" in env.bun ? { bun: env.bun.version } : {}),
    },
    config: {
      rounds: o.rounds,
      duration: o.duration,
      warmup: o.warmup,
      connections: o.connections,
      wrkThreads: o.wrkThreads,
      wsClient: env.wsClient,
      idleConns: o.idleConns,
      quick: o.quick,
    },
    scenarios: results,
  };
  await writeResults(o.out, report, true);
  return results.some((s) => s.results.some((r) => r.errors > 0)) ? 1 : 0;
}

if (import.meta.main) {
  const onSignal = () => {
    console.error("interrupted: stopping every process started");
    killAll();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let code = 2;
  try {
    code = await main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
  } finally {
    killAll();
  }
  Deno.exit(code);
}
