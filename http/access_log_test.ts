// Every response the server sends gets exactly one access-log entry with the
// status that went out: a handler's, the server's own refusals, and what an
// upgrade target answered. Over real loopback connections.
import { deepStrictEqual as assertEquals, strictEqual as equal } from "node:assert/strict";
import type { ConnectionHandle } from "@coroio/core";
import { HttpError } from "@coroio/core/http1";
import { type AccessLogEntry, type AccessLogger, formatCombinedLog } from "./access_log.ts";
import type { Handler } from "./handler.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";
import { Router } from "./router.ts";
import type { Takeover, UpgradeTarget } from "./upgrade.ts";
import {
  connect,
  enc,
  exchange,
  ResponseReader,
  TestDeadlines,
  withHttpServer,
} from "./_test_util.ts";

class Memory implements AccessLogger {
  entries: AccessLogEntry[] = [];
  log(e: AccessLogEntry): void {
    this.entries.push(e);
  }
}

class Hello implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send("hello");
  }
}

class JsonEcho implements Handler {
  async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    res.json(await req.body.json());
  }
}

class Forbidden implements Handler {
  handle(): void {
    throw new HttpError("invalid-body", "Bad Request: no");
  }
}

class Boom implements Handler {
  handle(): void {
    throw new Error("boom");
  }
}

class BreaksMidStream implements Handler {
  async handle(_req: HttpRequest, res: HttpResponse): Promise<void> {
    await res.write("part");
    throw new Error("broke mid-stream");
  }
}

/** Writes its answer on the raw connection, like a WebSocket handshake does. */
class Answering implements UpgradeTarget {
  readonly protocol: string;
  readonly #status: number;
  readonly #report: boolean;
  constructor(protocol: string, status: number, report: boolean) {
    this.protocol = protocol;
    this.#status = status;
    this.#report = report;
  }
  async upgrade(t: Takeover): Promise<ConnectionHandle | null> {
    if (this.#status === 0) throw new Error("target failed");
    const body = this.#status === 101 ? "" : "denied";
    await t.conn.write(
      enc(
        `HTTP/1.1 ${this.#status} X\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      ),
    );
    if (this.#report) t.answered?.(this.#status, body.length);
    t.conn.close();
    if (this.#status !== 101) return null;
    return { done: Promise.resolve(), shutdown: () => {} };
  }
}

function app(): Router {
  return new Router()
    .get("/", new Hello())
    .post("/json", new JsonEcho())
    .get("/forbidden", new Forbidden())
    .get("/boom", new Boom())
    .get("/mid", new BreaksMidStream())
    .upgrade("/accept", new Answering("accept", 101, false))
    .upgrade("/accept-told", new Answering("accept-told", 101, true))
    .upgrade("/refuse-told", new Answering("refuse-told", 403, true))
    .upgrade("/refuse-silent", new Answering("refuse-silent", 401, false))
    .upgrade("/fail", new Answering("fail", 0, false));
}

const up = (path: string, protocol: string) =>
  `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${protocol}\r\n\r\n`;

// [name, bytes sent, logged [method, status, bytes]]
const cases: [string, string, [string, number, number][]][] = [
  ["a handler's 200", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", [["GET", 200, 5]]],
  [
    "413 for a declared body past the limit",
    "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n",
    [["POST", 413, 0]],
  ],
  ["an uncaught HttpError 400", "GET /forbidden HTTP/1.1\r\nHost: x\r\n\r\n", [["GET", 400, 0]]],
  [
    "400 from invalid JSON",
    "POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{x",
    [["POST", 400, 0]],
  ],
  ["500 from a handler error", "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n", [["GET", 500, 22]]],
  ["a response broken mid-stream", "GET /mid HTTP/1.1\r\nHost: x\r\n\r\n", [["GET", 200, 4]]],
  ["a malformed request line", "GET/ HTTP/1.1\r\nHost: x\r\n\r\n", [["", 400, 0]]],
  ["an unsupported version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", [["", 505, 0]]],
  ["a head cut short by the client", "GET / HTTP/1.1\r\nHo", [["", 400, 0]]],
  [
    "pipelined: a 200 then a refusal",
    "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    [["GET", 200, 5], ["", 400, 0]],
  ],
  ["an accepted upgrade", up("/accept", "accept"), [["GET", 101, 0]]],
  ["an accepted upgrade that told", up("/accept-told", "accept-told"), [["GET", 101, 0]]],
  ["a refused upgrade that told its status", up("/refuse-told", "refuse-told"), [["GET", 403, 6]]],
  ["a refused upgrade that did not tell", up("/refuse-silent", "refuse-silent"), [["GET", 0, 0]]],
  ["an upgrade target that failed", up("/fail", "fail"), [["GET", 0, 0]]],
];

for (const [name, request, want] of cases) {
  Deno.test(`AccessLogger.log() gets one entry per response: ${name}`, async () => {
    const logger = new Memory();
    await withHttpServer(app(), { logger, maxBodySize: 1000 }, async (port) => {
      const conn = await connect(port);
      await conn.write(enc(request));
      // A cut-short head: the client stops sending.
      if (!request.endsWith("\r\n\r\n") && !request.includes("{x")) await conn.closeWrite();
      const r = new ResponseReader(conn);
      while ((await r.read().catch(() => null)) !== null) { /* until close */ }
      conn.close();
    });
    assertEquals(logger.entries.map((e) => [e.method, e.status, e.bytesSent]), want);
  });
}

Deno.test("AccessLogger.log() gets the 408 the server sends to a slow head", async () => {
  const logger = new Memory();
  const deadlines = new TestDeadlines();
  await withHttpServer(app(), { logger, deadlines, headerTimeout: 15001 }, async (port) => {
    const conn = await connect(port);
    const r = new ResponseReader(conn);
    await conn.write(enc("GET / HTTP/1.1\r\n"));
    await deadlines.armed(15001);
    deadlines.pass(15001);
    equal((await r.read())!.status, 408);
    conn.close();
  });
  assertEquals(logger.entries.map((e) => [e.method, e.target, e.version, e.status]), [
    ["", "", "", 408],
  ]);
  equal(formatCombinedLog(logger.entries[0]!).includes('"-" 408 0 "-" "-"'), true);
});

Deno.test("AccessLogger.log() sees a wire that matches: one entry per response read", async () => {
  const logger = new Memory();
  await withHttpServer(app(), { logger, maxBodySize: 1000 }, async (port) => {
    const res = await exchange(
      port,
      "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /boom HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assertEquals(res.map((r) => r.status), [200, 500]);
  });
  assertEquals(logger.entries.map((e) => e.status), [200, 500]);
});
