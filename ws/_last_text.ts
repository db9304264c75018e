// The text message being delivered right now and where its UTF-8 bytes are.
//
// While the parser calls onMessage with a string it decoded from a read
// buffer, this slot names that string and the (unmasked, validated) bytes it
// came from. A send() of the same string during that call (an echo, or a
// relay to another session) copies those bytes instead of encoding the
// string again. The slot is cleared as soon as onMessage returns, before the
// parser moves on, so the bytes are always the ones the string was decoded
// from. One slot for the whole isolate: only one onMessage runs at a time.
// With the parser's `textBytes` option, `bytes` names the validated view
// lent to onText and `bytesView` a DataView of its buffer (when the parser
// has one), so that sending that very view as text checks a short one for
// ASCII a word at a time.

const EMPTY = new Uint8Array(0);

/**
 * The string being delivered (or `null`) and its bytes `buf[start..end)`,
 * with a DataView of `buf` (from its start) when the parser has one (else
 * `null`); the text bytes being lent to onText (or `null`) and a DataView
 * of their whole buffer (`bytesView.byteOffset` at or before theirs), or
 * `null`.
 */
export const lastText: {
  text: string | null;
  buf: Uint8Array;
  view: DataView | null;
  start: number;
  end: number;
  bytes: Uint8Array | null;
  bytesView: DataView | null;
} = { text: null, buf: EMPTY, view: null, start: 0, end: 0, bytes: null, bytesView: null };

/** Text up to this many bytes is lent from the shared lending buffer. */
export const LEND_MAX = 128;
/**
 * Whether typed arrays use little-endian byte order here (as DataView
 * words read with `littleEndian` do): then `LEND_WORDS[j]` is bytes
 * `4j..4j+3` of `LEND_BUF` as such a word.
 */
export const LEND_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/**
 * Where the parser unmasks short single-frame text for onText: one buffer
 * for the isolate (one onText runs at a time; a nested one does not use
 * it), its words (aligned: plain typed-array stores and loads, no DataView
 * bounds and endianness work), a DataView of it, and a view of each length
 * 0..LEND_MAX over its start, so that lending a short message allocates
 * nothing.
 */
export const LEND_BUF: Uint8Array = new Uint8Array(LEND_MAX);
/** The words of `LEND_BUF`. */
export const LEND_WORDS: Int32Array = new Int32Array(LEND_BUF.buffer);
/** A DataView of `LEND_BUF`: `lastText.bytesView` names it when the lent bytes are there. */
export const LEND_VIEW: DataView = new DataView(LEND_BUF.buffer);
/** `LEND_BYTES[n]` is `LEND_BUF.subarray(0, n)`. */
export const LEND_BYTES: readonly Uint8Array[] = Array.from(
  { length: LEND_MAX + 1 },
  (_, n) => LEND_BUF.subarray(0, n),
);
