// Private to the package: the text of request heads, decoded once per read
// for pipelined heads. A head with few bytes behind it in its chunk is
// decoded together with them; the next head, if it starts where this one
// ended in the same buffer, is cut from that text after its bytes were
// found equal to a copy of the decoded ones. Bytes are compared, offsets are
// not trusted: a buffer overwritten since is never read from here.
import { decodeLatin1 } from "../text.ts";

/**
 * The decoder of every head's text (a property, so that tests can count the
 * calls: `decodeLatin1` binds the native slice at load).
 */
export const headDecoder: { decode: (buf: Uint8Array, start: number, end: number) => string } = {
  decode: decodeLatin1,
};

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

/**
 * What was decoded last with bytes behind its head, for the parser that
 * decoded it (`owner`): one for the isolate, so that no parser holds a
 * copy, a text or a view of its read buffer of its own. The text is the
 * bytes from `textAt` in the buffer `view` views, one code unit each;
 * `COPY` holds a copy of them; `next` is where the head it was last cut
 * for ended. Another parser keeping text takes it over (the first then
 * decodes its next head itself); it is dropped as soon as its last byte
 * was cut, so an idle connection's buffer is not kept from here.
 */
const kept = {
  owner: null as HeadText | null,
  text: "",
  textAt: 0,
  view: null as DataView | null,
  next: -1,
};
const COPY = new DataView(new ArrayBuffer(TEXT_MAX));
const COPY_BYTES = new Uint8Array(COPY.buffer);

function release(): void {
  kept.owner = null;
  kept.text = "";
  kept.view = null;
  kept.next = -1;
}

/** The buffer whose bytes the kept text was decoded from, if any (for tests). */
export function keptBuffer(): ArrayBufferLike | null {
  return kept.view === null ? null : kept.view.buffer;
}

/** One parser's decoder of head text (its state is `kept`, while it owns it). */
export class HeadText {
  /**
   * The head `buf[base, end)`, fed from `from`, as Latin-1 text (one code
   * unit per byte): cut from the text decoded last if this parser decoded
   * it, `from` is where the head before ended, in the same buffer, with
   * these very bytes; else decoded, with the bytes after it up to `avail`
   * when they are few (pipelined heads behind it).
   */
  decode(buf: Uint8Array, from: number, base: number, end: number, avail: number): string {
    const len = end - base;
    const at = buf.byteOffset + base;
    if (
      kept.owner === this && buf.byteOffset + from === kept.next &&
      kept.view!.buffer === buf.buffer
    ) {
      const text = kept.text;
      const off = at - kept.textAt;
      if (off + len <= text.length && bytesEqual(kept.view!, at, COPY, off, len)) {
        if (off + len === text.length) release();
        else kept.next = at + len;
        return text.substring(off, off + len);
      }
    }
    if (kept.owner === this) release();
    if (avail === end || avail - base > TEXT_MAX) return headDecoder.decode(buf, base, end);
    // Bytes behind the head: decoded with it and kept, with a copy of them.
    const decoded = headDecoder.decode(buf, base, avail);
    COPY_BYTES.set(base === 0 && avail === buf.length ? buf : buf.subarray(base, avail));
    kept.owner = this;
    kept.text = decoded;
    kept.textAt = at;
    if (kept.view === null || kept.view.buffer !== buf.buffer) {
      kept.view = new DataView(buf.buffer);
    }
    kept.next = at + len;
    return decoded.substring(0, len);
  }
}
