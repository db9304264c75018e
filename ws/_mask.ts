// Internal masking helpers: the key travels as one 32-bit word so that the
// hot paths neither allocate nor index a key array per byte.

/** Whether typed arrays use little-endian byte order on this machine. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Below this many bytes the byte loop beats setting up a word view. */
const WORD_MIN = 64;

/**
 * Reads a 4-byte mask key as a word whose byte `k` (from the low end) is key
 * byte `k`.
 */
export function keyWord(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/**
 * XORs `data` in place with the mask whose key is `key` (see
 * {@linkcode keyWord}), starting at key position `offset` (bytes of the
 * payload already processed before `data`).
 */
export function xorMask(data: Uint8Array, key: number, offset: number): void {
  xorRange(data, 0, data.length, key, offset);
}

/**
 * {@linkcode xorMask} over `data[start..end)`, without making a view:
 * `data[start]` is XORed with key byte `offset % 4`.
 */
export function xorRange(
  data: Uint8Array,
  start: number,
  end: number,
  key: number,
  offset: number,
): void {
  let i = start;
  const k = (offset - start) & 3;
  if (end - start >= WORD_MIN && LITTLE_ENDIAN) {
    const head = (4 - ((data.byteOffset + i) & 3)) & 3;
    for (const h = i + head; i < h; i++) data[i]! ^= key >>> (((i + k) & 3) << 3);
    const r = (i + k) & 3;
    const kw = r === 0 ? key | 0 : (key >>> (r << 3)) | (key << (32 - (r << 3)));
    // Unrolled by 8: 64 KiB in about 4.3 us instead of 5.2 us by 4. (A
    // BigUint64Array is faster still in a micro-benchmark but allocated
    // BigInts in the server: 8-10% of CPU in GC.)
    const words = (end - i) >>> 2;
    const w = new Uint32Array(data.buffer, data.byteOffset + i, words);
    let j = 0;
    const end8 = words & ~7;
    for (; j < end8; j += 8) {
      w[j]! ^= kw;
      w[j + 1]! ^= kw;
      w[j + 2]! ^= kw;
      w[j + 3]! ^= kw;
      w[j + 4]! ^= kw;
      w[j + 5]! ^= kw;
      w[j + 6]! ^= kw;
      w[j + 7]! ^= kw;
    }
    for (; j < words; j++) w[j]! ^= kw;
    i += words << 2;
  } else if (end - start >= 8) {
    // Short payloads: unrolled bytes with the key bytes in registers.
    const b = (i + k) & 3;
    const k0 = (key >>> (b << 3)) & 0xff;
    const k1 = (key >>> (((b + 1) & 3) << 3)) & 0xff;
    const k2 = (key >>> (((b + 2) & 3) << 3)) & 0xff;
    const k3 = (key >>> (((b + 3) & 3) << 3)) & 0xff;
    const e4 = end - ((end - i) & 3);
    for (; i < e4; i += 4) {
      data[i]! ^= k0;
      data[i + 1]! ^= k1;
      data[i + 2]! ^= k2;
      data[i + 3]! ^= k3;
    }
  }
  for (; i < end; i++) data[i]! ^= key >>> (((i + k) & 3) << 3);
}

/**
 * Unmasks the text `data[start..end)` in place with `key` (0: not masked,
 * only read) and returns the OR of its bytes: bit 0x80 is clear when the
 * text is all ASCII (then valid UTF-8 with no further check). One pass of
 * aligned 32-bit words, where xorRange and an ASCII check would make two.
 */
export function unmaskText(data: Uint8Array, start: number, end: number, key: number): number {
  let i = start;
  let or = 0;
  if (end - start >= WORD_MIN && LITTLE_ENDIAN) {
    const head = (4 - ((data.byteOffset + i) & 3)) & 3;
    for (const h = i + head; i < h; i++) {
      const c = data[i]! ^ ((key >>> (((i - start) & 3) << 3)) & 0xff);
      data[i] = c;
      or |= c;
    }
    const r = (i - start) & 3;
    const kw = r === 0 ? key | 0 : (key >>> (r << 3)) | (key << (32 - (r << 3)));
    const words = (end - i) >>> 2;
    const w = new Int32Array(data.buffer, data.byteOffset + i, words);
    let j = 0;
    if (kw === 0) {
      for (; j < words; j++) or |= w[j]!;
    } else {
      const end4 = words & ~3;
      for (; j < end4; j += 4) {
        const a = w[j]! ^ kw;
        const b = w[j + 1]! ^ kw;
        const c = w[j + 2]! ^ kw;
        const d = w[j + 3]! ^ kw;
        w[j] = a;
        w[j + 1] = b;
        w[j + 2] = c;
        w[j + 3] = d;
        or |= a | b | c | d;
      }
      for (; j < words; j++) or |= w[j]! ^= kw;
    }
    i += words << 2;
  }
  for (; i < end; i++) {
    const c = data[i]! ^ ((key >>> (((i - start) & 3) << 3)) & 0xff);
    data[i] = c;
    or |= c;
  }
  return (or | (or >>> 8) | (or >>> 16) | (or >>> 24)) & 0xff;
}

const POOL_SIZE = 4096;
let pool: Uint8Array | null = null;
let poolAt = POOL_SIZE;

/**
 * A fresh random mask key from a pool refilled by `crypto.getRandomValues`
 * every 1024 keys, so that masking a frame makes no native call.
 */
export function randomKey(): number {
  if (poolAt === POOL_SIZE) {
    pool ??= new Uint8Array(POOL_SIZE);
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  const k = keyWord(pool!, poolAt);
  poolAt += 4;
  return k;
}
