// Test helpers for the serve package: run one fetch handler under
// Deno.serve and under serve(), and snapshot responses for comparison.
import { serve, type Server } from "./serve.ts";

/** Both servers of a parity test. */
export interface Pair {
  ours: Server;
  deno: Deno.HttpServer<Deno.NetAddr>;
  /** `http://127.0.0.1:port` of each. */
  base: { ours: string; deno: string };
}

/** Starts `handlers.ours` under serve() and `handlers.deno` under Deno.serve. */
export function startPair(
  ours: (req: Request) => Response | Promise<Response>,
  deno: (req: Request) => Response | Promise<Response>,
): Pair {
  const a = serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, ours);
  const b = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, deno);
  return {
    ours: a,
    deno: b,
    base: { ours: `http://127.0.0.1:${a.addr.port}`, deno: `http://127.0.0.1:${b.addr.port}` },
  };
}

/** Stops both servers. */
export async function stopPair(p: Pair): Promise<void> {
  await Promise.all([p.ours.shutdown(), p.deno.shutdown()]);
}

/** What a test compares of a response. */
export interface Snapshot {
  status: number;
  headers: [string, string][];
  body: string;
}

// Fields that legitimately differ between two servers: framing, and
// `Connection: close`, which @coroio/http sends after a response it started
// while the request body was still being read (an echo that streams the body
// back); Deno.serve keeps that connection open.
const VOLATILE = new Set(["date", "content-length", "transfer-encoding", "vary", "connection"]);

/** Fetches and reduces the response to what both servers must agree on. */
export async function snapshot(url: string, init?: RequestInit): Promise<Snapshot> {
  const res = await fetch(url, { redirect: "manual", ...init });
  const headers = [...res.headers].filter(([k]) => !VOLATILE.has(k));
  const vary = res.headers.get("vary");
  if (vary !== null) {
    headers.push(["vary", vary.split(/\s*,\s*/).map((s) => s.toLowerCase()).sort().join(", ")]);
  }
  headers.sort((x, y) => x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0);
  return { status: res.status, headers, body: await res.text() };
}

/** Races `p` against a timer; the timer is always cleared. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([p, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sends raw bytes and reads until the peer closes or `done(text)` holds. */
export async function rawExchange(
  port: number,
  request: string,
  done: (text: string) => boolean = () => false,
): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    let text = "";
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      if (done(text)) break;
    }
    return text;
  } finally {
    conn.close();
  }
}
