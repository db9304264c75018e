// Test doubles and helpers shared by the tests of every package (other
// packages import this file by relative path; it is not published API).
import type { Reader, Writer } from "./types.ts";

/** A reader that returns the given chunks one per read, then EOF. */
export class ChunkReader implements Reader {
  reads = 0;
  #chunks: Uint8Array[];
  #pending: Uint8Array | null = null;
  constructor(chunks: Uint8Array[]) {
    this.#chunks = chunks.slice();
  }
  read(p: Uint8Array): Promise<number | null> {
    this.reads++;
    let next = this.#pending ?? this.#chunks.shift();
    this.#pending = null;
    if (next === undefined) return Promise.resolve(null);
    if (next.length > p.length) {
      this.#pending = next.subarray(p.length);
      next = next.subarray(0, p.length);
    }
    p.set(next);
    return Promise.resolve(next.length);
  }
}

/** A writer that records every write call and can accept partial writes. */
export class RecordingWriter implements Writer {
  calls: Uint8Array[] = [];
  maxPerWrite: number;
  fail: Error | null = null;
  constructor(maxPerWrite = Infinity) {
    this.maxPerWrite = maxPerWrite;
  }
  write(p: Uint8Array): Promise<number> {
    if (this.fail !== null) return Promise.reject(this.fail);
    const n = Math.min(p.length, this.maxPerWrite);
    this.calls.push(p.slice(0, n));
    return Promise.resolve(n);
  }
  get bytes(): Uint8Array {
    return concat(...this.calls);
  }
}

/** The arrays back to back in a new one. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Splits `data` into pieces at the given cut points. */
export function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    if (c > prev && c < data.length) {
      out.push(data.subarray(prev, c));
      prev = c;
    }
  }
  out.push(data.subarray(prev));
  return out;
}

/** A clock for `Deadlines` that moves only when told to. */
export class ManualClock {
  t = 1_000_000;
  now(): number {
    return this.t;
  }
  /** Moves the clock forward by `ms`. */
  advance(ms: number): void {
    this.t += ms;
  }
}

/** Rejects if `p` does not settle within `ms` (the timer is always cleared). */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// A throwaway certificate for tests and benchmarks over TLS, made at run
// time by openssl (no key material is kept in the repository).

/** A test CA and a leaf certificate for 127.0.0.1 and localhost, in PEM. */
export interface Pem {
  ca: string;
  cert: string;
  key: string;
}

async function openssl(dir: string, args: string[]): Promise<boolean> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  return out.success;
}

/**
 * Makes a CA and a leaf for 127.0.0.1 with Debian's openssl.
 *
 * @returns The PEMs, or `null` if openssl is missing.
 */
export async function makeCertificate(): Promise<Pem | null> {
  const dir = await Deno.makeTempDir({ prefix: "coroio-tls-" });
  try {
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await Deno.writeTextFile(
      `${dir}/ext.cnf`,
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    const steps = [
      [
        "req",
        "-x509",
        ...ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=coroio test CA",
      ],
      ["req", ...ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=localhost"],
      [
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
      ],
    ];
    for (const args of steps) if (!await openssl(dir, args)) return null;
    return {
      ca: await Deno.readTextFile(`${dir}/ca.pem`),
      cert: await Deno.readTextFile(`${dir}/cert.pem`),
      key: await Deno.readTextFile(`${dir}/key.pem`),
    };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
