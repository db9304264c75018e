// Rules between the packages, checked on the real module graph, and the
// README's pinned Deno version.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

const root = new URL("../", import.meta.url);

async function moduleGraph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, root).pathname],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info failed: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  return info.modules.map((m) => m.specifier.replace(root.href, ""));
}

function inPackage(modules: string[], pkg: string): string[] {
  return modules.filter((m) => m.startsWith(pkg + "/"));
}

Deno.test("@coroio/core loads no module of http, ws or http_ws", async () => {
  const graph = await moduleGraph("core/mod.ts");
  assert(graph.length > 3);
  for (const pkg of ["http", "ws", "http_ws"]) assertEquals(inPackage(graph, pkg), []);
});

Deno.test("@coroio/http loads no WebSocket code (no module of ws or http_ws)", async () => {
  const graph = await moduleGraph("http/mod.ts");
  assert(inPackage(graph, "http").length > 5);
  assert(inPackage(graph, "core").length > 0);
  assertEquals(inPackage(graph, "ws"), []);
  assertEquals(inPackage(graph, "http_ws"), []);
});

Deno.test("@coroio/ws loads no module of http or http_ws", async () => {
  const graph = await moduleGraph("ws/mod.ts");
  assert(inPackage(graph, "ws").length > 5);
  assertEquals(inPackage(graph, "http"), []);
  assertEquals(inPackage(graph, "http_ws"), []);
});

Deno.test("examples/http_hello.ts and examples/ws_echo.ts keep to their packages", async () => {
  const hello = await moduleGraph("examples/http_hello.ts");
  assertEquals([...inPackage(hello, "ws"), ...inPackage(hello, "http_ws")], []);
  const echo = await moduleGraph("examples/ws_echo.ts");
  assertEquals([...inPackage(echo, "http"), ...inPackage(echo, "http_ws")], []);
});

/** Deno's built-ins the foundation packages load statically: Latin-1 decoding (core/text.ts). */
const STATIC_BUILTINS = ["node:buffer"];

Deno.test("published code has no jsr: or third-party imports", async () => {
  for (const pkg of ["core", "http", "ws", "http_ws"]) {
    const graph = await moduleGraph(`${pkg}/mod.ts`);
    const foreign = graph.filter((m) =>
      !m.startsWith("core/") && !m.startsWith("http/") &&
      !m.startsWith("ws/") && !m.startsWith("http_ws/") && !STATIC_BUILTINS.includes(m)
    );
    assertEquals(foreign, [], `${pkg} imports ${foreign.join(", ")}`);
  }
});

Deno.test("README names the Deno version pinned in .deno-version", async () => {
  const pinned = (await Deno.readTextFile(new URL(".deno-version", root))).trim();
  const readme = await Deno.readTextFile(new URL("README.md", root));
  const named = [...readme.matchAll(/deno@(\d+\.\d+\.\d+)/g)].map((m) => m[1]);
  assert(named.length >= 2);
  for (const v of named) assertEquals(v, pinned);
  assertEquals(Deno.version.deno, pinned);
});

Deno.test("no jsr: specifier anywhere in the repository's sources", async () => {
  const offenders: string[] = [];
  async function walk(dir: URL): Promise<void> {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".") || e.name === "node_modules" || e.name === "results") continue;
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(url);
      else if (/\.(ts|json|mjs|js)$/.test(e.name)) {
        const text = await Deno.readTextFile(url);
        if (/["'`]jsr:/.test(text)) offenders.push(url.href.replace(root.href, ""));
      }
    }
  }
  await walk(root);
  assertEquals(offenders, []);
});

Deno.test("tests import only strict assertions from node:assert/strict", async () => {
  // Deno 2.9 exports the loose `equal`/`deepEqual` from node:assert/strict
  // under their own names, so `deepEqual(1, "1")` would pass. Use the strict
  // functions (tools/strict_asserts.py rewrites such imports).
  const loose = /import\s*\{([^}]*)\}\s*from\s*"node:assert\/strict"/g;
  const offenders: string[] = [];
  async function walk(dir: URL): Promise<void> {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(url);
      else if (e.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(url);
        for (const m of text.matchAll(loose)) {
          const names = m[1]!.split(",").map((n) =>
            n.replace(/\*/g, "").trim().split(/\s+as\s+/)[0]
          );
          if (
            names.some((n) =>
              n === "equal" || n === "deepEqual" || n === "notEqual" || n === "notDeepEqual"
            )
          ) {
            offenders.push(url.href.replace(root.href, ""));
          }
        }
      }
    }
  }
  await walk(root);
  assertEquals(offenders, []);
});

Deno.test("no hand-written source file of a package is over 800 lines", async () => {
  const limit = 800;
  const offenders: string[] = [];
  async function walk(dir: URL): Promise<void> {
    for await (const e of Deno.readDir(dir)) {
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(url);
      else if (e.name.endsWith(".ts")) {
        const lines = (await Deno.readTextFile(url)).split("\n").length - 1;
        if (lines > limit) offenders.push(`${url.href.replace(root.href, "")} (${lines})`);
      }
    }
  }
  const members = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).workspace;
  assert(members.length >= 4);
  for (const pkg of members as string[]) await walk(new URL(pkg.replace(/^\.\//, "") + "/", root));
  assertEquals(offenders, []);
});

Deno.test("no package loads node:zlib statically (compression loads it on first use)", async () => {
  for (const entry of ["core/mod.ts", "http/mod.ts", "ws/mod.ts", "http_ws/mod.ts"]) {
    const graph = await moduleGraph(entry);
    assertEquals(graph.filter((m) => m.includes("zlib") && m.startsWith("node:")), [], entry);
  }
});

Deno.test("a WebSocket server without compression never asks for node:zlib, even when offered", async () => {
  // A child process records every builtin module asked for, runs a server
  // without compression, and a client that offers permessage-deflate.
  const script = `
    import process from "node:process";
    const asked = [];
    const get = process.getBuiltinModule.bind(process);
    process.getBuiltinModule = (id) => (asked.push(id), get(id));
    const { WebSocketServer } = await import(${JSON.stringify(new URL("ws/mod.ts", root).href)});
    const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), {
      onMessage(ws, data) { ws.send(data); },
    });
    const serving = server.serve();
    const ws = new (await import("npm:ws@8.23.0")).WebSocket("ws://127.0.0.1:" + server.addr.port + "/",
      { perMessageDeflate: { threshold: 0 } });
    await new Promise((resolve) => ws.once("open", resolve));
    const echoed = new Promise((resolve) => ws.once("message", resolve));
    ws.send("x".repeat(1000));
    await echoed;
    const extensions = ws.extensions;
    ws.close();
    await server.shutdown();
    await serving;
    console.log(JSON.stringify({ asked, extensions }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  const { asked, extensions } = JSON.parse(new TextDecoder().decode(out.stdout).trim());
  assertEquals(extensions, "");
  assertEquals(asked.filter((id: string) => id.includes("zlib")), []);
});
