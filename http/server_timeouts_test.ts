// The server's timeouts (header, keep-alive, body, write), on a clock moved
// by hand: each test waits for the server to arm a deadline, then moves the
// clock past it. Nothing sleeps for a deadline.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import type { Handler } from "./handler.ts";
import type { HttpRequest } from "./request.ts";
import type { HttpResponse } from "./response.ts";
import { Router } from "./router.ts";
import type { HttpServer, HttpServerOptions } from "./server.ts";
import {
  connect,
  enc,
  RESOLUTION,
  ResponseReader,
  sleep,
  TestDeadlines,
  withHttpServer,
} from "./_test_util.ts";

class Hello implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send("hello");
  }
}

class Echo implements Handler {
  async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
    res.send(await req.body.bytes());
  }
}

class Big implements Handler {
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.send(new Uint8Array(8 << 20));
  }
}

function withServer(
  fn: (port: number, server: HttpServer) => Promise<void>,
  options: HttpServerOptions,
  handler: Handler = new Router().get("/", new Hello()).post("/echo", new Echo()),
): Promise<void> {
  return withHttpServer(handler, options, fn);
}

// Distinct timeouts, so that TestDeadlines.armed(ms) tells which deadline the server armed.
const HEADER = 15001;
const KEEP_ALIVE = 5001;
const BODY = 30001;
const WRITE = 30002;
const timeouts = {
  headerTimeout: HEADER,
  keepAliveTimeout: KEEP_ALIVE,
  bodyTimeout: BODY,
  writeTimeout: WRITE,
};

/** Polls (1 ms steps, bounded) until the server holds no connection. */
async function allClosed(server: HttpServer): Promise<void> {
  for (let i = 0; i < 3000 && server.connections > 0; i++) await sleep(1);
  assertEquals(server.connections, 0);
}

Deno.test("HttpServer cuts off a client that trickles its head with 408", async () => {
  const deadlines = new TestDeadlines();
  await withServer(async (port) => {
    const conn = await connect(port);
    const r = new ResponseReader(conn);
    await conn.write(enc("GET / HTTP/1.1\r\n"));
    await deadlines.armed(HEADER);
    deadlines.pass(HEADER - 1);
    await conn.write(enc("Host: x\r\n"));
    deadlines.pass(1);
    const res = (await r.read())!;
    assertEquals(res.status, 408);
    assert(await r.closed());
    conn.close();
  }, { ...timeouts, deadlines });
});

/**
 * Asserts that the idle connection `r` reads is kept until the keep-alive
 * deadline and closed once it passes: the deadline is coarse
 * (Deadlines.armCoarse), never early and up to two resolutions late.
 */
async function closesAtKeepAlive(
  deadlines: TestDeadlines,
  server: HttpServer,
  r: ResponseReader,
): Promise<void> {
  await deadlines.armed(KEEP_ALIVE);
  deadlines.pass(KEEP_ALIVE - 1);
  assertEquals(server.connections, 1);
  deadlines.pass(1 + 2 * RESOLUTION);
  assert(await r.closed());
}

