import { deepStrictEqual as assertEquals, ok, strictEqual as equal } from "node:assert/strict";
import { HttpServer, Router } from "./mod.ts";
import { contentTypeOf, ServeDir, ServeFile } from "./static.ts";

/** Sends a raw request (the path exactly as written) and returns the response text. */
async function raw(port: number, request: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf)) !== null;) {
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    return text;
  } finally {
    conn.close();
  }
}

function get(path: string, extra = ""): string {
  return `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${extra}\r\n`;
}

async function fixture() {
  const base = await Deno.makeTempDir({ prefix: "coroio-static-" });
  const root = `${base}/root`;
  await Deno.mkdir(`${root}/sub`, { recursive: true });
  await Deno.writeTextFile(`${root}/hello.txt`, "hello world");
  await Deno.writeTextFile(`${root}/sub/index.html`, "<p>index</p>");
  await Deno.writeTextFile(`${root}/.secret`, "dot");
  await Deno.writeTextFile(`${base}/outside.txt`, "OUTSIDE");
  await Deno.symlink(`${base}/outside.txt`, `${root}/escape.txt`);
  await Deno.symlink(`${base}`, `${root}/escape-dir`);
  await Deno.symlink(`${root}/hello.txt`, `${root}/alias.txt`);
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  await Deno.writeFile(`${root}/big.bin`, big);
  const router = new Router().get("/static/*", new ServeDir(root, { chunkSize: 16384 }));
  const server = new HttpServer(router, { port: 0 });
  const { port } = server.listen();
  return {
    port,
    big,
    async close() {
      await server.shutdown();
      await Deno.remove(base, { recursive: true });
    },
  };
}

Deno.test("ServeDir.handle() serves files with type, validators and length", async () => {
  const f = await fixture();
  try {
    const res = await fetch(`http://127.0.0.1:${f.port}/static/hello.txt`);
    equal(res.status, 200);
    equal(await res.text(), "hello world");
    equal(res.headers.get("content-type"), "text/plain; charset=utf-8");
    equal(res.headers.get("content-length"), "11");
    equal(res.headers.get("accept-ranges"), "bytes");
    ok(/^"[0-9a-z]+-[0-9a-z]+"$/.test(res.headers.get("etag")!));
    ok(res.headers.get("last-modified")!.endsWith(" GMT"));
    const index = await fetch(`http://127.0.0.1:${f.port}/static/sub/`);
    equal(await index.text(), "<p>index</p>");
    const alias = await fetch(`http://127.0.0.1:${f.port}/static/alias.txt`);
    equal(await alias.text(), "hello world", "a symlink inside the root is served");
  } finally {
    await f.close();
  }
});

Deno.test("ServeDir.handle() answers 304 to If-None-Match and If-Modified-Since", async () => {
  const f = await fixture();
  try {
    const first = await fetch(`http://127.0.0.1:${f.port}/static/hello.txt`);
    await first.text();
    const etag = first.headers.get("etag")!;
    const lastModified = first.headers.get("last-modified")!;
    const cases: [Record<string, string>, number][] = [
      [{ "if-none-match": etag }, 304],
      [{ "if-none-match": `W/${etag}` }, 304],
      [{ "if-none-match": `"other", ${etag}` }, 304],
      [{ "if-none-match": "*" }, 304],
      [{ "if-none-match": '"other"' }, 200],
      [{ "if-modified-since": lastModified }, 304],
      [{ "if-modified-since": "Thu, 01 Jan 1970 00:00:00 GMT" }, 200],
      [{ "if-none-match": '"other"', "if-modified-since": lastModified }, 200],
    ];
    for (const [headers, status] of cases) {
      const res = await fetch(`http://127.0.0.1:${f.port}/static/hello.txt`, { headers });
      equal(res.status, status, JSON.stringify(headers));
      equal(await res.text(), status === 304 ? "" : "hello world");
    }
  } finally {
    await f.close();
  }
});

