// req.signal when the client goes away while the handler waits, over real
// loopback sockets: @coroio/http's HttpRequest.signal, @coroio/serve's
// Request.signal, and Deno.serve's for comparison. Also that watching does
// not disturb keep-alive and pipelined requests on the same connection.
import {
  type HttpRequest,
  type HttpResponse,
  HttpServer,
  type Takeover,
  type UpgradeTarget,
} from "@coroio/http";
import { serve } from "@coroio/serve";
import { deepStrictEqual, strictEqual } from "node:assert/strict";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** How the handler uses the request before it waits on the signal. */
type Use = "nothing" | "read body" | "signal then body";

interface Watched {
  /** Resolves with the abort reason's name once the handler saw the abort. */
  aborted: Promise<string>;
  port: number;
  stop(): Promise<void>;
}

/** Races `p` against a timer that is always cleared. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function waitAbort(signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve((signal.reason as Error).name);
    else {
      signal.addEventListener("abort", () => resolve((signal.reason as Error).name), {
        once: true,
      });
    }
  });
}

/** A server of each kind whose handler waits for its request's signal. */

const LISTEN = { hostname: "127.0.0.1", port: 0, onListen() {} };

/** The Fetch-API handler both `serve()` and `Deno.serve` run: uses the body and signal as `use` says. */
function fetchHandler(use: Use, aborted: PromiseWithResolvers<string>) {
  return async (req: Request): Promise<Response> => {
    if (use === "read body") await req.text();
    const signal = req.signal;
    if (use === "signal then body") await req.text();
    aborted.resolve(await waitAbort(signal));
    return new Response("late");
  };
}

const KINDS: Record<string, (use: Use) => Watched> = {
  HttpServer(use) {
    const aborted = Promise.withResolvers<string>();
    const handler = {
      async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
        if (use === "read body") await req.body.bytes();
        const signal = req.signal;
        if (use === "signal then body") await req.body.bytes();
        aborted.resolve(await waitAbort(signal));
        res.send("late");
      },
    };
    const server = new HttpServer(handler, { hostname: "127.0.0.1", port: 0 });
    const { port } = server.listen();
    return { aborted: aborted.promise, port, stop: () => server.shutdown() };
  },
  serve(use) {
    const aborted = Promise.withResolvers<string>();
    const server = serve(LISTEN, fetchHandler(use, aborted));
    return { aborted: aborted.promise, port: server.addr.port, stop: () => server.shutdown() };
  },
  "Deno.serve"(use) {
    const aborted = Promise.withResolvers<string>();
    const server = Deno.serve(LISTEN, fetchHandler(use, aborted));
    return { aborted: aborted.promise, port: server.addr.port, stop: () => server.shutdown() };
  },
};

const REQUESTS: [Use, string][] = [
  ["nothing", "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n"],
  ["read body", "POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"],
  [
    "signal then body",
    "POST /wait HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  ],
];

for (const [kind, start] of Object.entries(KINDS)) {
  for (const [use, request] of REQUESTS) {
    Deno.test(`${kind} req.signal aborts when the client closes while the handler waits (${use})`, async () => {
      const server = start(use);
      try {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
        await conn.write(enc.encode(request));
        // Give the handler the request before the client leaves.
        await new Promise((r) => setTimeout(r, 50));
        conn.close();
        strictEqual(await within(server.aborted, 5000, "signal aborted"), "AbortError");
      } finally {
        await server.stop();
      }
    });
  }
}

/** Reads from `conn` until `text` holds `count` responses ending in their bodies. */
async function readResponses(conn: Deno.Conn, bodies: string[]): Promise<string> {
  let text = "";
  const buf = new Uint8Array(4096);
  while (!bodies.every((b) => text.includes(b))) {
    const n = await conn.read(buf);
    if (n === null) break;
    text += dec.decode(buf.subarray(0, n));
  }
  return text;
}

/** A server of each kind whose `/watch` handler reads the signal and waits for `release`. */
function pipelineServer(kind: "HttpServer" | "serve") {
  const entered = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const signals: AbortSignal[] = [];
  const answer = async (path: string, signal: () => AbortSignal): Promise<string> => {
    if (path === "/watch") {
      signals.push(signal());
      entered.resolve();
      await release.promise;
      return `watched aborted=${signals.at(-1)!.aborted}`;
    }
    return `plain ${path}`;
  };
  if (kind === "HttpServer") {
    const server = new HttpServer({
      async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
        res.send(await answer(req.path, () => req.signal));
      },
    }, { hostname: "127.0.0.1", port: 0 });
    const { port } = server.listen();
    return { port, entered, release, stop: () => server.shutdown() };
  }
  const server = serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => new Response(await answer(new URL(req.url).pathname, () => req.signal)),
  );
  return { port: server.addr.port, entered, release, stop: () => server.shutdown() };
}

