import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  type ConnectionEndListener,
  type ConnectionHandle,
  type ConnectionHandler,
  type ErrorReporter,
  TcpServer,
} from "./tcp_server.ts";

const LOOPBACK = { hostname: "127.0.0.1", port: 0 } as const;

class Echo implements ConnectionHandler {
  shutdownCalls = 0;
  open(conn: Deno.Conn): ConnectionHandle {
    return {
      done: this.#echo(conn),
      shutdown: () => {
        this.shutdownCalls++;
        conn.close();
      },
    };
  }
  async #echo(conn: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(1024);
    try {
      for (let n; (n = await conn.read(buf)) !== null;) await conn.write(buf.subarray(0, n));
    } catch {
      // closed under us
    }
  }
}

/** A handler whose handles run `work` and ignore shutdown requests. */
function handlerOf(work: (conn: Deno.Conn) => Promise<void>): ConnectionHandler {
  return { open: (conn) => ({ done: work(conn), shutdown() {} }) };
}

class Collect implements ErrorReporter {
  errors: [unknown, string][] = [];
  report(error: unknown, context: string): void {
    this.errors.push([error, context]);
  }
}

async function readAll(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(64);
  let total = 0;
  try {
    for (let n; (n = await conn.read(buf)) !== null;) total += n;
  } catch {
    // reset counts as closed
  }
  return total;
}

Deno.test("TcpServer.serve() echoes over loopback and shuts down gracefully", async () => {
  const handler = new Echo();
  const server = new TcpServer(Deno.listen(LOOPBACK), handler);
  const done = server.serve();
  const c = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await c.write(new TextEncoder().encode("hi"));
  const buf = new Uint8Array(2);
  assertEquals(await c.read(buf), 2);
  assertEquals(server.connections, 1);
  await server.shutdown();
  await done;
  assertEquals(handler.shutdownCalls, 1);
  assertEquals(await readAll(c), 0);
  c.close();
});

Deno.test("TcpServer closes connections past maxConnections", async () => {
  const server = new TcpServer(Deno.listen(LOOPBACK), new Echo(), { maxConnections: 1 });
  const done = server.serve();
  const a = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await a.write(new Uint8Array([1]));
  await a.read(new Uint8Array(1));
  const b = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  assertEquals(await readAll(b), 0);
  b.close();
  assertEquals(server.rejected, 1);
  a.close();
  await server.shutdown();
  await done;
});

Deno.test("TcpServer survives a handler that throws", async () => {
  let calls = 0;
  const reporter = new Collect();
  const handler = handlerOf(() => {
    calls++;
    return Promise.reject(new Error("handler failed"));
  });
  const server = new TcpServer(Deno.listen(LOOPBACK), handler, { errorReporter: reporter });
  const done = server.serve();
  for (let i = 0; i < 3; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    assertEquals(await readAll(c), 0);
    c.close();
  }
  assertEquals(calls, 3);
  assertEquals(reporter.errors.length, 3);
  assertEquals(reporter.errors[0]![1], "connection");
  await server.shutdown();
  await done;
});

Deno.test("TcpServer.shutdown() force-closes connections after the timeout", async () => {
  // A handler that ignores shutdown and reads forever.
  const handler = handlerOf(async (conn) => {
    try {
      while ((await conn.read(new Uint8Array(16))) !== null) { /* keep reading */ }
    } catch {
      // closed by the server's deadline
    }
  });
  const server = new TcpServer(Deno.listen(LOOPBACK), handler, { shutdownTimeout: 50 });
  const done = server.serve();
  const c = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  await c.write(new Uint8Array([1]));
  while (server.connections === 0) await new Promise((r) => setTimeout(r, 1));
  const t0 = Date.now();
  await server.shutdown();
  assert(Date.now() - t0 >= 40);
  assertEquals(await readAll(c), 0);
  c.close();
  await done;
});

Deno.test("TcpServer keeps a connection open until its handle is done, then closes it", async () => {
  let owned: Deno.Conn | null = null;
  const finish = Promise.withResolvers<void>();
  const handler = handlerOf((conn) => {
    owned = conn;
    return finish.promise;
  });
  const server = new TcpServer(Deno.listen(LOOPBACK), handler);
  const done = server.serve();
  const c = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  while (owned === null) await new Promise((r) => setTimeout(r, 1));
  // Still open while the handle runs: its owner can write.
  await (owned as Deno.Conn).write(new TextEncoder().encode("ok"));
  const buf = new Uint8Array(2);
  assertEquals(await c.read(buf), 2);
  finish.resolve();
  assertEquals(await readAll(c), 0);
  assertEquals(server.connections, 0);
  c.close();
  await server.shutdown();
  await done;
});

