// serve()'s automatic compression and Blob/FormData bodies, over real
// sockets, compared with Deno.serve (`automaticCompression: true`).
import { deepStrictEqual as assertEquals, strictEqual as equal } from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { serve } from "./serve.ts";
import { withTimeout } from "./_test_util.ts";

const BIG = "compress me, ".repeat(20); // 260 bytes

/** Responses made afresh per request, by path. */
const RESPONSES: Record<string, () => Response> = {
  text: () => new Response(BIG),
  "small text": () => new Response("x".repeat(63)),
  "text at the floor": () => new Response("x".repeat(64)),
  json: () => Response.json({ rows: [BIG, BIG] }),
  "image/png": () => new Response(BIG, { headers: { "content-type": "image/png" } }),
  "bytes without a type": () => new Response(new TextEncoder().encode(BIG)),
  "html with an ETag and Vary": () =>
    new Response(BIG, { headers: { "content-type": "text/html", etag: '"v1"', vary: "Origin" } }),
  "no-transform": () => new Response(BIG, { headers: { "cache-control": "public, no-transform" } }),
  "already encoded": () => new Response(BIG, { headers: { "content-encoding": "identity" } }),
  range: () => new Response(BIG, { status: 206, headers: { "content-range": "bytes 0-259/1000" } }),
  "a small stream": () =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode("hi"));
          c.close();
        },
      }),
      { headers: { "content-type": "text/plain" } },
    ),
  "a CSS blob": () => new Response(new Blob([BIG], { type: "text/css" })),
  "an SVG": () => new Response(BIG, { headers: { "content-type": "image/svg+xml" } }),
  "no content": () => new Response(null, { status: 204 }),
};

interface Seen {
  status: number;
  encoding: string | null;
  etag: string | null;
  body: string;
}

/** Sends a raw request (fetch would add its own Accept-Encoding) and decodes the answer. */
async function get(port: number, path: string, acceptEncoding: string | null): Promise<Seen> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  try {
    const ae = acceptEncoding === null ? "" : `Accept-Encoding: ${acceptEncoding}\r\n`;
    await conn.write(
      new TextEncoder().encode(
        `GET /${encodeURIComponent(path)} HTTP/1.1\r\nHost: x\r\n${ae}Connection: close\r\n\r\n`,
      ),
    );
    const buf = new Uint8Array(65536);
    for (let n; (n = await conn.read(buf)) !== null;) chunks.push(buf.slice(0, n));
  } finally {
    conn.close();
  }
  const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  return parse(all);
}

function parse(bytes: Uint8Array): Seen {
  const text = new TextDecoder("latin1").decode(bytes);
  const end = text.indexOf("\r\n\r\n");
  const lines = text.slice(0, end).split("\r\n");
  const fields = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    fields.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
  }
  let body = bytes.subarray(end + 4);
  if (fields.get("transfer-encoding") === "chunked") body = unchunk(body);
  const encoding = fields.get("content-encoding") ?? null;
  const decoded = encoding === "gzip" ? gunzipSync(body) : encoding === "br" ? brotli(body) : body;
  return {
    status: Number(lines[0]!.split(" ")[1]),
    encoding,
    etag: fields.get("etag") ?? null,
    body: new TextDecoder().decode(decoded),
  };
}

function unchunk(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  const text = new TextDecoder("latin1").decode(b);
  let at = 0;
  for (;;) {
    const eol = text.indexOf("\r\n", at);
    const size = parseInt(text.slice(at, eol), 16);
    if (!(size > 0)) break;
    for (let i = 0; i < size; i++) out.push(b[eol + 2 + i]!);
    at = eol + 2 + size + 2;
  }
  return new Uint8Array(out);
}

// node:zlib's brotliDecompressSync, loaded once.
const { brotliDecompressSync } = await import("node:zlib");
function brotli(b: Uint8Array): Uint8Array {
  return brotliDecompressSync(b);
}

