// ErrorHandler: the hook that shapes responses to handler errors, over real
// loopback connections.
import { deepStrictEqual as assertEquals, strictEqual as equal, throws } from "node:assert/strict";
import { HttpError } from "@coroio/core/http1";
import type { ErrorHandler } from "./error_handler.ts";
import type { Handler } from "./handler.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";
import { Router } from "./router.ts";
import { HttpServer } from "./server.ts";
import { ErrorLog, exchange, withHttpServer } from "./_test_util.ts";

/** Answers JSON: an HttpError's status, 500 otherwise; records what it saw. */
class JsonErrors implements ErrorHandler {
  seen: unknown[] = [];
  handleError(err: unknown, req: HttpRequest, res: HttpResponse): void {
    this.seen.push(err);
    if (err instanceof HttpError) res.json({ error: err.code, path: req.path }, err.status);
    else res.json({ error: "internal" }, 500);
  }
}

class AsyncErrors implements ErrorHandler {
  async handleError(_err: unknown, _req: HttpRequest, res: HttpResponse): Promise<void> {
    await Promise.resolve();
    res.status = 503;
    await res.write("try ");
    await res.end("later");
  }
}

class ThrowingErrors implements ErrorHandler {
  handleError(): void {
    throw new Error("hook broke");
  }
}

class SilentErrors implements ErrorHandler {
  handleError(): void {}
}

class SetsThenThrows implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.setHeader("X-Half", "done");
    res.setHeader("Content-Type", "text/html");
    throw new Error("boom");
  }
}

class ParsesJson implements Handler {
  async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    res.json(await req.body.json());
  }
}

class Hello implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send("hello");
  }
}

class MidStream implements Handler {
  async handle(_req: HttpRequest, res: HttpResponse): Promise<void> {
    await res.write("part");
    throw new Error("late");
  }
}

function app(): Router {
  return new Router()
    .get("/", new Hello())
    .get("/boom", new SetsThenThrows())
    .post("/json", new ParsesJson())
    .get("/mid", new MidStream());
}

const NEXT = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

// [name, hook, request (followed by NEXT on the same connection), [status, body, content-type, connection] of each response]
const cases: [
  string,
  () => ErrorHandler,
  string,
  [number, string, string | undefined, string | undefined][],
][] = [
  [
    "a thrown Error: the hook's JSON 500, then close",
    () => new JsonErrors(),
    "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n",
    [[500, '{"error":"internal"}', "application/json; charset=utf-8", "close"]],
  ],
  [
    "an HttpError from the body: the hook's status, connection kept",
    () => new JsonErrors(),
    "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{x",
    [
      [
        400,
        '{"error":"invalid-body","path":"/json"}',
        "application/json; charset=utf-8",
        undefined,
      ],
      [200, "hello", "text/plain; charset=utf-8", "close"],
    ],
  ],
  [
    "a body that broke framing: the hook answers, then close",
    () => new JsonErrors(),
    "POST /json HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    [[400, '{"error":"invalid-chunk","path":"/json"}', "application/json; charset=utf-8", "close"]],
  ],
  [
    "an async hook that streams",
    () => new AsyncErrors(),
    "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n",
    [[503, "try later", undefined, "close"]],
  ],
  [
    "a hook that throws: the plain 500",
    () => new ThrowingErrors(),
    "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n",
    [[500, "Internal Server Error\n", "text/plain; charset=utf-8", "close"]],
  ],
  [
    "a hook that does not respond: the plain answer for an HttpError",
    () => new SilentErrors(),
    "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{x",
    [
      [400, "Cannot parse request body: invalid JSON\n", "text/plain; charset=utf-8", undefined],
      [200, "hello", "text/plain; charset=utf-8", "close"],
    ],
  ],
  [
    "an error after the response started: no hook, close",
    () => new JsonErrors(),
    "GET /mid HTTP/1.1\r\nHost: x\r\n\r\n",
    [],
  ],
];

Deno.test("ErrorHandler.handleError() shapes the response to a handler's error", async () => {
  for (const [name, hook, request, want] of cases) {
    const reporter = new ErrorLog();
    await withHttpServer(app(), { errorHandler: hook(), errorReporter: reporter }, async (port) => {
      const got = await exchange(port, request + NEXT).catch((e) => {
        // A response cut mid-stream cannot be read whole.
        if (want.length === 0) return [];
        throw e;
      });
      assertEquals(
        got.map((r) => [
          r.status,
          r.body,
          r.headers.get("content-type"),
          r.headers.get("connection"),
        ]),
        want,
        name,
      );
      for (const r of got) equal(r.headers.get("x-half"), undefined, name);
    });
  }
});

Deno.test("ErrorHandler.handleError() gets the error and the request; non-HttpErrors are reported", async () => {
  const hook = new JsonErrors();
  const reporter = new ErrorLog();
  await withHttpServer(app(), { errorHandler: hook, errorReporter: reporter }, async (port) => {
    await exchange(port, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n");
    await exchange(
      port,
      "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\n{",
    );
  });
  assertEquals(hook.seen.map((e) => (e as Error).message), [
    "boom",
    "Cannot parse request body: invalid JSON",
  ]);
  assertEquals(reporter.errors.map((e) => (e as Error).message), ["boom"]);
});

Deno.test("ErrorHandler.handleError() answers HEAD without a body", async () => {
  await withHttpServer(app(), { errorHandler: new JsonErrors() }, async (port) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("HEAD /boom HTTP/1.1\r\nHost: x\r\n\r\n"));
    let text = "";
    const buf = new Uint8Array(4096);
    for (let n; (n = await conn.read(buf)) !== null;) {
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    conn.close();
    equal(text.startsWith("HTTP/1.1 500 "), true);
    equal(text.includes("Content-Length: 20\r\n"), true);
    equal(text.endsWith("\r\n\r\n"), true);
  });
});

Deno.test("HttpServer() refuses an errorHandler without handleError()", () => {
  for (const bad of [{}, () => {}, { handleError: 1 }, null]) {
    throws(
      () => new HttpServer(app(), { errorHandler: bad as unknown as ErrorHandler }),
      /handleError\(\) method/,
    );
  }
});
