// The write buffer of a session's sender: frames are staged at an offset of
// one buffer (no view per frame) and leave in one conn.write per flush;
// frames staged while a write is in flight leave together in the next one.
//
// Unlike core's BufWriter (an async flush loop whose promise the caller
// wraps again), the write loop is callbacks bound once per writer and a
// flush makes at most one promise, only when someone asks for it: a write
// failure goes to the `failed` callback and every waiter resolves (never
// rejects). Staging buffers come from a pool and go back to it once
// written: an idle writer holds no buffer.

/** Size of the pooled staging buffers. */
const SIZE = 16384;
/** Larger buffers (a burst, a large message) are pooled up to this size. */
const GROWN_MAX = 1 << 20;
/** Bytes the pool keeps of each size. */
const POOL_BYTES = 16 << 20;
// 4 MiB of each size up to 64 KiB: 128 buffers of 32 KiB, what 16 replies
// of 1 KiB to each of 100 busy connections need at once (with 1 MiB, 50
// connections echoing 1 KiB at 16 in flight allocated and zeroed a 32 KiB
// buffer on most flushes); 1 MiB of each larger size. The pools keep at
// most 16 + 2 * 4 + 4 * 1 = 28 MiB for the process, never released.
const GROWN_POOL_BYTES = 4 << 20;
const GROWN_POOL_BYTES_LARGE = 1 << 20;
/** The pool of SIZE buffers (the common case, no map lookup), and of larger ones by size. */
const pool: Uint8Array[] = [];
/** The DataView of each buffer in `pool`, at the same index. */
const poolViews: DataView[] = [];
/** The words (Int32Array) of each buffer in `pool`, at the same index. */
const poolWords: Int32Array[] = [];
const POOL_MAX = POOL_BYTES / SIZE;
/** Pools of larger buffers by size, with their views and words (parallel arrays). */
const grownPools = new Map<
  number,
  { bufs: Uint8Array[]; views: DataView[]; words: Int32Array[] }
>();

function take(want: number): Uint8Array {
  if (want <= SIZE) {
    const buf = pool.pop();
    if (buf !== undefined) {
      takenView = poolViews.pop()!;
      takenWords = poolWords.pop()!;
      return buf;
    }
    takenView = null;
    takenWords = null;
    return new Uint8Array(SIZE);
  }
  let cap = SIZE * 2;
  while (cap < want) cap *= 2;
  if (cap <= GROWN_MAX) {
    const grown = grownPools.get(cap);
    if (grown !== undefined && grown.bufs.length > 0) {
      takenView = grown.views.pop()!;
      takenWords = grown.words.pop()!;
      return grown.bufs.pop()!;
    }
  }
  takenView = null;
  takenWords = null;
  return new Uint8Array(cap);
}

function give(buf: Uint8Array, view: DataView, words: Int32Array): void {
  const cap = buf.length;
  if (cap === SIZE) {
    if (pool.length < POOL_MAX) {
      pool.push(buf);
      poolViews.push(view);
      poolWords.push(words);
    }
    return;
  }
  if (cap < SIZE || cap > GROWN_MAX) return;
  let grown = grownPools.get(cap);
  if (grown === undefined) {
    grown = { bufs: [], views: [], words: [] };
    grownPools.set(cap, grown);
  }
  const budget = cap <= 65536 ? GROWN_POOL_BYTES : GROWN_POOL_BYTES_LARGE;
  if (grown.bufs.length < Math.max(1, Math.floor(budget / cap))) {
    grown.bufs.push(buf);
    grown.views.push(view);
    grown.words.push(words);
  }
}

/** The view of the buffer `take()` last returned from the pool, or `null` (a new buffer). */
let takenView: DataView | null = null;
/** The words of the buffer `take()` last returned from the pool, or `null`. */
let takenWords: Int32Array | null = null;

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);
const EMPTY_WORDS = new Int32Array(0);
const RESOLVED: Promise<void> = Promise.resolve();

/** What a {@linkcode FrameWriter} writes to: a `Deno.Conn`, or a fake in tests. */
export interface FrameWriterTarget {
  write(p: Uint8Array): Promise<number>;
}

/** Stages bytes and writes them to a connection, one write at a time. */
export class FrameWriter {
  /** The staging buffer: bytes `[0, length)` are staged. Valid until the next `reserve()`. */
  buf: Uint8Array = EMPTY;
  /** A DataView of `buf` (for word stores), replaced with it. */
  view: DataView = EMPTY_VIEW;
  /**
   * `buf` as 32-bit words in the platform's byte order, replaced with it
   * (every staging buffer's length is a multiple of 4).
   */
  words: Int32Array = EMPTY_WORDS;
  /** Staged bytes, not yet handed to a write. */
  length = 0;
  #conn: FrameWriterTarget;
  #failed: (err: unknown) => void;
  /** The buffer being written, and how much of it is done. */
  #out: Uint8Array = EMPTY;
  #outView: DataView = EMPTY_VIEW;
  #outWords: Int32Array = EMPTY_WORDS;
  #outLen = 0;
  #outDone = 0;
  #writing = false;
  #closed = false;
  /** What flush() callers wait for: the end of the current write loop. */
  #waiter: PromiseWithResolvers<void> | null = null;
  #onWritten: (n: number) => void;
  #onError: (err: unknown) => void;

