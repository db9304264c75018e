// Private to the package: the text of request heads, decoded once per read
// for pipelined heads. A head with few bytes behind it in its chunk is
// decoded together with them; the next head, if it starts where this one
// ended in the same buffer, is cut from that text after its bytes were
// found equal to a copy of the decoded ones. Bytes are compared, offsets are
// not trusted: a buffer overwritten since is never read from here.
import { ASCII_DECODER } from "./_chars.ts";

/** The most bytes decoded at once (a head and those behind it in its chunk). */
const TEXT_MAX = 1024;

/** Whether `len` bytes of `a` from `aAt` equal those of `b` from `bAt`. */
function bytesEqual(a: DataView, aAt: number, b: DataView, bAt: number, len: number): boolean {
  // Four bytes at a time, then the last few.
  let i = 0;
  const words = len & ~3;
  while (i < words && a.getUint32(aAt + i) === b.getUint32(bAt + i)) i += 4;
  if (i < words) return false;
  while (i < len && a.getUint8(aAt + i) === b.getUint8(bAt + i)) i++;
  return i === len;
}

/** One parser's decoder of head text. */
export class HeadText {
  /**
   * The text decoded last with bytes behind its head: the bytes from
   * `#textAt` in the buffer `#view` views, one code unit each; a copy of
   * them; and where the head it was decoded for ended (`-1`: nothing kept).
   */
  #text = "";
  #textAt = 0;
  #view: DataView | null = null;
  #copy: DataView | null = null;
  #next = -1;

  /**
   * The head `buf[base, end)`, all ASCII, as text: cut from the text decoded
   * last if `buf` starts where the head before ended, in the same buffer,
   * with these very bytes; else decoded, with the bytes after it up to
   * `avail` when they are few (pipelined heads behind it).
   */
  ascii(buf: Uint8Array, base: number, end: number, avail: number): string {
    const len = end - base;
    const at = buf.byteOffset + base;
    const view = this.#view;
    if (buf.byteOffset === this.#next && view !== null && view.buffer === buf.buffer) {
      const text = this.#text;
      const off = at - this.#textAt;
      if (off + len <= text.length && bytesEqual(view, at, this.#copy!, off, len)) {
        this.#next = at + len;
        return text.substring(off, off + len);
      }
    }
    const stop = avail - base <= TEXT_MAX ? avail : end;
    const bytes = base === 0 && stop === buf.length ? buf : buf.subarray(base, stop);
    const decoded = ASCII_DECODER.decode(bytes);
    // Kept only with bytes behind the head, and if each byte became one code
    // unit (UTF-8 decoding gives fewer units as soon as one sequence takes
    // two or more bytes, valid or not): then an ASCII byte anywhere in it is
    // the unit at its offset.
    if (stop > end && decoded.length === stop - base) {
      const copy = this.#copy ??= new DataView(new ArrayBuffer(TEXT_MAX));
      new Uint8Array(copy.buffer, 0, stop - base).set(bytes);
      this.#text = decoded;
      this.#textAt = at;
      if (view === null || view.buffer !== buf.buffer) this.#view = new DataView(buf.buffer);
      this.#next = at + len;
      return decoded.substring(0, len);
    }
    // Nothing kept: no buffer held either.
    this.#next = -1;
    this.#view = null;
    this.#text = "";
    return stop === end ? decoded : decoded.substring(0, len);
  }
}
