// Property tests: random messages, fragmentation and TCP splits round-trip
// exactly; random mutations of valid streams never escape the parser or the
// session and always end with the connection closed.
import { deepStrictEqual as deepEqual, ok, strictEqual as equal } from "node:assert/strict";
import fc from "npm:fast-check@4.10.2";
import { buildFrame } from "./frame_builder.ts";
import { FrameParser, type FrameSink } from "./frame_parser.ts";
import { WebSocketError } from "./errors.ts";
import { concat } from "../core/_test_util.ts";
import { EchoHandler, type Event, RawClient, withServer, withTimeout } from "./_test_util.ts";

type Msg = string | Uint8Array;

const message: fc.Arbitrary<Msg> = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 50 }),
  fc.uint8Array({ maxLength: 600 }),
  fc.constantFrom<Msg>("", new Uint8Array(0), "x".repeat(70000)),
);

/** A message as frames: split at random byte positions (text may split inside a character), pings in between. */
const framed = fc.record({
  msg: message,
  cuts: fc.array(fc.nat(), { maxLength: 4 }),
  pingAt: fc.option(fc.nat(), { nil: undefined }),
});

function frames(
  m: { msg: Msg; cuts: number[]; pingAt: number | undefined },
  mask: boolean,
): Uint8Array[] {
  const bytes = typeof m.msg === "string" ? new TextEncoder().encode(m.msg) : m.msg;
  const points = [...new Set(m.cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const bounds = [0, ...points, bytes.length];
  const out: Uint8Array[] = [];
  const n = bounds.length - 1;
  for (let i = 0; i < n; i++) {
    const op = i === 0 ? (typeof m.msg === "string" ? 1 : 2) : 0;
    out.push(
      buildFrame(op, bytes.subarray(bounds[i]!, bounds[i + 1]!), { fin: i === n - 1, mask }),
    );
    if (m.pingAt !== undefined && m.pingAt % n === i && i < n - 1) {
      out.push(buildFrame(9, new TextEncoder().encode("p"), { mask }));
    }
  }
  return out;
}

function splits(total: number, cuts: number[]): number[] {
  return [...new Set(cuts.map((c) => c % (total + 1)))].sort((a, b) => a - b);
}

class Collect implements FrameSink {
  messages: Msg[] = [];
  pings = 0;
  closed = false;
  onMessage(d: Msg): void {
    this.messages.push(d);
  }
  onPing(): void {
    this.pings++;
  }
  onPong(): void {}
  onClose(): void {
    this.closed = true;
  }
}

function feedAll(input: Uint8Array, cuts: number[], sink: FrameSink): void {
  const parser = new FrameParser(sink, { role: "server" });
  let pending = new Uint8Array(0);
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    const piece = input.subarray(from, cut);
    from = cut;
    const buf = new Uint8Array(pending.length + piece.length);
    buf.set(pending);
    buf.set(piece, pending.length);
    pending = buf.slice(parser.feed(buf));
  }
}

Deno.test("FrameParser.feed() round-trips random messages, fragmentation and splits", () => {
  fc.assert(
    fc.property(
      fc.array(framed, { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (msgs, cuts) => {
        const stream = concat(...msgs.flatMap((m) => frames(m, true)));
        const sink = new Collect();
        feedAll(stream, splits(stream.length, cuts), sink);
        deepEqual(sink.messages, msgs.map((m) => m.msg));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("FrameParser.feed() throws nothing but WebSocketError on mutated streams", () => {
  fc.assert(
    fc.property(
      fc.array(framed, { minLength: 1, maxLength: 4 }),
      fc.array(
        fc.tuple(
          fc.nat(),
          fc.integer({ min: 0, max: 255 }),
          fc.constantFrom("set", "insert", "delete"),
        ),
        {
          minLength: 1,
          maxLength: 6,
        },
      ),
      fc.array(fc.nat(), { maxLength: 6 }),
      (msgs, mutations, cuts) => {
        const bytes = [...concat(...msgs.flatMap((m) => frames(m, true)))];
        for (const [at, value, kind] of mutations) {
          const i = at % (bytes.length + 1);
          if (kind === "set" && i < bytes.length) bytes[i] = value;
          else if (kind === "insert") bytes.splice(i, 0, value);
          else if (kind === "delete") bytes.splice(i, 1);
        }
        const stream = new Uint8Array(bytes);
        try {
          feedAll(stream, splits(stream.length, cuts), new Collect());
        } catch (err) {
          ok(err instanceof WebSocketError, `unexpected ${err}`);
          ok([1002, 1007, 1009].includes(err.closeCode), `close code ${err.closeCode}`);
        }
      },
    ),
    { numRuns: 1000 },
  );
});

/** Writes `stream` cut at `cuts`, one write per piece, yielding between writes. */
async function writePieces(c: RawClient, stream: Uint8Array, cuts: number[]): Promise<void> {
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    if (cut > from) await c.write(stream.subarray(from, cut));
    from = cut;
    await new Promise((r) => setTimeout(r, 0));
  }
}

Deno.test("WebSocketServer round-trips random messages, fragmentation and TCP splits over TCP", async () => {
  await withServer(async (f) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(framed, { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (msgs, cuts) => {
          const c = await RawClient.open(f.port);
          try {
            c.conn.setNoDelay(true);
            const stream = concat(...msgs.flatMap((m) => frames(m, true)));
            await writePieces(c, stream, splits(stream.length, cuts));
            const got: Msg[] = [];
            while (got.length < msgs.length) {
              const e: Event = await c.next(3000);
              if (e.type === "text" || e.type === "binary") got.push(e.data);
              else if (e.type !== "pong") throw new Error(`unexpected ${JSON.stringify(e)}`);
            }
            deepEqual(got, msgs.map((m) => m.msg));
          } finally {
            c.close();
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});

Deno.test("WebSocketServer always ends a session fed a mutated stream, with the TCP closed", async () => {
  const handler = new EchoHandler();
  await withServer(
    async (f) => {
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(framed, { minLength: 1, maxLength: 3 }),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 4,
          }),
          fc.array(fc.nat(), { maxLength: 4 }),
          async (msgs, mutations, cuts) => {
            runs++;
            const stream = concat(...msgs.flatMap((m) => frames(m, true)));
            for (const [at, value] of mutations) stream[at % stream.length] = value;
            const c = await RawClient.open(f.port);
            try {
              await writePieces(c, stream, splits(stream.length, cuts));
              // Half-close: a stream that is merely incomplete now ends too.
              await c.conn.closeWrite();
              await withTimeout(c.expectEof(3000), 4000, "server closes the connection");
            } finally {
              c.close();
            }
            const end = Date.now() + 2000;
            while (handler.closes.length < runs && Date.now() < end) {
              await new Promise((r) => setTimeout(r, 2));
            }
            equal(handler.closes.length, runs, "onClose called once per session");
          },
        ),
        { numRuns: 60 },
      );
      for (const e of handler.errors) ok(e instanceof WebSocketError);
    },
    {},
    handler,
  );
});