const CODINGS = ["gzip, deflate, br", "gzip", "br;q=0.5, gzip;q=1", "identity", null];

Deno.test("serve() compresses responses as Deno.serve does with automaticCompression", async () => {
  const handler = (req: Request) =>
    RESPONSES[decodeURIComponent(new URL(req.url).pathname.slice(1))]!();
  const ours = serve({ hostname: "127.0.0.1", port: 0, onListen() {}, compression: true }, handler);
  const deno = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, automaticCompression: true } as
      & Deno.ServeTcpOptions
      & { automaticCompression: boolean },
    handler,
  );
  const codings = new Map<string, number>();
  try {
    for (const ae of CODINGS) {
      for (const path of Object.keys(RESPONSES)) {
        const [a, b] = await withTimeout(
          Promise.all([get(ours.addr.port, path, ae), get(deno.addr.port, path, ae)]),
          5000,
          `${path} with ${ae}`,
        );
        assertEquals(a, b, `${path}, Accept-Encoding: ${ae}`);
        codings.set(String(a.encoding), (codings.get(String(a.encoding)) ?? 0) + 1);
      }
    }
    // Both codings were chosen somewhere, and most answers were left alone.
    assertEquals(Object.fromEntries(codings), { br: 7, gzip: 14, identity: 5, null: 44 });
  } finally {
    await Promise.all([ours.shutdown(), deno.shutdown()]);
  }
});

Deno.test("serve() compresses nothing unless asked (Deno.serve's default in Deno 2.9.6)", async () => {
  for (const options of [{}, { compression: false }, { automaticCompression: false }]) {
    const ours = serve(
      { hostname: "127.0.0.1", port: 0, onListen() {}, ...options },
      () => new Response(BIG),
    );
    try {
      const seen = await get(ours.addr.port, "text", "gzip, br");
      equal(seen.encoding, null, JSON.stringify(options));
      equal(seen.body, BIG);
    } finally {
      await ours.shutdown();
    }
  }
});

Deno.test("serve() compresses through automaticCompression, Deno.serve's option name", async () => {
  const ours = serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, automaticCompression: true },
    () => new Response(BIG),
  );
  try {
    const seen = await get(ours.addr.port, "text", "gzip");
    equal(seen.encoding, "gzip");
    equal(seen.body, BIG);
  } finally {
    await ours.shutdown();
  }
});