Deno.test("HttpServer closes an idle keep-alive connection after keepAliveTimeout", async () => {
  const deadlines = new TestDeadlines();
  await withServer(async (port, server) => {
    const conn = await connect(port);
    const r = new ResponseReader(conn);
    await conn.write(enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assertEquals((await r.read())!.status, 200);
    await closesAtKeepAlive(deadlines, server, r);
    conn.close();
  }, { ...timeouts, deadlines });
});

Deno.test("HttpServer closes a connection whose body stalls past bodyTimeout", async () => {
  const deadlines = new TestDeadlines();
  await withServer(async (port, server) => {
    const conn = await connect(port);
    await conn.write(enc("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
    const r = new ResponseReader(conn);
    await deadlines.armed(BODY);
    deadlines.pass(BODY - 1);
    assertEquals(server.connections, 1);
    deadlines.pass(1);
    assert(await r.closed());
    await allClosed(server);
    conn.close();
  }, { ...timeouts, deadlines });
});

Deno.test("HttpServer closes a client that stops reading past writeTimeout", async () => {
  const deadlines = new TestDeadlines();
  await withServer(
    async (port, server) => {
      const conn = await connect(port);
      await conn.write(enc("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
      // Never read: the 8 MiB response cannot fit in the socket buffers.
      await deadlines.armed(WRITE);
      deadlines.pass(WRITE - 1);
      assertEquals(server.connections, 1);
      deadlines.pass(1);
      await allClosed(server);
      conn.close();
    },
    { ...timeouts, deadlines },
    new Router().get("/big", new Big()),
  );
});

Deno.test("HttpServer hands a response still being written from keep-alive to writeTimeout", async () => {
  const deadlines = new TestDeadlines();
  await withServer(
    async (port, server) => {
      const conn = await connect(port);
      await conn.write(enc("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
      // Written in the background (below maxOutputBuffer), under the keep-alive deadline.
      await deadlines.armed(KEEP_ALIVE);
      deadlines.pass(KEEP_ALIVE + 2 * RESOLUTION);
      // Not closed: the response is still going out, so the write deadline takes over.
      await deadlines.armed(WRITE);
      assertEquals(server.connections, 1);
      deadlines.pass(WRITE);
      await allClosed(server);
      conn.close();
    },
    { ...timeouts, deadlines, maxOutputBuffer: 16 << 20 },
    new Router().get("/big", new Big()),
  );
});

Deno.test("HttpServer finishes a large response although keep-alive expires while it is written", async () => {
  const deadlines = new TestDeadlines();
  await withServer(
    async (port) => {
      const conn = await connect(port);
      await conn.write(enc("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
      await deadlines.armed(KEEP_ALIVE);
      deadlines.pass(KEEP_ALIVE + 2 * RESOLUTION); // passes with the body still queued
      await deadlines.armed(WRITE);
      const r = new ResponseReader(conn, 5000);
      const res = (await r.read())!;
      assertEquals(res.body.length, 8 << 20);
      conn.close();
    },
    { ...timeouts, deadlines, maxOutputBuffer: 16 << 20 },
    new Router().get("/big", new Big()),
  );
});

Deno.test("HttpServer's 408 counts from the first byte of a head, not from the last", async () => {
  const deadlines = new TestDeadlines();
  await withServer(async (port) => {
    const conn = await connect(port);
    const r = new ResponseReader(conn);
    await conn.write(enc("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    assertEquals((await r.read())!.status, 200);
    // The second request's first byte starts its header deadline (the first
    // was armed at accept)...
    await conn.write(enc("G"));
    await deadlines.armed(HEADER, 2);
    // ...and later bytes do not move it: a per-read timer would never fire.
    for (const part of ["ET / HTTP/1.1\r\n", "Host: x", "xxxx"]) {
      deadlines.pass((HEADER - 1) / 3);
      await conn.write(enc(part));
    }
    deadlines.pass(1);
    assertEquals((await r.read())!.status, 408);
    assert(await r.closed());
    conn.close();
  }, { ...timeouts, deadlines });
});

Deno.test("HttpServer lets a handler run past the header and write deadlines, then judges idleness again", async () => {
  const deadlines = new TestDeadlines();
  const gate = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  class Slow implements Handler {
    async handle(_req: HttpRequest, res: HttpResponse): Promise<void> {
      started.resolve();
      await gate.promise;
      res.send("late");
    }
  }
  await withServer(
    async (port, server) => {
      const conn = await connect(port);
      const r = new ResponseReader(conn);
      // Pipelined: the first response is still staged while the slow handler
      // runs, and the header deadline armed at accept passes meanwhile.
      await conn.write(
        enc("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /slow HTTP/1.1\r\nHost: x\r\n\r\n"),
      );
      await started.promise;
      deadlines.pass(HEADER + KEEP_ALIVE);
      deadlines.pass(WRITE);
      assertEquals(server.connections, 1);
      gate.resolve();
      const first = (await r.read())!;
      const second = (await r.read())!;
      assertEquals([first.status, second.status, second.body], [200, 200, "late"]);
      // Idle now: the keep-alive deadline is armed and closes it.
      await closesAtKeepAlive(deadlines, server, r);
      conn.close();
    },
    { ...timeouts, deadlines },
    new Router().get("/", new Hello()).get("/slow", new Slow()),
  );
});