Deno.test("TcpServer reports a handler whose open() throws and closes the connection", async () => {
  const reporter = new Collect();
  const handler: ConnectionHandler = {
    open(): ConnectionHandle {
      throw new Error("open failed");
    },
  };
  const server = new TcpServer(Deno.listen(LOOPBACK), handler, { errorReporter: reporter });
  const done = server.serve();
  const c = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  assertEquals(await readAll(c), 0);
  c.close();
  assertEquals(reporter.errors.length, 1);
  assertEquals((reporter.errors[0]![0] as Error).message, "open failed");
  await server.shutdown();
  await done;
});

Deno.test("TcpServer reports a handle already serving another connection and closes the new one", async () => {
  const reporter = new Collect();
  const end = Promise.withResolvers<void>();
  const shared: ConnectionHandle = { done: end.promise, shutdown: () => end.resolve() };
  const handler: ConnectionHandler = { open: () => shared };
  const server = new TcpServer(Deno.listen(LOOPBACK), handler, { errorReporter: reporter });
  const done = server.serve();
  const a = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  const b = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
  try {
    // The second is closed at once; the first stays with its handle.
    assertEquals(await readAll(b), 0);
    assertEquals(server.connections, 1);
    assertEquals(reporter.errors.length, 1);
    assert(/already serving another connection/.test((reporter.errors[0]![0] as Error).message));
    end.resolve();
    assertEquals(await readAll(a), 0);
  } finally {
    a.close();
    b.close();
    await server.shutdown();
    await done;
  }
});

Deno.test("TcpServer constructor refuses options that are not integers in range", () => {
  const listener = Deno.listen(LOOPBACK);
  try {
    for (
      const options of [{ maxConnections: 1.5 }, { maxConnections: 0 }, { shutdownTimeout: -1 }]
    ) {
      let err: unknown = null;
      try {
        new TcpServer(listener, new Echo(), options);
      } catch (e) {
        err = e;
      }
      assert(err instanceof RangeError, JSON.stringify(options));
    }
  } finally {
    listener.close();
  }
});

Deno.test("TcpServer shuts down when its AbortSignal aborts", async () => {
  const ac = new AbortController();
  const server = new TcpServer(Deno.listen(LOOPBACK), new Echo(), { signal: ac.signal });
  const done = server.serve();
  ac.abort();
  await done;
  assert(server.closing);
});

Deno.test("TcpServer survives an error reporter that throws", async () => {
  const handler = handlerOf(() => Promise.reject(new Error("handler failed")));
  const reporter: ErrorReporter = {
    report(): void {
      throw new Error("reporter down");
    },
  };
  const server = new TcpServer(Deno.listen(LOOPBACK), handler, { errorReporter: reporter });
  const done = server.serve();
  for (let i = 0; i < 2; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    assertEquals(await readAll(c), 0);
    c.close();
  }
  assertEquals(server.accepted, 2);
  await server.shutdown();
  await done;
});

/**
 * A handle that tells its listener when the peer closes, and fails the test
 * if anyone reads its `done` (the server must use `onEnd` instead).
 */
class Listening implements ConnectionHandle {
  listeners: ConnectionEndListener[] = [];
  #conn: Deno.Conn;
  #error: unknown;
  constructor(conn: Deno.Conn, error: unknown) {
    this.#conn = conn;
    this.#error = error;
  }
  get done(): Promise<void> {
    throw new Error("done was read");
  }
  onEnd(listener: ConnectionEndListener): void {
    this.listeners.push(listener);
    this.#wait();
  }
  async #wait(): Promise<void> {
    await readAll(this.#conn);
    for (const l of this.listeners) l.connectionEnded(this, this.#error);
  }
  shutdown(): void {
    this.#conn.close();
  }
}

const ON_END_CASES: { name: string; error: unknown; reported: number }[] = [
  { name: "normally", error: undefined, reported: 0 },
  { name: "with an error", error: new Error("boom"), reported: 1 },
];

for (const { name, error, reported } of ON_END_CASES) {
  Deno.test(`TcpServer.serve() learns of a handle's end ${name} through onEnd(), once`, async () => {
    const handles: Listening[] = [];
    const reporter = new Collect();
    const server = new TcpServer(Deno.listen(LOOPBACK), {
      open(conn) {
        const h = new Listening(conn, error);
        handles.push(h);
        return h;
      },
    }, { errorReporter: reporter });
    const serving = server.serve();
    const c = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    for (let i = 0; i < 200 && handles.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assertEquals(handles.length, 1);
    const handle = handles[0]!;
    assertEquals(handle.listeners.length, 1);
    assertEquals(server.connections, 1);
    c.close();
    for (let i = 0; i < 200 && server.connections > 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assertEquals(server.connections, 0);
    // A second call for the same handle is ignored.
    handle.listeners[0]!.connectionEnded(handle, new Error("again"));
    assertEquals(reporter.errors.length, reported);
    if (reported > 0) assertEquals(reporter.errors[0], [error, "connection"]);
    await server.shutdown();
    await serving;
  });
}
