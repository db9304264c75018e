// Random and mutated byte streams against a live server: it must answer
// with well-formed responses or close, never crash or hang, and keep
// serving other clients.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import type { Handler } from "./handler.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";
import { Router } from "./router.ts";
import { HttpServer } from "./server.ts";
import { connect, enc, ResponseReader } from "./_test_util.ts";

class Echo implements Handler {
  async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    res.send(await req.body.bytes());
  }
}
class Hello implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send("hello");
  }
}
class Errors {
  count = 0;
  report(): void {
    this.count++;
  }
}

/** Statuses after which the server must close the connection. */
const REJECTIONS = new Set([400, 408, 413, 414, 417, 431, 500, 501, 505]);

const VALID = [
  "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
  "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: v\r\n\r\n",
  "GET /x?q=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
];

/** Sends `bytes` in the given pieces, then reads until the server closes. */
async function probe(port: number, bytes: Uint8Array, cuts: number[]): Promise<number[]> {
  const conn = await connect(port);
  try {
    let prev = 0;
    for (const c of [...cuts, bytes.length].sort((a, b) => a - b)) {
      if (c > prev && c <= bytes.length) {
        await conn.write(bytes.subarray(prev, c)).catch(() => 0);
        prev = c;
      }
    }
    await conn.closeWrite().catch(() => {});
    const r = new ResponseReader(conn, 5000);
    const statuses: number[] = [];
    for (;;) {
      const res = await r.read().catch((err) => {
        // A response cut by a reset after a 4xx is fine; garbage is not.
        if (/closed inside/.test(String(err))) return null;
        throw err;
      });
      if (res === null) break;
      assert(res.status >= 100 && res.status < 600, `status ${res.status}`);
      statuses.push(res.status);
    }
    return statuses;
  } finally {
    conn.close();
  }
}

Deno.test("HttpServer property: mutated request streams get responses or a close, never a crash", async () => {
  const errors = new Errors();
  const server = new HttpServer(new Router().get("/", new Hello()).post("/echo", new Echo()), {
    port: 0,
    errorReporter: errors,
    headerTimeout: 2000,
    bodyTimeout: 2000,
  });
  const { port } = server.listen();
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom(...VALID), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.array(fc.nat(400), { maxLength: 4 }),
        async (requests, mutations, cuts) => {
          const bytes = enc(requests.join(""));
          for (const [at, value] of mutations) bytes[at % bytes.length] = value;
          const statuses = await probe(port, bytes, cuts);
          // Every answer is a real HTTP status; a protocol rejection is the last one.
          const bad = statuses.findIndex((s) => REJECTIONS.has(s));
          assert(bad === -1 || bad === statuses.length - 1, `answered after an error: ${statuses}`);
        },
      ),
      { numRuns: 150, seed: 42 },
    );
    // Still serving.
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assertEquals(await res.text(), "hello");
    assertEquals(errors.count, 0);
  } finally {
    await server.shutdown(1000);
  }
});

Deno.test("HttpServer property: random bytes never crash the server", async () => {
  const errors = new Errors();
  const server = new HttpServer(new Router().get("/", new Hello()), {
    port: 0,
    errorReporter: errors,
    headerTimeout: 2000,
  });
  const { port } = server.listen();
  try {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 600 }), async (bytes) => {
        const statuses = await probe(port, bytes, []);
        assert(statuses.slice(0, -1).every((s) => !REJECTIONS.has(s)));
      }),
      { numRuns: 100, seed: 7 },
    );
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assertEquals(await res.text(), "hello");
    assertEquals(errors.count, 0);
  } finally {
    await server.shutdown(1000);
  }
});
