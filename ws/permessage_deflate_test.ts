import { deepStrictEqual as deepEqual, ok, strictEqual as equal, throws } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { deflateRawSync } from "node:zlib";
// npm ws: a second implementation for byte interop and its header formatter.
import { extension as wsExtension, PerMessageDeflate as WsPerMessageDeflate } from "npm:ws@8.23.0";
// pako: a zlib port in plain JavaScript, a third implementation sharing no
// code with Deno's zlib-ng.
import pako from "npm:pako@2.1.0";
import {
  type ClientDeflateOptions,
  clientOffer,
  closeSharedDeflaters,
  deflateCount,
  DeflateNegotiationError,
  type DeflateParams,
  type ExtensionOffer,
  liveStreams,
  negotiateClient,
  negotiateServer,
  PerMessageDeflate,
  type PerMessageDeflateOptions,
} from "./permessage_deflate.ts";
import { RawDeflater } from "./_zlib.ts";

// ---------------------------------------------------------------------------
// Helpers

/**
 * A small `Sec-WebSocket-Extensions` parser for the tests (RFC 7692 section 5
 * / RFC 9110 token and quoted-string): elements split on commas,
 * parameters on semicolons, values may be quoted. The real one belongs to
 * the handshake module.
 */
function parseExtensions(header: string): ExtensionOffer[] {
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
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(size: number, seed: number): Uint8Array {
  const r = rng(seed);
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (r() * 256) | 0;
  return b;
}

const WORDS = ["id", "name", "value", "true", "false", "null", "user", "text", "time", "room"];

/** JSON-like text: compresses well, with matches at many distances. */
function jsonLike(size: number, seed: number): Uint8Array {
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
function adversarial(size: number, seed: number): Uint8Array {
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

class Walker {
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

const P = (
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

// ---------------------------------------------------------------------------
// Negotiation

Deno.test("parseExtensions() (test helper) reads tokens, parameters and quoted values", () => {
  deepEqual(parseExtensions('permessage-deflate; client_max_window_bits="10" , x; a=b'), [
    { name: "permessage-deflate", params: [["client_max_window_bits", "10"]] },
    { name: "x", params: [["a", "b"]] },
  ]);
  throws(() => parseExtensions("permessage-deflate; ="), SyntaxError);
});

const SERVER_CASES: Array<{
  what: string;
  header: string;
  options?: PerMessageDeflateOptions;
  response: string | null;
  params?: DeflateParams;
}> = [
  {
    what: "Firefox's bare offer: no client_max_window_bits, inflate with 15 bits",
    header: "permessage-deflate",
    response: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "Chrome's offer in shared mode",
    header: "permessage-deflate; client_max_window_bits",
    response: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "Chrome's offer in dedicated mode",
    header: "permessage-deflate; client_max_window_bits",
    options: { mode: "dedicated" },
    response: "permessage-deflate",
    params: P(false, false, 15, 15),
  },
  {
    what: "a valueless client_max_window_bits lets the server pick",
    header: "permessage-deflate; client_max_window_bits",
    options: { mode: "dedicated", clientMaxWindowBits: 10 },
    response: "permessage-deflate; client_max_window_bits=10",
    params: P(false, false, 15, 10),
  },
  {
    what: "a client window the server may not answer when the offer has none",
    header: "permessage-deflate",
    options: { mode: "dedicated", clientMaxWindowBits: 10 },
    response: "permessage-deflate",
    params: P(false, false, 15, 15),
  },
  {
    what: "a quoted client_max_window_bits value",
    header: 'permessage-deflate; client_max_window_bits="10"',
    options: { mode: "dedicated" },
    response: "permessage-deflate; client_max_window_bits=10",
    params: P(false, false, 15, 10),
  },
  {
    what: "the answer's client window is the smaller of offer and option",
    header: "permessage-deflate; client_max_window_bits=12",
    options: { mode: "dedicated", clientMaxWindowBits: 9 },
    response: "permessage-deflate; client_max_window_bits=9",
    params: P(false, false, 15, 9),
  },
  {
    what: "a quoted server_max_window_bits value",
    header: 'permessage-deflate; server_max_window_bits="12"',
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_max_window_bits=12",
    params: P(false, false, 12, 15),
  },
  {
    what: "server_max_window_bits=8 is accepted (9-bit zlib fits a 256-byte window)",
    header: "permessage-deflate; server_max_window_bits=8",
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_max_window_bits=8",
    params: P(false, false, 8, 15),
  },
  {
    what: "Autobahn 13.5: no context takeover and an 8-bit window",
    header: "permessage-deflate; client_no_context_takeover; server_max_window_bits=8",
    response:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
    params: P(true, true, 8, 15),
  },
  {
    what: "the server's own smaller window is stated even when not asked",
    header: "permessage-deflate",
    options: { mode: "dedicated", serverMaxWindowBits: 11 },
    response: "permessage-deflate; server_max_window_bits=11",
    params: P(false, false, 11, 15),
  },
  {
    what: "a smaller server option wins over the offer",
    header: "permessage-deflate; server_max_window_bits=13",
    options: { mode: "dedicated", serverMaxWindowBits: 10 },
    response: "permessage-deflate; server_max_window_bits=10",
    params: P(false, false, 10, 15),
  },
  {
    what: "server_no_context_takeover asked by the client is echoed (dedicated)",
    header: "permessage-deflate; server_no_context_takeover",
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "client_no_context_takeover offered is echoed",
    header: "permessage-deflate; client_no_context_takeover",
    options: { mode: "dedicated" },
    response: "permessage-deflate; client_no_context_takeover",
    params: P(false, true, 15, 15),
  },
  {
    what: "client_no_context_takeover asked by the server option",
    header: "permessage-deflate",
    options: { mode: "dedicated", clientNoContextTakeover: true },
    response: "permessage-deflate; client_no_context_takeover",
    params: P(false, true, 15, 15),
  },
  {
    what: "serverNoContextTakeover option in dedicated mode",
    header: "permessage-deflate",
    options: { mode: "dedicated", serverNoContextTakeover: true },
    response: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "the autobahn client's default offer",
    header: "permessage-deflate; client_no_context_takeover; client_max_window_bits",
    response: "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
    params: P(true, true, 15, 15),
  },
  {
    what: "all four parameters",
    header:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
    options: { mode: "dedicated" },
    response:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11",
    params: P(true, true, 10, 11),
  },
  {
    what: "parameter names are case-insensitive",
    header: "Permessage-Deflate; Server_Max_Window_Bits=10",
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_max_window_bits=10",
    params: P(false, false, 10, 15),
  },
  {
    what: "offers are tried in order: the first acceptable wins",
    header: "permessage-deflate; server_max_window_bits=10, permessage-deflate",
    options: { mode: "dedicated" },
    response: "permessage-deflate; server_max_window_bits=10",
    params: P(false, false, 10, 15),
  },
  {
    what: "Autobahn 13.7's offer list",
    header:
      "permessage-deflate; client_no_context_takeover; server_max_window_bits=8, permessage-deflate; client_no_context_takeover, permessage-deflate",
    response:
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8",
    params: P(true, true, 8, 15),
  },
  {
    what: "another extension first is skipped",
    header: "x-webkit-deflate-frame, permessage-deflate",
    options: { mode: "dedicated" },
    response: "permessage-deflate",
    params: P(false, false, 15, 15),
  },
  { what: "no permessage-deflate offer", header: "x-webkit-deflate-frame", response: null },
  {
    what: "an unknown parameter declines the offer",
    header: "permessage-deflate; foo",
    response: null,
  },
  {
    what: "an unknown parameter declines only its offer",
    header: "permessage-deflate; foo=1, permessage-deflate; client_max_window_bits=9",
    options: { mode: "dedicated" },
    response: "permessage-deflate; client_max_window_bits=9",
    params: P(false, false, 15, 9),
  },
  {
    what: "a duplicate server_no_context_takeover",
    header: "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    response: null,
  },
  {
    what: "a duplicate client_max_window_bits (with and without value)",
    header: "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
    response: null,
  },
  {
    what: "a duplicate server_max_window_bits",
    header: "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
    response: null,
  },
  {
    what: "server_max_window_bits=7",
    header: "permessage-deflate; server_max_window_bits=7",
    response: null,
  },
  {
    what: "server_max_window_bits=16",
    header: "permessage-deflate; server_max_window_bits=16",
    response: null,
  },
  {
    what: "a leading zero",
    header: "permessage-deflate; server_max_window_bits=09",
    response: null,
  },
  {
    what: "server_max_window_bits without a value",
    header: "permessage-deflate; server_max_window_bits",
    response: null,
  },
  {
    what: "client_max_window_bits=16",
    header: 'permessage-deflate; client_max_window_bits="16"',
    response: null,
  },
  {
    what: "client_max_window_bits with a non-number",
    header: "permessage-deflate; client_max_window_bits=abc",
    response: null,
  },
  {
    what: "a value on server_no_context_takeover",
    header: "permessage-deflate; server_no_context_takeover=1",
    response: null,
  },
  {
    what: "a value on client_no_context_takeover",
    header: 'permessage-deflate; client_no_context_takeover="x"',
    response: null,
  },
];

for (const c of SERVER_CASES) {
  Deno.test(`negotiateServer() ${c.what}`, () => {
    const result = negotiateServer(parseExtensions(c.header), c.options);
    if (c.response === null) {
      equal(result, null);
      return;
    }
    ok(result !== null);
    equal(result.response, c.response);
    deepEqual(result.params, c.params);
    // The answer is one element that parses back to the same parameters.
    equal(parseExtensions(result.response).length, 1);
  });
}

Deno.test("negotiateServer() with no offers accepts nothing", () => {
  equal(negotiateServer([]), null);
});

Deno.test("negotiateServer() rejects options out of range", () => {
  for (
    const options of [
      { serverMaxWindowBits: 7 },
      { serverMaxWindowBits: 16 },
      { clientMaxWindowBits: 7 },
      { level: 10 },
      { memLevel: 0 },
      { threshold: -1 },
      { maxCompressSize: -1 },
      { mode: "none" as "shared" },
    ]
  ) {
    throws(
      () => negotiateServer([{ name: "permessage-deflate", params: [] }], options),
      RangeError,
    );
  }
});

Deno.test("clientOffer() builds the offers", () => {
  const cases: Array<[ClientDeflateOptions, string]> = [
    [{}, "permessage-deflate; client_max_window_bits"],
    [{ clientMaxWindowBits: 10 }, "permessage-deflate; client_max_window_bits=10"],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9 },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits",
    ],
  ];
  for (const [options, offer] of cases) equal(clientOffer(options), offer);
  throws(() => clientOffer({ serverMaxWindowBits: 16 }), RangeError);
});

const CLIENT_CASES: Array<{
  what: string;
  answer: string;
  options?: ClientDeflateOptions;
  params?: DeflateParams | null;
}> = [
  { what: "no header: nothing agreed", answer: "", params: null },
  {
    what: "a bare answer",
    answer: "permessage-deflate",
    params: P(false, false, 15, 15),
  },
  {
    what: "the server's shared-mode answer",
    answer: "permessage-deflate; server_no_context_takeover",
    params: P(true, false, 15, 15),
  },
  {
    what: "the server limits the client window",
    answer: "permessage-deflate; client_max_window_bits=9",
    params: P(false, false, 15, 9),
  },
  {
    what: "the server states its smaller window unasked",
    answer: "permessage-deflate; server_max_window_bits=10",
    params: P(false, false, 10, 15),
  },
  {
    what: "client_no_context_takeover may be demanded by the server",
    answer: "permessage-deflate; client_no_context_takeover",
    params: P(false, true, 15, 15),
  },
  {
    what: "an asked server window answered with less",
    answer: "permessage-deflate; server_max_window_bits=8",
    options: { serverMaxWindowBits: 10 },
    params: P(false, false, 8, 15),
  },
  {
    what: "an offered client window is kept when the answer has none",
    answer: "permessage-deflate",
    options: { clientMaxWindowBits: 11 },
    params: P(false, false, 15, 11),
  },
  { what: "an extension not offered", answer: "x-webkit-deflate-frame" },
  { what: "two elements", answer: "permessage-deflate, permessage-deflate" },
  { what: "an unknown parameter", answer: "permessage-deflate; foo" },
  {
    what: "a repeated parameter",
    answer: "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
  },
  { what: "server window out of range", answer: "permessage-deflate; server_max_window_bits=16" },
  { what: "client window without value", answer: "permessage-deflate; client_max_window_bits" },
  {
    what: "client window above the offered one",
    answer: "permessage-deflate; client_max_window_bits=12",
    options: { clientMaxWindowBits: 10 },
  },
  {
    what: "server window above the asked one",
    answer: "permessage-deflate; server_max_window_bits=12",
    options: { serverMaxWindowBits: 10 },
  },
  {
    what: "an asked server window not answered",
    answer: "permessage-deflate",
    options: { serverMaxWindowBits: 10 },
  },
  {
    what: "server_no_context_takeover asked and not granted",
    answer: "permessage-deflate",
    options: { serverNoContextTakeover: true },
  },
];

for (const c of CLIENT_CASES) {
  Deno.test(`negotiateClient() ${c.params === undefined ? "fails on" : "accepts"} ${c.what}`, () => {
    const answer = c.answer === "" ? [] : parseExtensions(c.answer);
    if (c.params === undefined) {
      throws(() => negotiateClient(answer, c.options), DeflateNegotiationError);
    } else {
      deepEqual(negotiateClient(answer, c.options), c.params);
    }
  });
}

Deno.test("negotiateClient() accepts every answer negotiateServer() gives to clientOffer()", () => {
  const offers: ClientDeflateOptions[] = [
    {},
    { clientMaxWindowBits: 12 },
    { serverNoContextTakeover: true },
    { serverMaxWindowBits: 8, clientNoContextTakeover: true },
  ];
  const servers: PerMessageDeflateOptions[] = [
    {},
    { mode: "dedicated" },
    { mode: "dedicated", serverMaxWindowBits: 10, clientMaxWindowBits: 9 },
    { clientNoContextTakeover: true },
  ];
  for (const offer of offers) {
    for (const server of servers) {
      const accepted = negotiateServer(parseExtensions(clientOffer(offer)), server);
      ok(accepted !== null);
      deepEqual(negotiateClient(parseExtensions(accepted.response), offer), accepted.params);
    }
  }
});

// ---------------------------------------------------------------------------
// Round trips and the window bound

const SIZES = [0, 1, 16, 64, 125, 126, 256, 1024, 4096, 16384, 65535, 65536, 65537, 131072];

for (const mode of ["shared", "dedicated"] as const) {
  for (const window of [8, 9, 12, 15]) {
    Deno.test(`PerMessageDeflate.compress() round trips 0-128 KiB in ${mode} mode, window ${window}`, () => {
      const params = P(mode === "shared", false, window, window);
      const server = new PerMessageDeflate(params, { mode, threshold: 0 });
      const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
      const walker = new Walker();
      try {
        for (const size of SIZES) {
          for (const data of [jsonLike(size, size), randomBytes(size, size + 1)]) {
            const packed = server.compress(data);
            deepEqual(client.decompress(packed, 1 << 20), data, `size ${size}`);
            // The independent decoder agrees on the bytes and on the window.
            const from = walker.outLen;
            walker.feed(packed);
            deepEqual(walker.take(from), data, `walker, size ${size}`);
            // and the other way
            deepEqual(server.decompress(client.compress(data), 1 << 20), data);
          }
        }
        ok(
          walker.maxDist <= (1 << Math.max(window, 9)) - 262,
          `max distance ${walker.maxDist} for window ${window}`,
        );
      } finally {
        server.close();
        client.close();
      }
    });
  }
}

Deno.test("PerMessageDeflate.compress() with an 8-bit window never reaches back more than 250 bytes", () => {
  // Every level, several memLevels and strategies, random and adversarial
  // inputs, one message at a time and as a context-takeover sequence: each
  // match the deflater emits is checked by the independent decoder.
  let checked = 0;
  let farthest = 0;
  for (let level = 1; level <= 9; level++) {
    for (const memLevel of [1, 4, 8, 9]) {
      for (const strategy of [0, 1, 3]) {
        const d = new RawDeflater({ level, windowBits: 8, memLevel, strategy });
        equal(d.windowBits, 9);
        const w = new Walker();
        for (let seed = 0; seed < 8; seed++) {
          const size = 200 + seed * 700;
          for (
            const data of [adversarial(size, seed), randomBytes(size, seed), jsonLike(size, seed)]
          ) {
            const from = w.outLen;
            w.feed(d.compress(data));
            deepEqual(w.take(from), data);
            checked++;
          }
        }
        d.close();
        ok(w.maxDist <= 250, `level ${level} memLevel ${memLevel}: distance ${w.maxDist}`);
        if (w.maxDist > farthest) farthest = w.maxDist;
      }
    }
  }
  ok(checked > 2000);
  // The bound is reached, so the check is not vacuous.
  ok(farthest >= 240, `farthest match ${farthest}`);
});

Deno.test("PerMessageDeflate.compress() in shared mode gives every session the same bytes", () => {
  const params = P(true, false, 15, 15);
  const sessions = Array.from({ length: 5 }, () => new PerMessageDeflate(params));
  const msg = jsonLike(1024, 7);
  const first = sessions[0]!.compress(msg);
  for (const s of sessions) deepEqual(s.compress(msg), first);
  // the shared deflater is reset per message: the same message twice gives the same bytes
  deepEqual(sessions[0]!.compress(msg), first);
  equal(new Set(sessions.map((s) => s.sharedKey)).size, 1);
  for (const s of sessions) s.close();
});

Deno.test("PerMessageDeflate.sharedKey lets a publisher deflate once for 1000 subscribers", () => {
  // a hub's fan-out: one compressed form per shared key, one deflate per message
  const shared = P(true, false, 15, 15);
  const narrow = P(true, false, 10, 15);
  const subscribers = Array.from(
    { length: 1000 },
    (_, k) => new PerMessageDeflate(k % 10 === 9 ? narrow : shared),
  );
  const msg = jsonLike(2048, 2);
  const before = deflateCount();
  const byKey = new Map<string, Uint8Array>();
  const peer = new PerMessageDeflate(shared, { role: "client" });
  for (const s of subscribers) {
    const key = s.sharedKey!;
    let packed = byKey.get(key);
    if (packed === undefined) byKey.set(key, packed = s.compress(msg));
    deepEqual(peer.decompress(packed, 1 << 20), msg);
  }
  // two windows among the subscribers: two deflates, not 1000
  equal(deflateCount() - before, 2);
  equal(byKey.size, 2);
  for (const s of subscribers) s.close();
  peer.close();
});

Deno.test("PerMessageDeflate.compress() in dedicated mode keeps context between messages", () => {
  const params = P(false, false, 15, 15);
  const server = new PerMessageDeflate(params, { mode: "dedicated" });
  const client = new PerMessageDeflate(params, { role: "client" });
  equal(server.sharedKey, null);
  const msg = jsonLike(1024, 3);
  const a = server.compress(msg);
  const b = server.compress(msg);
  ok(b.length < a.length / 4, `${b.length} vs ${a.length}`);
  deepEqual(client.decompress(a, 4096), msg);
  deepEqual(client.decompress(b, 4096), msg);
  server.close();
  client.close();
});

Deno.test("PerMessageDeflate.compress() takes a message in pieces", () => {
  const params = P(true, false, 15, 15);
  const pmd = new PerMessageDeflate(params);
  const msg = jsonLike(100_000, 5);
  const whole = pmd.compress([msg.subarray(0, 10), msg.subarray(10, 70_000), msg.subarray(70_000)]);
  deepEqual(pmd.decompress(whole, 1 << 20), msg);
  pmd.close();
});

Deno.test("PerMessageDeflate.shouldCompress() applies the threshold", () => {
  const pmd = new PerMessageDeflate(P(true, false, 15, 15), { threshold: 1000 });
  equal(pmd.shouldCompress(999), false);
  equal(pmd.shouldCompress(1000), true);
  equal(pmd.shouldCompress(1 << 20), true);
  equal(pmd.shouldCompress((1 << 20) + 1), false);
  pmd.close();
  const all = new PerMessageDeflate(P(true, false, 15, 15), { maxCompressSize: Infinity });
  equal(all.shouldCompress(1 << 30), true);
  all.close();
  throws(() => new PerMessageDeflate(P(true, false, 15, 15), { threshold: -1 }), RangeError);
});

// ---------------------------------------------------------------------------
// Receiving: empty messages, fragments, BFINAL, garbage, bombs

Deno.test("PerMessageDeflate.decompress() reads the empty message, whole or as a last 00 fragment", () => {
  const params = P(false, false, 15, 15);
  const server = new PerMessageDeflate(params, { mode: "dedicated" });
  const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
  deepEqual(server.decompress(new Uint8Array([0]), 10), new Uint8Array(0));
  deepEqual(server.decompress([new Uint8Array(0), new Uint8Array([0])], 10), new Uint8Array(0));
  // the context goes on across empty messages
  const hello = new TextEncoder().encode("hello hello hello");
  for (let k = 0; k < 3; k++) {
    const packed = client.compress(hello);
    // split so that the last fragment is a single byte
    deepEqual(server.decompress([packed.subarray(0, -1), packed.subarray(-1)], 100), hello);
    deepEqual(server.decompress(client.compress(new Uint8Array(0)), 10), new Uint8Array(0));
  }
  server.close();
  client.close();
});

Deno.test("PerMessageDeflate.decompress() takes any fragmentation", () => {
  const params = P(false, false, 12, 12);
  const server = new PerMessageDeflate(params, { mode: "dedicated" });
  const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
  const r = rng(9);
  for (let k = 0; k < 30; k++) {
    const msg = jsonLike(1 + ((r() * 20000) | 0), k);
    const packed = client.compress(msg);
    const frags: Uint8Array[] = [];
    for (let at = 0; at < packed.length;) {
      const n = 1 + ((r() * 300) | 0);
      frags.push(packed.subarray(at, at + n));
      at += n;
    }
    deepEqual(server.decompress(frags, 1 << 20), msg);
  }
  server.close();
  client.close();
});

Deno.test("PerMessageDeflate.decompress() starts a fresh stream after a BFINAL message", () => {
  const params = P(false, false, 15, 15);
  const pmd = new PerMessageDeflate(params, { mode: "dedicated" });
  for (let k = 0; k < 4; k++) {
    const msg = jsonLike(500 + k * 100, k);
    // a sender that ends each message with Z_FINISH (BFINAL=1, no tail)
    const final = new Uint8Array(deflateRawSync(msg));
    deepEqual(pmd.decompress(final, 1 << 16), msg, `BFINAL message ${k}`);
    // split so that the stream ends exactly at a fragment boundary
    deepEqual(pmd.decompress([final, new Uint8Array(0)], 1 << 16), msg);
    // then context-takeover messages from a fresh stream (the sender forgot
    // its window with the final block): the first one must not be read as
    // the continuation of the ended stream (Bun PR #34105 read it as empty)
    const peer = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    deepEqual(pmd.decompress(peer.compress(msg), 1 << 16), msg);
    deepEqual(pmd.decompress(peer.compress(msg), 1 << 16), msg);
    peer.close();
    // and a BFINAL message ending a context-takeover stream
    const more = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    deepEqual(pmd.decompress(more.compress(msg), 1 << 16), msg);
    more.close();
    const z = new RawDeflater();
    const start = z.compress(msg);
    z.close();
    deepEqual(pmd.decompress(start, 1 << 16), msg);
  }
  pmd.close();
});

Deno.test("PerMessageDeflate.decompress() fails data after the end of a BFINAL stream", () => {
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  const final = new Uint8Array(deflateRawSync(new TextEncoder().encode("the end")));
  const trailing = new Uint8Array([...final, 0x01, 0x02]);
  equal(kindOf(pmd.decompress(trailing, 1024)), "invalid");
  equal(kindOf(pmd.decompress([final, new Uint8Array([7])], 1024)), "invalid");
  // the engine recovers for the next (fresh) stream
  deepEqual(pmd.decompress(final, 1024), new TextEncoder().encode("the end"));
  pmd.close();
});

function kindOf(x: Uint8Array | { kind: string }): string {
  return x instanceof Uint8Array ? "data" : x.kind;
}

Deno.test("PerMessageDeflate.decompress() reports garbage as invalid", () => {
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  const garbage: Uint8Array[] = [
    new Uint8Array([0xff]),
    new Uint8Array([0x07, 0x00]), // block type 3
    new Uint8Array([0x00, 0x05, 0x00, 0x00, 0x00]), // stored length and its complement disagree
    randomBytes(64, 1),
  ];
  for (const g of garbage) {
    const got = pmd.decompress(g, 1 << 16);
    equal(kindOf(got), "invalid", `input ${[...g.subarray(0, 8)]}`);
  }
  // a fixed block: literal 0x00, then a match at distance 2, before the
  // start of the stream ("invalid distance too far back")
  equal(kindOf(pmd.decompress(new Uint8Array([0x62, 0x00, 0x42, 0x00]), 100)), "invalid");
  pmd.close();
});

Deno.test("PerMessageDeflate.decompress() stops a 64 MiB bomb at the limit with bounded memory", () => {
  // 64 MiB of zeros compresses to ~64 KiB; build it without holding 64 MiB
  const d = new RawDeflater({ level: 9 });
  const zeros = new Uint8Array(1 << 20);
  const chunks = Array.from({ length: 64 }, () => zeros);
  const bomb = d.compress(chunks);
  d.close();
  ok(bomb.length < 100_000, `bomb is ${bomb.length} bytes`);
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  const frags: Uint8Array[] = [];
  for (let at = 0; at < bomb.length; at += 1024) frags.push(bomb.subarray(at, at + 1024));
  for (const input of [bomb, frags]) {
    const rss0 = Deno.memoryUsage().rss;
    const t0 = performance.now();
    const got = pmd.decompress(input, 1 << 20);
    const ms = performance.now() - t0;
    const grew = Deno.memoryUsage().rss - rss0;
    deepEqual(got, { kind: "too-big", limit: 1 << 20 });
    // the work stops one 64 KiB step past 1 MiB: far less than inflating 64 MiB
    // (a loose bound: RSS is shared with tests running in parallel; inflating
    // the whole bomb would cost over 64 MiB)
    ok(grew < 48 << 20, `RSS grew ${grew} bytes`);
    ok(ms < 2000, `took ${ms} ms`);
  }
  // the same bomb under a 128 MiB limit inflates completely (the limit is what stopped it)
  const all = pmd.decompress(bomb, 128 << 20);
  ok(all instanceof Uint8Array && all.length === 64 << 20);
  pmd.close();
});

/** Streams a message through pushCompressed()/pullDecompressed(). */
function streamed(
  pmd: PerMessageDeflate,
  frames: Uint8Array[],
  max: number,
): Uint8Array | { kind: string } {
  const out: number[] = [];
  for (let f = 0; f < frames.length; f++) {
    pmd.pushCompressed(frames[f]!, f === frames.length - 1);
    for (;;) {
      const got = pmd.pullDecompressed(max);
      if (got === null) break;
      if (!(got instanceof Uint8Array)) return got;
      ok(got.length <= 65536);
      for (const b of got) out.push(b);
    }
  }
  return new Uint8Array(out);
}

Deno.test("PerMessageDeflate.pullDecompressed() gives what decompress() gives, frame by frame", () => {
  for (const clientNoContextTakeover of [false, true]) {
    const params = P(false, clientNoContextTakeover, 15, 11);
    const server = new PerMessageDeflate(params, { mode: "dedicated" });
    const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    const r = rng(11);
    for (let k = 0; k < 20; k++) {
      const msg = k % 5 === 4 ? new Uint8Array(0) : jsonLike(1 + ((r() * 150_000) | 0), k);
      const packed = client.compress(msg);
      const frames: Uint8Array[] = [];
      for (let at = 0; at < packed.length;) {
        const n = 1 + ((r() * 5000) | 0);
        frames.push(packed.subarray(at, at + n));
        at += n;
      }
      deepEqual(streamed(server, frames, 1 << 20), msg, `message ${k}`);
    }
    server.close();
    client.close();
  }
});

Deno.test("PerMessageDeflate.pullDecompressed() stops a fragmented bomb at the limit", () => {
  const d = new RawDeflater({ level: 9 });
  const zeros = new Uint8Array(1 << 20);
  const bomb = d.compress(Array.from({ length: 64 }, () => zeros));
  d.close();
  const frames: Uint8Array[] = [];
  for (let at = 0; at < bomb.length; at += 1000) frames.push(bomb.subarray(at, at + 1000));
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  let pulled = 0;
  let result: unknown = null;
  outer: for (let f = 0; f < frames.length; f++) {
    pmd.pushCompressed(frames[f]!, f === frames.length - 1);
    for (;;) {
      const got = pmd.pullDecompressed(1 << 20);
      if (got === null) break;
      if (!(got instanceof Uint8Array)) {
        result = got;
        break outer;
      }
      pulled += got.length;
    }
  }
  deepEqual(result, { kind: "too-big", limit: 1 << 20 });
  ok(pulled <= 1 << 20, `${pulled} bytes handed out before the verdict`);
  // the session would close 1009; the engine is still usable for a fresh stream
  const fresh = new RawDeflater();
  const hello = new TextEncoder().encode("hello");
  deepEqual(streamed(pmd, [fresh.compress(hello)], 100), hello);
  fresh.close();
  pmd.close();
});

Deno.test("PerMessageDeflate.pullDecompressed() reports garbage as invalid", () => {
  const pmd = new PerMessageDeflate(P(true, false, 15, 15));
  equal(
    kindOf(streamed(pmd, [new Uint8Array([0x02]), new Uint8Array([0xff, 0xff])], 100)),
    "invalid",
  );
  equal(pmd.pullDecompressed(100), null);
  pmd.close();
  throws(() => pmd.pushCompressed(new Uint8Array([0]), true), /closed/);
});

// ---------------------------------------------------------------------------
// Memory and lifetime

Deno.test("PerMessageDeflate() sessions in shared mode hold no zlib stream until they receive", () => {
  closeSharedDeflaters();
  const base = liveStreams();
  const params = P(true, false, 15, 15);
  const N = 10_000;
  const rss0 = Deno.memoryUsage().rss;
  const sessions: PerMessageDeflate[] = [];
  const msg = jsonLike(1024, 1);
  for (let k = 0; k < N; k++) {
    const s = new PerMessageDeflate(params);
    s.compress(msg);
    sessions.push(s);
  }
  // one shared deflater for all of them, no inflater
  equal(liveStreams(), base + 1);
  ok(sessions.every((s) => !s.hasInflater));
  // RSS is shared with tests running in parallel, so the bound is loose: it
  // catches a deflater per session (~140 KiB each), not small growth (the
  // measured figure, ~0.7 KiB per session, is in the notes of the change).
  const perSession = (Deno.memoryUsage().rss - rss0) / N;
  ok(perSession < 32768, `${perSession} bytes per idle session`);
  // the first compressed message from a peer creates that session's inflater
  const packed = sessions[0]!.compress(msg);
  deepEqual(sessions[1]!.decompress(packed, 4096), msg);
  equal(liveStreams(), base + 2);
  for (const s of sessions) s.close();
  equal(liveStreams(), base + 1);
  closeSharedDeflaters();
  equal(liveStreams(), base);
});

Deno.test("PerMessageDeflate.close() frees the dedicated deflater and the inflater", () => {
  const base = liveStreams();
  const pmd = new PerMessageDeflate(P(false, false, 10, 10), { mode: "dedicated", memLevel: 4 });
  pmd.compress(jsonLike(300, 1));
  equal(liveStreams(), base + 1);
  pmd.decompress(new Uint8Array([0]), 10);
  equal(liveStreams(), base + 2);
  pmd.close();
  equal(liveStreams(), base);
  throws(() => pmd.decompress(new Uint8Array([0]), 10));
});

// ---------------------------------------------------------------------------
// Interop with npm ws's PerMessageDeflate (bytes both ways)

type WsPmd = {
  offer(): Record<string, unknown>;
  accept(configurations: unknown[]): unknown;
  compress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out?: Buffer) => void): void;
  cleanup(): void;
};

function wsCall(
  pmd: WsPmd,
  op: "compress" | "decompress",
  data: Uint8Array,
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    pmd[op](Buffer.from(data), true, (err, out) => {
      if (err) reject(err);
      else resolve(new Uint8Array(out!));
    });
  });
}

