// Internal frame-header helpers shared by the builder and the session.

/** Length of a frame header for a payload of `len` bytes. */
export function headerLength(len: number, masked: boolean): number {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * Writes a frame header at `dst[at]`: first byte `b0` (FIN, RSV, opcode),
 * the payload length in the shortest form, and the mask key when `masked`
 * (`key` as from `keyWord`). Returns the index after the header.
 */
export function writeHeader(
  dst: Uint8Array,
  at: number,
  b0: number,
  len: number,
  masked: boolean,
  key: number,
): number {
  const m = masked ? 0x80 : 0;
  dst[at] = b0;
  if (len < 126) {
    dst[at + 1] = m | len;
    at += 2;
  } else if (len < 65536) {
    dst[at + 1] = m | 126;
    dst[at + 2] = len >>> 8;
    dst[at + 3] = len & 0xff;
    at += 4;
  } else {
    const hi = Math.floor(len / 0x100000000);
    const lo = len >>> 0;
    dst[at + 1] = m | 127;
    dst[at + 2] = hi >>> 24;
    dst[at + 3] = (hi >>> 16) & 0xff;
    dst[at + 4] = (hi >>> 8) & 0xff;
    dst[at + 5] = hi & 0xff;
    dst[at + 6] = lo >>> 24;
    dst[at + 7] = (lo >>> 16) & 0xff;
    dst[at + 8] = (lo >>> 8) & 0xff;
    dst[at + 9] = lo & 0xff;
    at += 10;
  }
  if (masked) {
    dst[at] = key & 0xff;
    dst[at + 1] = (key >>> 8) & 0xff;
    dst[at + 2] = (key >>> 16) & 0xff;
    dst[at + 3] = key >>> 24;
    at += 4;
  }
  return at;
}
