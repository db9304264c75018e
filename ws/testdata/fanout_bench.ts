// Runs the fan-out load (fanout_load.ts) against each server in turn and prints one JSON
// line per server: coroio (examples/fanout.ts, Topics), Deno.upgradeWebSocket with a loop,
// Bun's server.publish when BUN is set to a bun binary (npm @oven/bun-linux-x64), and Node
// with npm ws and a loop when NODE_PATH is set.
//   BUN=.bench/bun/node_modules/@oven/bun-linux-x64/bin/bun NODE_PATH=$PWD/.bench/node/node_modules \
//     deno run -A ws/testdata/fanout_bench.ts [--subscribers 1000 --seconds 5 --window 32]
// Not a timed test: the machine is shared (2 cores, load client included), numbers are noisy.
const here = (p: string): string => new URL(p, import.meta.url).pathname;
const bun = Deno.env.get("BUN");
const servers: [string, string, string[]][] = [
  ["coroio Topics", Deno.execPath(), [
    "run",
    "-A",
    here("../../examples/fanout.ts"),
    "--port",
    "0",
  ]],
  ["Deno.upgradeWebSocket loop", Deno.execPath(), ["run", "-A", here("./fanout_peer_deno.ts")]],
];
if (bun !== undefined) servers.push(["Bun server.publish", bun, [here("./fanout_peer_bun.mjs")]]);
// Node + npm ws when NODE_PATH points at a node_modules holding ws (npm install ws@8.23.0).
if (Deno.env.get("NODE_PATH") !== undefined) {
  servers.push(["Node ws loop", "node", [here("./fanout_peer_node.mjs")]]);
}

for (const [name, cmd, args] of servers) {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/listening on (\S+)/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${name} exited: ${seen}`);
    seen += value;
  }
  const url = /listening on (\S+)/.exec(seen)![1]!;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      here("./fanout_load.ts"),
      "--url",
      url,
      "--server-pid",
      String(child.pid),
      ...Deno.args,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  // deno-lint-ignore no-console
  console.log(
    JSON.stringify({ server: name, ...JSON.parse(new TextDecoder().decode(out.stdout)) }),
  );
  child.kill("SIGTERM");
  await child.status;
  await reader.cancel();
}