const WS_MATRIX: Array<
  { what: string; ws: Record<string, unknown>; server?: PerMessageDeflateOptions }
> = [
  { what: "defaults, shared", ws: {} },
  { what: "defaults, dedicated", ws: {}, server: { mode: "dedicated" } },
  {
    what: "server no context takeover",
    ws: { serverNoContextTakeover: true },
    server: { mode: "dedicated" },
  },
  {
    what: "client no context takeover",
    ws: { clientNoContextTakeover: true },
    server: { mode: "dedicated" },
  },
  { what: "server window 9", ws: { serverMaxWindowBits: 9 }, server: { mode: "dedicated" } },
  { what: "server window 12", ws: { serverMaxWindowBits: 12 } },
  { what: "server window 8", ws: { serverMaxWindowBits: 8 }, server: { mode: "dedicated" } },
  { what: "client window 9", ws: { clientMaxWindowBits: 9 }, server: { mode: "dedicated" } },
  {
    what: "client window asked by the server",
    ws: { clientMaxWindowBits: true },
    server: { mode: "dedicated", clientMaxWindowBits: 10 },
  },
];

for (const c of WS_MATRIX) {
  Deno.test(`PerMessageDeflate interoperates with npm ws as client: ${c.what}`, async () => {
    const wsClient = new WsPerMessageDeflate({ ...c.ws, threshold: 0 }) as WsPmd;
    const offer = wsExtension.format({ "permessage-deflate": [wsClient.offer()] });
    const accepted = negotiateServer(parseExtensions(offer), c.server);
    ok(accepted !== null, offer);
    wsClient.accept(wsExtension.parse(accepted.response)["permessage-deflate"]);
    const server = new PerMessageDeflate(accepted.params, { mode: c.server?.mode ?? "shared" });
    try {
      for (const size of [16, 64, 256, 1024, 4096, 16384, 65536, 131072]) {
        for (const msg of [jsonLike(size, size), adversarial(size, size)]) {
          deepEqual(await wsCall(wsClient, "decompress", server.compress(msg)), msg);
          deepEqual(server.decompress(await wsCall(wsClient, "compress", msg), 1 << 20), msg);
        }
      }
    } finally {
      server.close();
      wsClient.cleanup();
    }
  });
}

