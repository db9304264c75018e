// res.json(), req.url, req.searchParams, HEAD lengths, body type checks and
// mounted routers, over real loopback connections.
import { deepStrictEqual as assertEquals, strictEqual as equal } from "node:assert/strict";
import type { Handler } from "./handler.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";
import { Router } from "./router.ts";
import { ErrorLog, exchange, withHttpServer } from "./_test_util.ts";

class Describe implements Handler {
  handle(req: HttpRequest, res: HttpResponse): void {
    res.json({ url: req.url, q: req.searchParams.getAll("q"), params: req.params }, 201);
  }
}

class HeadLength implements Handler {
  async handle(_req: HttpRequest, res: HttpResponse): Promise<void> {
    res.setHeader("Content-Length", "5");
    await res.end();
  }
}

class SendsObject implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send({ not: "bytes" } as unknown as string);
  }
}

function app(): Router {
  const api = new Router().get("/items/:id", new Describe()).get("/files/*", new Describe());
  return new Router()
    .get("/", new Describe())
    .get("/head", new HeadLength())
    .get("/object", new SendsObject())
    .mount("/api", api);
}

const close = "Connection: close\r\n";

// [name, request, status, Content-Length, JSON body or raw body]
const cases: [string, string, number, string | undefined, unknown][] = [
  [
    "json() with url and searchParams",
    `GET /?q=a&q=b%20c HTTP/1.1\r\nHost: example.test:81\r\n${close}\r\n`,
    201,
    undefined,
    { url: "http://example.test:81/?q=a&q=b%20c", q: ["a", "b c"], params: {} },
  ],
  [
    "an absolute-form target, as sent",
    `GET http://other.test/?q=1 HTTP/1.1\r\nHost: x\r\n${close}\r\n`,
    201,
    undefined,
    { url: "http://other.test/?q=1", q: ["1"], params: {} },
  ],
  [
    "a mounted route with a parameter",
    `GET /api/items/7 HTTP/1.1\r\nHost: h\r\n${close}\r\n`,
    201,
    undefined,
    { url: "http://h/api/items/7", q: [], params: { id: "7" } },
  ],
  [
    "a mounted wildcard",
    `GET /api/files/a/b%20c HTTP/1.1\r\nHost: h\r\n${close}\r\n`,
    201,
    undefined,
    { url: "http://h/api/files/a/b%20c", q: [], params: { "*": "a/b c" } },
  ],
  [
    "a mounted 405",
    `POST /api/items/7 HTTP/1.1\r\nHost: h\r\n${close}\r\n`,
    405,
    "19",
    "Method Not Allowed\n",
  ],
  [
    "HEAD keeps the handler's Content-Length",
    `HEAD /head HTTP/1.1\r\nHost: h\r\n${close}\r\n`,
    200,
    "5",
    "",
  ],
  [
    "send() of an object is a 500, not a hang",
    `GET /object HTTP/1.1\r\nHost: h\r\n\r\n`,
    500,
    "22",
    "Internal Server Error\n",
  ],
];

Deno.test("HttpResponse.json(), HttpRequest.url and Router.mount() over a real connection", async () => {
  const reporter = new ErrorLog();
  await withHttpServer(app(), { errorReporter: reporter }, async (port) => {
    for (const [name, request, status, length, body] of cases) {
      const isHead = request.startsWith("HEAD");
      const [res] = isHead ? await exchangeHead(port, request) : await exchange(port, request);
      equal(res!.status, status, name);
      if (length !== undefined) equal(res!.headers.get("content-length"), length, name);
      if (typeof body === "string") equal(res!.body, body, name);
      else assertEquals(JSON.parse(res!.body), body, name);
    }
  });
  assertEquals(reporter.errors.map((e) => e instanceof TypeError), [true]);
});

/** Sends a HEAD request and reads its head (no body follows). */
async function exchangeHead(
  port: number,
  request: string,
): Promise<{ status: number; headers: Map<string, string>; body: string }[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(new TextEncoder().encode(request));
  let text = "";
  const buf = new Uint8Array(4096);
  for (let n; (n = await conn.read(buf)) !== null;) {
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  conn.close();
  const end = text.indexOf("\r\n\r\n");
  const lines = text.slice(0, end).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(":");
    headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return [{ status: Number(lines[0]!.split(" ")[1]), headers, body: text.slice(end + 4) }];
}
