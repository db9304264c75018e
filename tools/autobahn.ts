// deno-lint-ignore-file no-console
/**
 * Runs the Autobahn|Testsuite (the standard WebSocket conformance suite, in
 * `../shared/autobahn/`) against our servers and fails on any FAILED or
 * NON-STRICT case.
 *
 *     deno task autobahn [--server ws|bridge|both] [--cases core|all|LIST]
 *                        [--compression] [--out DIR]
 *
 * `--server ws` runs `examples/ws_echo.ts` (standalone), `bridge` runs
 * `examples/http_ws_echo.ts` (`/ws` through the HTTP server), `both` (the
 * default) runs one after the other. `--cases core` (default) is sections
 * 1-7, 9 and 10; `ci` is sections 1-7, 9.1.1 and 10 plus the first five
 * sub-cases of every 12.x and 13.x group (compression); `all` is every
 * section, all of 12-13 included; a
 * LIST is comma-separated case patterns (`12.*,13.1.*`). `--compression`
 * starts the servers with `--compression`. Without the suite or its Debian packages
 * (python3-twisted python3-txaio python3-six python3-wsaccel python3-jinja2)
 * it says so and exits 0: the suite is a tool of this machine, not a
 * dependency.
 *
 * @module
 */

const root = new URL("../", import.meta.url).pathname;
const suite = new URL("../../shared/autobahn/", import.meta.url).pathname;

function flag(name: string): string | null {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] ?? null : null;
}

/**
 * The compression cases CI runs: sub-cases 1-5 (messages of 16 B to 256 B,
 * the fast ones: the suite's Python client spends seconds per case on large
 * messages) of every 12.x and 13.x group, every negotiation the suite tries
 * (13.3 and 13.5 ask for an 8-bit server window) included. `all` runs the
 * 216 cases (about 18 minutes here).
 */
const COMPRESSION_CI = [
  ...["12.1", "12.2", "12.3", "12.4", "12.5"],
  ...["13.1", "13.2", "13.3", "13.4", "13.5", "13.6", "13.7"],
].flatMap((g) => [1, 2, 3, 4, 5].map((i) => `${g}.${i}`));

const CASES: Record<string, string[]> = {
  // Section 9 (messages up to 16 MiB, and 4 MiB in 64-byte frames) takes
  // about 10 s per server; the compressed run (ci) does not repeat it.
  core: ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*"],
  ci: ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.1.1", "10.*", ...COMPRESSION_CI],
  all: ["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*", "12.*", "13.*"],
};

const serverArg = flag("--server") ?? "both";
const casesArg = flag("--cases") ?? "core";
const compression = Deno.args.includes("--compression");
const outBase = flag("--out") ?? await Deno.makeTempDir({ prefix: "autobahn-" });
await Deno.mkdir(outBase, { recursive: true });
const cases = CASES[casesArg] ?? casesArg.split(",");

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function pythonReady(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import twisted, txaio, six, jinja2"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Starts an example server and returns its process and URL. */
async function start(
  example: string,
  path: string,
): Promise<{ child: Deno.ChildProcess; url: string }> {
  const args = ["run", "--allow-net", `${root}examples/${example}`, "--port", "0"];
  if (compression) args.push("--compression");
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const deadline = Date.now() + 15000;
  while (!/listening on \S+/.test(out)) {
    if (Date.now() > deadline) throw new Error(`${example} did not start: ${out}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`${example} exited: ${out}`);
    out += value;
  }
  // Keep draining stdout so the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  const m = /listening on (?:ws|http):\/\/([^\s/]+)/.exec(out)!;
  return { child, url: `ws://${m[1]}${path}` };
}

/** User + system CPU seconds of a process (Linux), 0 where unknown. */
function cpuSeconds(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

async function run(name: string, example: string, path: string): Promise<boolean> {
  const { child, url } = await start(example, path);
  const outdir = `${outBase}/${name}`;
  const spec = {
    outdir,
    servers: [{ agent: `coroio-${name}`, url }],
    cases,
    "exclude-cases": [],
    "exclude-agent-cases": {},
  };
  const specPath = `${outBase}/${name}.json`;
  let cpu = 0;
  await Deno.writeTextFile(specPath, JSON.stringify(spec));
  try {
    const ab = await new Deno.Command(`${suite}wstest`, {
      args: ["-m", "fuzzingclient", "-s", specPath],
      cwd: outBase,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!ab.success) {
      console.error(new TextDecoder().decode(ab.stderr));
      return false;
    }
  } finally {
    cpu = cpuSeconds(child.pid);
    child.kill("SIGTERM");
    await child.status;
  }
  const sum = await new Deno.Command("/usr/bin/python3", {
    args: [`${suite}summarize.py`, outdir],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(sum.stdout);
  console.log(
    `autobahn ${name}${compression ? " --compression" : ""} (server CPU ${
      cpu.toFixed(1)
    } s):\n${text}`,
  );
  const overall = /overall[^\n]*/.exec(text)?.[0] ?? "";
  const nonStrict = Number(/NON-STRICT=(\d+)/.exec(overall)?.[1] ?? "0");
  return sum.success && nonStrict === 0;
}

if (!(await exists(`${suite}wstest`))) {
  console.log(`autobahn: suite not found at ${suite}; skipped`);
  Deno.exit(0);
}
if (!(await pythonReady())) {
  console.log(
    "autobahn: Python packages missing (apt-get install -y python3-twisted python3-txaio " +
      "python3-six python3-wsaccel python3-jinja2); skipped",
  );
  Deno.exit(0);
}
let ok = true;
if (serverArg === "ws" || serverArg === "both") ok = await run("ws", "ws_echo.ts", "/") && ok;
if (serverArg === "bridge" || serverArg === "both") {
  ok = await run("bridge", "http_ws_echo.ts", "/ws") && ok;
}
console.log(
  `autobahn: ${ok ? "0 FAILED, 0 NON-STRICT" : "FAILED or NON-STRICT cases (see above)"}`,
);
Deno.exit(ok ? 0 : 1);
