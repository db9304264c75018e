// The ws package depends on @coroio/core only: published files import
// nothing else (no http, no http_ws, no third-party code).
import { deepStrictEqual as deepEqual, ok } from "node:assert/strict";

Deno.test("@coroio/ws imports only @coroio/core and its own files", async () => {
  const dir = new URL("./", import.meta.url);
  const bad: string[] = [];
  let seen = 0;
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile || !e.name.endsWith(".ts")) continue;
    if (/_test\.ts$|_bench\.ts$|^_test_/.test(e.name)) continue;
    const src = (await Deno.readTextFile(new URL(e.name, dir)))
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const m of src.matchAll(/^\s*(?:import|export)[^"';]*?from\s+["']([^"']+)["']/gm)) {
      const spec = m[1]!;
      seen++;
      if (!spec.startsWith("./") && spec !== "@coroio/core") bad.push(`${e.name}: ${spec}`);
    }
  }
  deepEqual(bad, []);
  ok(seen > 20, `only ${seen} imports found: the scan is broken`);
});