Deno.test("serve() loads node:zlib only when a response is compressed", async () => {
  // A fresh process: requests without Accept-Encoding leave the compression
  // module unloaded; the first one that names a coding loads it.
  const serveUrl = new URL("./serve.ts", import.meta.url).href;
  const flagUrl = new URL("./_compress.ts", import.meta.url).href;
  const script = `
    const { serve } = await import(${JSON.stringify(serveUrl)});
    const { compressionLoaded } = await import(${JSON.stringify(flagUrl)});
    const server = serve({ hostname: "127.0.0.1", port: 0, onListen() {}, compression: true },
      () => new Response("x".repeat(500)));
    async function get(ae) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(new TextEncoder().encode("GET / HTTP/1.1\\r\\nHost: x\\r\\n" + ae + "Connection: close\\r\\n\\r\\n"));
      const buf = new Uint8Array(65536);
      while ((await conn.read(buf)) !== null);
      conn.close();
    }
    const seen = [];
    for (let i = 0; i < 3; i++) await get("");
    seen.push(compressionLoaded());
    await get("Accept-Encoding: gzip\\r\\n");
    seen.push(compressionLoaded());
    await server.shutdown();
    console.log(JSON.stringify(seen));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  equal(out.success, true, new TextDecoder().decode(out.stderr));
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout).trim()), [false, true]);
});

/** Bodies whose length is known before they are read. */
const BODIES: [string, () => BodyInit, string | null][] = [
  ["Blob", () => new Blob(["hello blob"], { type: "text/x-blob" }), "text/x-blob"],
  ["File", () => new File(["hello file"], "a.txt"), null],
  ["empty Blob", () => new Blob([]), null],
  ["URLSearchParams", () => new URLSearchParams({ a: "1", b: "x y" }), null],
];

for (const compression of [false, true]) {
  Deno.test(`serve() sends Blob, File and URLSearchParams bodies with Content-Length and Deno.serve's type (compression ${compression})`, async () => {
    for (const [name, make, type] of BODIES) {
      // Small bodies: under the size floor, sent as they are either way.
      const ours = serve(
        { hostname: "127.0.0.1", port: 0, onListen() {}, compression },
        () => new Response(make()),
      );
      const deno = Deno.serve(
        {
          hostname: "127.0.0.1",
          port: 0,
          onListen() {},
          automaticCompression: compression,
        } as Deno.ServeTcpOptions,
        () => new Response(make()),
      );
      try {
        const [a, b] = await Promise.all([
          fetch(`http://127.0.0.1:${ours.addr.port}/`, {
            headers: { "accept-encoding": "gzip, br" },
          }),
          fetch(`http://127.0.0.1:${deno.addr.port}/`, {
            headers: { "accept-encoding": "gzip, br" },
          }),
        ]);
        const [ta, tb] = [await a.text(), await b.text()];
        equal(ta, tb, name);
        equal(a.headers.get("content-type"), b.headers.get("content-type"), name);
        if (type !== null) equal(a.headers.get("content-type"), type, name);
        equal(a.headers.get("content-encoding"), null, name);
        equal(a.headers.get("transfer-encoding"), null, name);
        equal(a.headers.get("content-length"), String(new TextEncoder().encode(ta).length), name);
      } finally {
        await Promise.all([ours.shutdown(), deno.shutdown()]);
      }
    }
  });
}

Deno.test("serve() sends a FormData body as Deno.serve does: multipart with its boundary and a length", async () => {
  const make = () => {
    const form = new FormData();
    form.set("name", "coroio");
    form.set("file", new File(["data"], "f.txt", { type: "text/plain" }));
    return new Response(form);
  };
  const ours = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, make);
  try {
    const res = await fetch(`http://127.0.0.1:${ours.addr.port}/`);
    const type = res.headers.get("content-type") ?? "";
    equal(type.startsWith("multipart/form-data; boundary="), true, type);
    const length = Number(res.headers.get("content-length"));
    const bytes = await res.clone().bytes();
    equal(bytes.length, length);
    const form = await res.formData();
    equal(form.get("name"), "coroio");
    equal(await (form.get("file") as File).text(), "data");
  } finally {
    await ours.shutdown();
  }
});

Deno.test("serve() flushes each chunk of a compressed stream, so server-sent events arrive as sent", async () => {
  // One release per request: each stream's second event waits for its own.
  const releases = [Promise.withResolvers<void>(), Promise.withResolvers<void>()];
  let served = 0;
  const enc = new TextEncoder();
  const ours = serve(
    { hostname: "127.0.0.1", port: 0, onListen() {}, compression: true },
    () =>
      new Response(
        new ReadableStream({
          async start(c) {
            const release = releases[served++]!;
            c.enqueue(enc.encode("data: first\n\n"));
            await release.promise; // the second event waits for the client to see the first
            c.enqueue(enc.encode("data: second\n\n"));
            c.close();
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      ),
  );
  try {
    for (const [i, coding] of ["gzip", "br"].entries()) {
      const res = await fetch(`http://127.0.0.1:${ours.addr.port}/`, {
        headers: { "accept-encoding": coding },
      });
      equal(res.headers.get("content-encoding"), coding);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      const first = await withTimeout(reader.read(), 5000, `first event, ${coding}`);
      equal(first.value, "data: first\n\n");
      releases[i]!.resolve();
      let rest = "";
      for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
      equal(rest, "data: second\n\n");
    }
  } finally {
    await ours.shutdown();
  }
});
