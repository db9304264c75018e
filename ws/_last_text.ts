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