Deno.test("ServeDir.handle() answers one Range with 206 and an unsatisfiable one with 416", async () => {
  const f = await fixture();
  try {
    const etag = await fetch(`http://127.0.0.1:${f.port}/static/hello.txt`).then(async (r) => {
      await r.text();
      return r.headers.get("etag")!;
    });
    const cases: [Record<string, string>, number, string, string | null][] = [
      [{ range: "bytes=0-4" }, 206, "hello", "bytes 0-4/11"],
      [{ range: "bytes=6-" }, 206, "world", "bytes 6-10/11"],
      [{ range: "bytes=-5" }, 206, "world", "bytes 6-10/11"],
      [{ range: "bytes=6-100" }, 206, "world", "bytes 6-10/11"],
      [{ range: "bytes=11-" }, 416, "", "bytes */11"],
      [{ range: "bytes=-0" }, 416, "", "bytes */11"],
      [{ range: "bytes=0-1,3-4" }, 200, "hello world", null],
      [{ range: "items=0-1" }, 200, "hello world", null],
      [{ range: "bytes=5-2" }, 200, "hello world", null],
      [{ range: "bytes=0-4", "if-range": etag }, 206, "hello", "bytes 0-4/11"],
      [{ range: "bytes=0-4", "if-range": '"old"' }, 200, "hello world", null],
    ];
    for (const [headers, status, body, contentRange] of cases) {
      const res = await fetch(`http://127.0.0.1:${f.port}/static/hello.txt`, { headers });
      equal(res.status, status, JSON.stringify(headers));
      equal(await res.text(), body, JSON.stringify(headers));
      equal(res.headers.get("content-range"), contentRange, JSON.stringify(headers));
    }
    const big = await fetch(`http://127.0.0.1:${f.port}/static/big.bin`, {
      headers: { range: "bytes=1000-250999" },
    });
    equal(big.status, 206);
    assertEquals(new Uint8Array(await big.arrayBuffer()), f.big.subarray(1000, 251000));
  } finally {
    await f.close();
  }
});

Deno.test("ServeDir.handle() streams a large file in bounded reads and answers HEAD without a body", async () => {
  const f = await fixture();
  try {
    const res = await fetch(`http://127.0.0.1:${f.port}/static/big.bin`);
    equal(res.headers.get("content-length"), "300000");
    assertEquals(new Uint8Array(await res.arrayBuffer()), f.big);
    const head = await raw(
      f.port,
      `HEAD /static/big.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`,
    );
    ok(/\r\ncontent-length: 300000\r\n/i.test(head), head);
    ok(head.endsWith("\r\n\r\n"), "HEAD has no body");
    const post = await fetch(`http://127.0.0.1:${f.port}/static/hello.txt`, { method: "POST" });
    equal(post.status, 405);
    await post.body?.cancel();
  } finally {
    await f.close();
  }
});

Deno.test("ServeDir.handle() gives no way out of the root", async () => {
  const f = await fixture();
  try {
    const paths = [
      "/static/../outside.txt",
      "/static/..%2Foutside.txt",
      "/static/%2e%2e/outside.txt",
      "/static/%2E%2E%2Foutside.txt",
      "/static/sub/..%2F..%2Foutside.txt",
      "/static/sub/../../outside.txt",
      "/static/..%5Coutside.txt",
      "/static/hello.txt%00.png",
      "/static/escape.txt",
      "/static/escape-dir/outside.txt",
      "/static/.secret",
      "/static/nope.txt",
      "/static/%E0%A4%A",
    ];
    for (const p of paths) {
      const text = await raw(f.port, get(p));
      ok(!text.includes("OUTSIDE"), `${p} leaked the file outside the root`);
      ok(/^HTTP\/1\.1 (400|404) /.test(text), `${p}: ${text.split("\r\n")[0]}`);
    }
  } finally {
    await f.close();
  }
});

Deno.test("ServeFile.handle() serves one file, and contentTypeOf() maps extensions", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, "{}");
  const server = new HttpServer(new ServeFile(path, { cacheControl: "max-age=60" }), { port: 0 });
  const { port } = server.listen();
  try {
    const res = await fetch(`http://127.0.0.1:${port}/anything`);
    equal(await res.text(), "{}");
    equal(res.headers.get("content-type"), "application/json");
    equal(res.headers.get("cache-control"), "max-age=60");
  } finally {
    await server.shutdown();
    await Deno.remove(path);
  }
  const types: [string, string][] = [
    ["a.css", "text/css; charset=utf-8"],
    ["a.PNG", "image/png"],
    ["dir.d/file", "application/octet-stream"],
    ["a.wasm", "application/wasm"],
  ];
  for (const [name, type] of types) equal(contentTypeOf(name), type, name);
});