for (const kind of ["HttpServer", "serve"] as const) {
  Deno.test(`${kind} req.signal watching keeps pipelined requests that arrive meanwhile, in order`, async () => {
    const s = pipelineServer(kind);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    try {
      await conn.write(enc.encode("GET /watch HTTP/1.1\r\nHost: x\r\n\r\n"));
      await within(s.entered.promise, 5000, "handler entered");
      // These arrive while the watch's read is pending: they land in the
      // connection's buffer and are served after /watch.
      await conn.write(enc.encode(
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
      ));
      await new Promise((r) => setTimeout(r, 50));
      s.release.resolve();
      const text = await within(
        readResponses(conn, ["watched aborted=false", "plain /a", "plain /b"]),
        5000,
        "three responses",
      );
      const order = ["watched aborted=false", "plain /a", "plain /b"].map((b) => text.indexOf(b));
      deepStrictEqual(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!)), true);
    } finally {
      conn.close();
      await s.stop();
    }
  });

  Deno.test(`${kind} req.signal watching leaves the connection usable for the next request`, async () => {
    const s = pipelineServer(kind);
    s.release.resolve();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    try {
      // The watch's read is still pending when the response is done; the
      // next request must come through it.
      for (const path of ["/watch", "/next", "/watch", "/last"]) {
        await conn.write(enc.encode(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
        const want = path === "/watch" ? "watched aborted=false" : `plain ${path}`;
        const text = await within(readResponses(conn, [want]), 5000, path);
        strictEqual(text.includes(want), true, text);
        strictEqual(text.includes("Connection: close"), false, text);
      }
    } finally {
      conn.close();
      await s.stop();
    }
  });
}

Deno.test("HttpServer req.signal closes the connection after the response once the client left", async () => {
  const server = new HttpServer({
    async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
      await waitAbort(req.signal);
      res.send("late");
    },
  }, { hostname: "127.0.0.1", port: 0 });
  const { port } = server.listen();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await new Promise((r) => setTimeout(r, 50));
    // Half-close: the server sees the end of the stream and may still answer.
    await conn.closeWrite();
    const text = await within(readResponses(conn, ["late"]), 5000, "the response");
    strictEqual(text.includes("Connection: close"), true, text);
    conn.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("HttpServer req.signal watching leaves a borrowed body intact while the next request arrives", async () => {
  const entered = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const server = new HttpServer({
    async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
      if (req.path !== "/borrow") {
        res.send(`plain ${req.path}`);
        return;
      }
      const body = await req.body.borrow(); // a view of the connection's buffer
      void req.signal; // the watch reads while the view is held
      entered.resolve();
      await release.promise;
      res.send(dec.decode(body));
    },
  }, { hostname: "127.0.0.1", port: 0 });
  const { port } = server.listen();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      enc.encode("POST /borrow HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"),
    );
    await within(entered.promise, 5000, "handler entered");
    await conn.write(enc.encode(`GET /${"z".repeat(80)} HTTP/1.1\r\nHost: x\r\n\r\n`));
    await new Promise((r) => setTimeout(r, 50));
    release.resolve();
    const text = await within(
      readResponses(conn, ["hello world", "plain /zzz"]),
      5000,
      "both responses",
    );
    strictEqual(text.includes("\r\n\r\nhello world"), true, text);
  } finally {
    conn.close();
    await server.shutdown();
  }
});