Deno.test("PerMessageDeflate interoperates with npm ws as server", async () => {
  for (
    const options of [
      {},
      { clientMaxWindowBits: 10 },
      { clientNoContextTakeover: true, serverMaxWindowBits: 9 },
    ] as ClientDeflateOptions[]
  ) {
    const wsServer8 = new WsPerMessageDeflate({ threshold: 0, isServer: true }) as WsPmd;
    const offer = clientOffer(options);
    const answer = wsServer8.accept(wsExtension.parse(offer)["permessage-deflate"]);
    const response = wsExtension.format({ "permessage-deflate": answer });
    const params = negotiateClient(parseExtensions(response), options);
    ok(params !== null);
    const client = new PerMessageDeflate(params, { role: "client", mode: "dedicated" });
    try {
      for (const size of [16, 1024, 65536]) {
        const msg = jsonLike(size, size);
        deepEqual(await wsCall(wsServer8, "decompress", client.compress(msg)), msg);
        deepEqual(client.decompress(await wsCall(wsServer8, "compress", msg), 1 << 20), msg);
      }
    } finally {
      client.close();
      wsServer8.cleanup();
    }
  }
});

// ---------------------------------------------------------------------------
// Interop with pako (a JavaScript zlib port): bytes both ways, same window

interface PakoStream {
  push(data: Uint8Array, mode: number): boolean;
  chunks: Uint8Array[];
  err: number;
  msg: string;
  strm: { output: Uint8Array; "next_out": number; "avail_out": number };
}

