// The server's Sec-WebSocket-Accept computed synchronously: SHA-1 in plain
// JavaScript over the 60 ASCII bytes of key + GUID. WebCrypto's digest is
// async and allocates about 2 KB per handshake (buffers, promises, an op),
// and keeps the handshake's objects alive across an event-loop turn; this
// allocates the result string and little else (the message schedule is one
// module-level array).

/** The GUID of RFC 6455 section 1.3, appended to the key before hashing. */
export const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/** The SHA-1 message schedule, reused by every call. */
const W = new Int32Array(80);

/**
 * `base64(SHA-1(key + GUID))` (RFC 6455 section 4.2.2), for a key already
 * checked with `isValidKey` (ASCII).
 */
export function acceptKeySync(key: string): string {
  const msg = key + GUID;
  const len = msg.length;
  const blocks = ((len + 8) >> 6) + 1;
  let h0 = 0x67452301, h1 = 0xefcdab89 | 0, h2 = 0x98badcfe | 0, h3 = 0x10325476;
  let h4 = 0xc3d2e1f0 | 0;
  for (let block = 0; block < blocks; block++) {
    const base = block << 6;
    for (let i = 0; i < 16; i++) {
      let w = 0;
      for (let j = 0; j < 4; j++) {
        const at = base + (i << 2) + j;
        w = (w << 8) | (at < len ? msg.charCodeAt(at) & 0xff : at === len ? 0x80 : 0);
      }
      W[i] = w;
    }
    if (block === blocks - 1) {
      W[14] = Math.floor(len / 0x20000000); // the bit length's high word
      W[15] = len << 3;
    }
    for (let i = 16; i < 80; i++) {
      const x = W[i - 3]! ^ W[i - 8]! ^ W[i - 14]! ^ W[i - 16]!;
      W[i] = (x << 1) | (x >>> 31);
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number, k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc | 0;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6 | 0;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + W[i]!) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  return btoa(word(h0) + word(h1) + word(h2) + word(h3) + word(h4));
}

/** A 32-bit word as four Latin-1 characters, big-endian. */
function word(h: number): string {
  return String.fromCharCode((h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
}
