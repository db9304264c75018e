import { deepStrictEqual as assertEquals, ok, strictEqual as equal } from "node:assert/strict";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { acceptedCoding, Compressor } from "./compression.ts";
import { type HttpRequest, type HttpResponse, HttpServer } from "./mod.ts";

interface Case {
  name: string;
  accept: string | null;
  headers: Record<string, string>;
  status?: number;
  body: string;
  /** Expected Content-Encoding, or null. */
  coding: string | null;
  vary: string | null;
  etag?: string | null;
}

const LONG = "compress me please, ".repeat(20);

const CASES: Case[] = [
  {
    name: "gzip",
    accept: "gzip",
    headers: { "content-type": "text/plain" },
    body: LONG,
    coding: "gzip",
    vary: "Accept-Encoding",
  },
  {
    name: "br first",
    accept: "gzip, deflate, br",
    headers: { "content-type": "application/json" },
    body: LONG,
    coding: "br",
    vary: "Accept-Encoding",
  },
  {
    name: "q=0 refuses br",
    accept: "br;q=0, gzip",
    headers: { "content-type": "text/css" },
    body: LONG,
    coding: "gzip",
    vary: "Accept-Encoding",
  },
  {
    name: "identity only",
    accept: "identity",
    headers: { "content-type": "text/plain" },
    body: LONG,
    coding: null,
    vary: "Accept-Encoding",
  },
  {
    name: "no Accept-Encoding",
    accept: null,
    headers: { "content-type": "text/plain" },
    body: LONG,
    coding: null,
    vary: "Accept-Encoding",
  },
  {
    name: "below the size floor (no Vary: the answer never varies, as Deno.serve)",
    accept: "gzip",
    headers: { "content-type": "text/plain" },
    body: "short",
    coding: null,
    vary: null,
  },
  {
    name: "not compressible",
    accept: "gzip",
    headers: { "content-type": "image/png" },
    body: LONG,
    coding: null,
    vary: null,
  },
  {
    name: "no-transform",
    accept: "gzip",
    headers: { "content-type": "text/plain", "cache-control": "public, no-transform" },
    body: LONG,
    coding: null,
    vary: null,
  },
  {
    name: "already encoded",
    accept: "gzip",
    headers: { "content-type": "text/plain", "content-encoding": "identity" },
    body: LONG,
    coding: "identity",
    vary: null,
  },
  {
    name: "a range",
    accept: "gzip",
    headers: { "content-type": "text/plain", "content-range": "bytes 0-9/100" },
    status: 206,
    body: LONG,
    coding: null,
    vary: null,
  },
  {
    name: "weak ETag",
    accept: "gzip",
    headers: { "content-type": "text/plain", etag: '"abc"' },
    body: LONG,
    coding: "gzip",
    vary: "Accept-Encoding",
    etag: 'W/"abc"',
  },
  {
    name: "existing Vary kept",
    accept: "gzip",
    headers: { "content-type": "text/plain", vary: "Origin" },
    body: LONG,
    coding: "gzip",
    vary: "Origin, Accept-Encoding",
  },
];

const compressor = new Compressor();

class CaseHandler {
  handle(req: HttpRequest, res: HttpResponse): void {
    const c = CASES[Number(req.headers.get("x-case"))]!;
    if (c.status !== undefined) res.status = c.status;
    for (const [k, v] of Object.entries(c.headers)) res.setHeader(k, v);
    compressor.send(req, res, c.body);
  }
}

/** A raw request, so that the test sees the bytes as sent (fetch would decode). */
async function rawGet(port: number, headers: string): Promise<{ head: string; body: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      new TextEncoder().encode(`GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${headers}\r\n`),
    );
    const parts: Uint8Array[] = [];
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf)) !== null;) parts.push(buf.slice(0, n));
    const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    const text = new TextDecoder("latin1").decode(all);
    const end = text.indexOf("\r\n\r\n");
    return { head: text.slice(0, end), body: all.subarray(end + 4) };
  } finally {
    conn.close();
  }
}

function field(head: string, name: string): string | null {
  const m = new RegExp(`\\r\\n${name}: ([^\\r]*)`, "i").exec(head);
  return m === null ? null : m[1]!;
}

Deno.test("Compressor.send() follows Deno.serve's compression rules", async () => {
  const server = new HttpServer(new CaseHandler(), { port: 0 });
  const { port } = server.listen();
  try {
    for (const [i, c] of CASES.entries()) {
      const { head, body } = await rawGet(
        port,
        `x-case: ${i}\r\n` + (c.accept === null ? "" : `accept-encoding: ${c.accept}\r\n`),
      );
      equal(field(head, "content-encoding"), c.coding, c.name);
      equal(field(head, "vary"), c.vary, c.name);
      if (c.etag !== undefined) equal(field(head, "etag"), c.etag, c.name);
      equal(
        Number(field(head, "content-length")),
        body.length,
        `${c.name}: length of the bytes sent`,
      );
      const plain = c.coding === "gzip"
        ? gunzipSync(body)
        : c.coding === "br"
        ? brotliDecompressSync(body)
        : body;
      equal(new TextDecoder().decode(plain), c.body, c.name);
      if (c.coding === "gzip" || c.coding === "br") {
        ok(body.length < c.body.length, `${c.name} got smaller`);
      }
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("acceptedCoding() negotiates br, then gzip", () => {
  const cases: [string | null, string | null][] = [
    [null, null],
    ["", null],
    ["gzip", "gzip"],
    ["br", "br"],
    ["gzip, br", "br"],
    ["gzip;q=1, br;q=0.5", "gzip"],
    ["br;q=0", null],
    ["*", "br"],
    ["*;q=0, gzip", "gzip"],
    ["x-gzip", "gzip"],
    ["deflate", null],
    ["GZIP; Q=0.1", "gzip"],
  ];
  for (const [header, want] of cases) equal(acceptedCoding(header), want, String(header));
});

Deno.test("Compressor.stream() flushes every write so events arrive before the end", async () => {
  let release = Promise.withResolvers<void>();
  class Events {
    async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
      res.setHeader("Content-Type", "text/event-stream");
      const body = compressor.stream(req, res);
      const gate = release.promise;
      await body.write("data: one\n\n");
      await gate;
      await body.write("data: two\n\n");
      await body.end();
    }
  }
  const server = new HttpServer(new Events(), { port: 0 });
  const { port } = server.listen();
  try {
    for (const accept of ["gzip", "br", "identity"]) {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        headers: { "accept-encoding": accept },
      });
      equal(res.headers.get("content-encoding"), accept === "identity" ? null : accept);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let got = "";
      const timer = setTimeout(() => reader.cancel(), 3000);
      while (!got.includes("one\n\n")) got += (await reader.read()).value ?? "";
      clearTimeout(timer);
      equal(got, "data: one\n\n", `${accept}: the first event came before the stream ended`);
      release.resolve();
      for (let r; !(r = await reader.read()).done;) got += r.value;
      equal(got, "data: one\n\ndata: two\n\n");
      release = Promise.withResolvers<void>();
    }
  } finally {
    release.resolve();
    await server.shutdown();
  }
});

Deno.test("compression.ts is the only module that loads node:zlib", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("./mod.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string }[];
  };
  const specs = graph.modules.map((m) => m.specifier);
  ok(specs.some((s) => s.endsWith("/http/mod.ts")));
  assertEquals(specs.filter((s) => s.includes("zlib") || s.endsWith("/compression.ts")), []);
});