Deno.test("HttpServer req.signal asked after the response is a signal that does not abort", async () => {
  const kept: HttpRequest[] = [];
  const server = new HttpServer({
    handle(req: HttpRequest, res: HttpResponse): void {
      kept.push(req);
      res.send("ok");
    },
  }, { hostname: "127.0.0.1", port: 0 });
  const { port } = server.listen();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc.encode("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"));
    await within(readResponses(conn, ["ok"]), 5000, "first response");
    // The first request is over; its connection waits for the next one.
    const late = kept[0]!.signal;
    await conn.write(enc.encode("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"));
    await within(readResponses(conn, ["ok"]), 5000, "second response");
    conn.close();
    await new Promise((r) => setTimeout(r, 50));
    strictEqual(late.aborted, false);
    strictEqual(kept.length, 2);
  } finally {
    await server.shutdown();
  }
});

Deno.test("HttpServer req.signal aborts when the server shuts down, before the shutdown timeout", async () => {
  const entered = Promise.withResolvers<void>();
  let reason = "";
  const server = new HttpServer({
    async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
      const signal = req.signal;
      entered.resolve();
      reason = await waitAbort(signal);
      res.send("bye");
    },
  }, { hostname: "127.0.0.1", port: 0, shutdownTimeout: 30000 });
  const { port } = server.listen();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await within(entered.promise, 5000, "handler entered");
    // Bounded well below shutdownTimeout: the signal ends the handler.
    await within(server.shutdown(), 5000, "shutdown");
    strictEqual(reason, "AbortError");
    const text = await within(readResponses(conn, ["bye"]), 5000, "the response");
    strictEqual(text.includes("bye"), true, text);
  } finally {
    conn.close();
  }
});

Deno.test("HttpServer req.signal watching many keep-alive requests does not grow the read buffer", async () => {
  // Every read the server makes, by buffer size: the watch once asked for
  // one byte more than the buffer held, doubling it per watched request.
  const sizes: number[] = [];
  const inner = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accept = async (): Promise<Deno.Conn> => {
    const conn = await inner.accept();
    const read = conn.read.bind(conn);
    conn.read = (p: Uint8Array) => {
      sizes.push(p.byteLength);
      return read(p);
    };
    return conn;
  };
  const listener = {
    get addr() {
      return inner.addr;
    },
    accept,
    close: () => inner.close(),
    ref: () => inner.ref(),
    unref: () => inner.unref(),
    [Symbol.asyncIterator]() {
      return { next: async () => ({ value: await accept(), done: false as const }) };
    },
    [Symbol.dispose]: () => inner.close(),
  } as unknown as Deno.Listener;
  const server = new HttpServer({
    async handle(req: HttpRequest, res: HttpResponse): Promise<void> {
      await req.body.bytes();
      req.signal; // watch: one read pending while the handler waits
      await new Promise((r) => setTimeout(r, 1));
      res.send("ok");
    },
  });
  const serving = server.serve(listener);
  const conn = await Deno.connect({
    hostname: "127.0.0.1",
    port: (inner.addr as Deno.NetAddr).port,
  });
  try {
    const body = "x".repeat(1000);
    const request = enc.encode(
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    for (let i = 0; i < 40; i++) {
      await conn.write(request);
      await within(readResponses(conn, ["ok"]), 5000, `response ${i}`);
    }
    strictEqual(Math.max(...sizes) <= 64 * 1024, true, `read sizes up to ${Math.max(...sizes)}`);
  } finally {
    conn.close();
    await server.shutdown();
    await serving;
  }
});

Deno.test("HttpServer req.signal then a takeover of a plain request is a 500, not a hang", async () => {
  const target: UpgradeTarget = {
    protocol: "raw",
    async upgrade({ conn }: Takeover): Promise<null> {
      await conn.write(enc.encode("HELLO FROM TARGET\n"));
      conn.close();
      return null;
    },
  };
  const errors: unknown[] = [];
  const server = new HttpServer({
    handle(req: HttpRequest): UpgradeTarget {
      req.signal; // a read stays pending on the connection
      return target;
    },
  }, {
    hostname: "127.0.0.1",
    port: 0,
    errorReporter: { report: (err: unknown) => void errors.push(err) },
  });
  const { port } = server.listen();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(enc.encode("GET /raw HTTP/1.1\r\nHost: x\r\n\r\n"));
    const text = await within(readResponses(conn, ["\r\n\r\n"]), 5000, "an answer");
    strictEqual(text.startsWith("HTTP/1.1 500 "), true, text);
    strictEqual(errors.some((e) => e instanceof TypeError && /req\.signal/.test(e.message)), true);
  } finally {
    conn.close();
    await server.shutdown();
  }
});