const Z_SYNC_FLUSH = 2;

function pakoTake(s: PakoStream): Uint8Array {
  // pako's Inflate hands out output only when its buffer is full; take what a
  // sync flush left in it, and make it start a new buffer on the next push
  // (its window is kept apart, in the inflate state).
  if (s.strm.next_out > 0 && s.strm.avail_out > 0) {
    s.chunks.push(s.strm.output.slice(0, s.strm.next_out));
    s.strm.avail_out = 0;
  }
  const n = s.chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of s.chunks) {
    out.set(c, o);
    o += c.length;
  }
  s.chunks.length = 0;
  return out;
}

for (const window of [8, 9, 10, 12, 15]) {
  Deno.test(`PerMessageDeflate interoperates with pako, window ${window}, context takeover`, () => {
    const params = P(false, false, window, window);
    const ours = new PerMessageDeflate(params, { mode: "dedicated" });
    const pakoInflate = new pako.Inflate({ raw: true, windowBits: window }) as PakoStream;
    const sizes = [0, 1, 100, 1000, 5000, 20000, 65536, 131072];
    for (const level of [1, 6, 9]) {
      // (pako, like zlib, cannot deflate raw with 8 bits: a peer granted 8
      // would deflate with 9, which our 9-bit inflater takes)
      const pakoDeflate = new pako.Deflate({
        raw: true,
        windowBits: Math.max(window, 9),
        level,
        memLevel: 8,
      }) as PakoStream;
      for (const size of sizes) {
        for (const msg of [jsonLike(size, size + level), adversarial(size, size + level)]) {
          // pako -> ours (pako writes nothing for an empty input: no message)
          if (size > 0) {
            ok(pakoDeflate.push(msg, Z_SYNC_FLUSH), pakoDeflate.msg);
            const packed = pakoTake(pakoDeflate);
            deepEqual([...packed.subarray(-4)], [0, 0, 0xff, 0xff]);
            const got = ours.decompress(packed.subarray(0, -4), 1 << 20);
            deepEqual(got, msg, `pako level ${level} -> ours, size ${size}`);
          }
          // ours -> pako
          const mine = ours.compress(msg);
          const withTail = new Uint8Array(mine.length + 4);
          withTail.set(mine);
          withTail.set([0, 0, 0xff, 0xff], mine.length);
          ok(pakoInflate.push(withTail, Z_SYNC_FLUSH), pakoInflate.msg);
          equal(pakoInflate.err, 0, pakoInflate.msg);
          deepEqual(pakoTake(pakoInflate), msg, `ours -> pako, size ${size}`);
        }
      }
    }
    ours.close();
  });
}
