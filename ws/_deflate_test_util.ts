// Test helpers for the permessage-deflate tests: a small
// `Sec-WebSocket-Extensions` parser, seeded inputs (random, JSON-like,
// adversarial for the 8-bit window), an independent raw-deflate decoder that
// reports how far its matches reach back, and a DeflateParams shorthand.
import type { DeflateParams, ExtensionOffer } from "./permessage_deflate.ts";

// ---------------------------------------------------------------------------
// Helpers

/**
 * A small `Sec-WebSocket-Extensions` parser for the tests (RFC 7692 section 5
 * / RFC 9110 token and quoted-string): elements split on commas,
 * parameters on semicolons, values may be quoted. The real one belongs to
 * the handshake module.
 */
export function parseExtensions(header: string): ExtensionOffer[] {
  const out: ExtensionOffer[] = [];
  let i = 0;
  const n = header.length;
  const ws = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && /[!#$%&'*+.^_`|~0-9A-Za-z-]/.test(header[i]!)) i++;
    if (i === start) throw new SyntaxError(`token expected at ${i} in ${header}`);
    return header.slice(start, i);
  };
  for (;;) {
    ws();
    const name = token();
    const params: Array<[string, string | true]> = [];
    ws();
    while (header[i] === ";") {
      i++;
      ws();
      const p = token();
      ws();
      let value: string | true = true;
      if (header[i] === "=") {
        i++;
        ws();
        if (header[i] === '"') {
          i++;
          let v = "";
          while (i < n && header[i] !== '"') {
            if (header[i] === "\\") i++;
            v += header[i++];
          }
          if (header[i] !== '"') throw new SyntaxError("unterminated quoted-string");
          i++;
          value = v;
        } else {
          value = token();
        }
        ws();
      }
      params.push([p, value]);
    }
    out.push({ name, params });
    if (i >= n) return out;
    if (header[i] !== ",") throw new SyntaxError(`comma expected at ${i} in ${header}`);
    i++;
  }
}

/** A seeded PRNG (mulberry32), so failures replay. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded random bytes: incompressible. */
export function randomBytes(size: number, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (r() * 256) | 0;
  return b;
}

const WORDS = ["id", "name", "value", "true", "false", "null", "user", "text", "time", "room"];

/** JSON-like text: compresses well, with matches at many distances. */
export function jsonLike(size: number, seed: number): Uint8Array {
  const r = rng(seed);
  let s = "";
  while (s.length < size) {
    s += `{"${WORDS[(r() * WORDS.length) | 0]}":${(r() * 100000) | 0},"${
      WORDS[(r() * WORDS.length) | 0]
    }":"${WORDS[(r() * WORDS.length) | 0]}${(r() * 1000) | 0}"},`;
  }
  return new TextEncoder().encode(s.slice(0, size));
}

/**
 * Inputs built to tempt a 9-bit deflater into matches just beyond 250
 * bytes: a random block repeated at periods 240-300, runs, and short
 * random alphabets.
 */
export function adversarial(size: number, seed: number): Uint8Array {
  const r = rng(seed);
  const kind = seed % 4;
  const b = new Uint8Array(size);
  if (kind === 0) {
    const period = 240 + ((r() * 61) | 0);
    const unit = randomBytes(period, seed);
    for (let i = 0; i < size; i++) b[i] = unit[i % period]!;
  } else if (kind === 1) {
    for (let i = 0; i < size; i++) b[i] = (r() * 4) | 0;
  } else if (kind === 2) {
    // random, with a copy of a 3-8 byte string from 251-300 bytes back
    for (let i = 0; i < size; i++) {
      if (i > 300 && r() < 0.3) {
        const back = 251 + ((r() * 50) | 0);
        const len = 3 + ((r() * 6) | 0);
        for (let k = 0; k < len && i < size; k++, i++) b[i] = b[i - back]!;
        i--;
      } else {
        b[i] = (r() * 256) | 0;
      }
    }
  } else {
    const period = 251 + ((r() * 10) | 0);
    for (let i = 0; i < size; i++) b[i] = i % period < 8 ? 0x41 + (i % 7) : (r() * 256) | 0;
  }
  return b;
}

// ---------------------------------------------------------------------------
// An independent raw-deflate decoder (after Mark Adler's puff.c) that also
// reports the farthest distance any match reaches back. It shares no code
// with zlib, so it checks both the bytes and the window bound.

const LBASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LEXT = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
];
const DBASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DEXT = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

interface Huffman {
  count: Int32Array;
  symbol: Int32Array;
}

function huffman(lengths: ArrayLike<number>, n: number): Huffman {
  const count = new Int32Array(16);
  const symbol = new Int32Array(n);
  for (let s = 0; s < n; s++) count[lengths[s]!]!++;
  const offs = new Int32Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len]! + count[len]!;
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]!]!++] = s;
  return { count, symbol };
}

/**
 * The decoder: `feed()` one message (without its sync-flush tail) at a time;
 * `out` keeps everything decoded, `maxDist` the farthest match distance.
 */