  /**
   * @param conn Where the bytes go.
   * @param failed Called once when a write fails (the writer is then closed).
   */
  constructor(conn: FrameWriterTarget, failed: (err: unknown) => void) {
    this.#conn = conn;
    this.#failed = failed;
    this.#onWritten = this.#written.bind(this);
    this.#onError = this.#error.bind(this);
  }

  /** Staged bytes plus those of the write in flight. */
  get buffered(): number {
    return this.length + this.#outLen - this.#outDone;
  }

  /** Whether a write is in flight. */
  get writing(): boolean {
    return this.#writing;
  }

  /**
   * Stages `n` bytes; returns where they start in `buf` (which may have
   * been replaced by a larger one). Not after `close()`.
   */
  reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.buf.length) {
      const next = take(need);
      const view = takenView ?? new DataView(next.buffer);
      const words = takenWords ?? new Int32Array(next.buffer);
      if (at > 0) next.set(this.buf.subarray(0, at));
      if (this.buf !== EMPTY) give(this.buf, this.view, this.words);
      this.buf = next;
      this.view = view;
      this.words = words;
    }
    this.length = need;
    return at;
  }

  /** Stages a copy of `chunk`. */
  write(chunk: Uint8Array): void {
    const at = this.reserve(chunk.length);
    this.buf.set(chunk, at);
  }

  /**
   * Hands what is staged to the kernel (if no write is in flight; else it
   * goes when that write ends). Resolves once nothing is staged nor in
   * flight, or the writer failed or closed; never rejects.
   */
  flush(): Promise<void> {
    if (!this.#writing) {
      if (this.length === 0 || this.#closed) return RESOLVED;
      this.#start();
    }
    return (this.#waiter ??= Promise.withResolvers<void>()).promise;
  }

  /** Starts a flush without asking for a promise. */
  kick(): void {
    if (!this.#writing && this.length > 0 && !this.#closed) this.#start();
  }

  /**
   * What `flush()` will return: resolves once what is staged now was written
   * (after a `flush()` or `kick()`, which the caller must make), or the
   * writer failed or closed.
   */
  done(): Promise<void> {
    return (this.#waiter ??= Promise.withResolvers<void>()).promise;
  }

  /** The end of the write in flight, or `null` when none is. */
  pending(): Promise<void> | null {
    return this.#writing ? (this.#waiter ??= Promise.withResolvers<void>()).promise : null;
  }

  /** Drops what is staged; further bytes are dropped. A write in flight finishes on its own. */
  close(): void {
    this.#closed = true;
    if (this.buf !== EMPTY) give(this.buf, this.view, this.words);
    this.buf = EMPTY;
    this.view = EMPTY_VIEW;
    this.words = EMPTY_WORDS;
    this.length = 0;
    if (!this.#writing) this.#finish();
  }

  #start(): void {
    const buf = this.buf;
    const len = this.length;
    this.#outView = this.view;
    this.#outWords = this.words;
    this.buf = EMPTY;
    this.view = EMPTY_VIEW;
    this.words = EMPTY_WORDS;
    this.length = 0;
    this.#out = buf;
    this.#outLen = len;
    this.#outDone = 0;
    this.#writing = true;
    this.#conn.write(buf.subarray(0, len)).then(this.#onWritten, this.#onError);
  }

  #written(n: number): void {
    const done = this.#outDone += n;
    if (done < this.#outLen) {
      this.#conn.write(this.#out.subarray(done, this.#outLen)).then(
        this.#onWritten,
        this.#onError,
      );
      return;
    }
    give(this.#out, this.#outView, this.#outWords);
    this.#out = EMPTY;
    this.#outView = EMPTY_VIEW;
    this.#outWords = EMPTY_WORDS;
    this.#outLen = this.#outDone = 0;
    if (this.length > 0 && !this.#closed) {
      this.#start();
      return;
    }
    this.#finish();
  }

  #error(err: unknown): void {
    this.#out = EMPTY;
    this.#outView = EMPTY_VIEW;
    this.#outWords = EMPTY_WORDS;
    this.#outLen = this.#outDone = 0;
    this.close();
    this.#failed(err);
    this.#finish();
  }

  #finish(): void {
    this.#writing = false;
    const w = this.#waiter;
    if (w !== null) {
      this.#waiter = null;
      w.resolve();
    }
  }
}