export class Walker {
  out = new Uint8Array(1 << 16);
  outLen = 0;
  maxDist = 0;
  #in: Uint8Array = new Uint8Array(0);
  #pos = 0;
  #bitbuf = 0;
  #bitcnt = 0;

  #bits(need: number): number {
    let val = this.#bitbuf;
    while (this.#bitcnt < need) {
      if (this.#pos >= this.#in.length) throw new Error("walker: out of input");
      val |= this.#in[this.#pos++]! << this.#bitcnt;
      this.#bitcnt += 8;
    }
    this.#bitbuf = val >>> need;
    this.#bitcnt -= need;
    return val & ((1 << need) - 1);
  }

  #put(b: number): void {
    if (this.outLen === this.out.length) {
      const next = new Uint8Array(this.out.length * 2);
      next.set(this.out);
      this.out = next;
    }
    this.out[this.outLen++] = b;
  }

  #decode(h: Huffman): number {
    let code = 0, first = 0, index = 0;
    for (let len = 1; len <= 15; len++) {
      code |= this.#bits(1);
      const count = h.count[len]!;
      if (code - count < first) return h.symbol[index + (code - first)]!;
      index += count;
      first += count;
      first <<= 1;
      code <<= 1;
    }
    throw new Error("walker: bad code");
  }

  #codes(lit: Huffman, dist: Huffman): void {
    for (;;) {
      let sym = this.#decode(lit);
      if (sym < 256) {
        this.#put(sym);
      } else if (sym === 256) {
        return;
      } else {
        sym -= 257;
        if (sym >= 29) throw new Error("walker: bad length symbol");
        const len = LBASE[sym]! + this.#bits(LEXT[sym]!);
        const ds = this.#decode(dist);
        if (ds >= 30) throw new Error("walker: bad distance symbol");
        const d = DBASE[ds]! + this.#bits(DEXT[ds]!);
        if (d > this.outLen) throw new Error("walker: distance before the start");
        if (d > this.maxDist) this.maxDist = d;
        for (let k = 0; k < len; k++) this.#put(this.out[this.outLen - d]!);
      }
    }
  }

  /**
   * Decodes one message's bytes (with the sync tail appended) as the
   * continuation of everything fed before (context takeover).
   */
  feed(data: Uint8Array): void {
    const buf = new Uint8Array(data.length + 4);
    buf.set(data);
    buf.set([0, 0, 0xff, 0xff], data.length);
    this.#in = buf;
    this.#pos = 0;
    this.#bitbuf = 0;
    this.#bitcnt = 0;
    while (this.#pos < buf.length) {
      const last = this.#bits(1);
      const type = this.#bits(2);
      if (type === 0) {
        this.#bitbuf = 0;
        this.#bitcnt = 0;
        const len = buf[this.#pos]! | (buf[this.#pos + 1]! << 8);
        const nlen = buf[this.#pos + 2]! | (buf[this.#pos + 3]! << 8);
        if (len !== (~nlen & 0xffff)) throw new Error("walker: bad stored length");
        this.#pos += 4;
        for (let k = 0; k < len; k++) this.#put(buf[this.#pos++]!);
      } else if (type === 1) {
        this.#codes(FIXED_LIT, FIXED_DIST);
      } else if (type === 2) {
        const nlen = this.#bits(5) + 257;
        const ndist = this.#bits(5) + 1;
        const ncode = this.#bits(4) + 4;
        const lengths = new Array<number>(320).fill(0);
        for (let k = 0; k < ncode; k++) lengths[ORDER[k]!] = this.#bits(3);
        const lencode = huffman(lengths, 19);
        let idx = 0;
        const ll = new Array<number>(320).fill(0);
        while (idx < nlen + ndist) {
          const sym = this.#decode(lencode);
          if (sym < 16) ll[idx++] = sym;
          else {
            let len = 0;
            let rep: number;
            if (sym === 16) {
              if (idx === 0) throw new Error("walker: repeat with no length");
              len = ll[idx - 1]!;
              rep = 3 + this.#bits(2);
            } else if (sym === 17) rep = 3 + this.#bits(3);
            else rep = 11 + this.#bits(7);
            while (rep--) ll[idx++] = len;
          }
        }
        this.#codes(huffman(ll, nlen), huffman(ll.slice(nlen), ndist));
      } else {
        throw new Error("walker: invalid block type");
      }
      if (last) throw new Error("walker: unexpected final block");
    }
  }

  take(from: number): Uint8Array {
    return this.out.slice(from, this.outLen);
  }
}

const FIXED_LIT = huffman(
  Array.from({ length: 288 }, (_, s) => s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8),
  288,
);
const FIXED_DIST = huffman(new Array<number>(30).fill(5), 30);

/** Shorthand for agreed parameters, in DeflateParams order. */
export const P = (
  serverNoContextTakeover: boolean,
  clientNoContextTakeover: boolean,
  serverMaxWindowBits: number,
  clientMaxWindowBits: number,
): DeflateParams => ({
  serverNoContextTakeover,
  clientNoContextTakeover,
  serverMaxWindowBits,
  clientMaxWindowBits,
});
