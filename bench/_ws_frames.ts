/**
 * The WebSocket pieces of the benchmark load client, free of I/O: the
 * handshake request and its expected accept key, prebuilt masked client
 * frames, and an incremental scanner that counts echoed messages and checks
 * their opcode and length without copying payloads.
 *
 * @module
 */

/** WebSocket opcodes the load client uses. */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;
/** WebSocket opcodes the load client uses. */
export type Opcode = typeof Opcode[keyof typeof Opcode];

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/**
 * The `Sec-WebSocket-Accept` value a server must answer for a key (RFC 6455 4.2.2).
 *
 * @param key The `Sec-WebSocket-Key` sent.
 * @returns The base64 SHA-1 of the key and the protocol GUID.
 */
export async function acceptKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(key + GUID));
  return new Uint8Array(digest).toBase64();
}

/**
 * The HTTP/1.1 upgrade request of a WebSocket client.
 *
 * @param host The `Host` header value (`127.0.0.1:8080`).
 * @param path The request target (`/`, `/ws`).
 * @param key The `Sec-WebSocket-Key` (base64 of 16 bytes).
 * @returns The request bytes.
 */
export function handshakeRequest(host: string, path: string, key: string): Uint8Array {
  return new TextEncoder().encode(
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
}

/**
 * Checks an upgrade response head: status 101 and the right accept key.
 *
 * @param head The response head as text, up to the blank line.
 * @param expectedAccept The value {@linkcode acceptKey} computed for the key sent.
 * @returns `null` when the head is a valid 101, else what is wrong with it.
 */
export function checkHandshakeResponse(head: string, expectedAccept: string): string | null {
  const lineEnd = head.indexOf("\r\n");
  const statusLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
  if (!/^HTTP\/1\.1 101\b/.test(statusLine)) return `expected status 101, got "${statusLine}"`;
  const m = /\r\nsec-websocket-accept:[ \t]*([^\r\n]*?)[ \t]*(?:\r\n|$)/i.exec(head);
  if (!m) return "missing Sec-WebSocket-Accept";
  if (m[1] !== expectedAccept) return `wrong Sec-WebSocket-Accept "${m[1]}"`;
  return null;
}

/**
 * Length of a masked client frame header for a payload of `len` bytes.
 *
 * @param len The payload length.
 * @returns 6, 8 or 14.
 */
export function clientHeaderLength(len: number): number {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + 4;
}

/**
 * Builds one masked client frame with FIN set (RFC 6455 5.2).
 *
 * @param opcode The opcode.
 * @param payload The unmasked payload.
 * @param mask The 4-byte masking key.
 * @returns The frame bytes.
 * @throws {RangeError} When the mask is not 4 bytes.
 */
export function buildClientFrame(
  opcode: Opcode,
  payload: Uint8Array,
  mask: Uint8Array,
): Uint8Array {
  if (mask.length !== 4) {
    throw new RangeError(`Cannot build frame: mask has ${mask.length} bytes, not 4`);
  }
  const len = payload.length;
  const hl = clientHeaderLength(len);
  const out = new Uint8Array(hl + len);
  out[0] = 0x80 | opcode;
  if (len < 126) {
    out[1] = 0x80 | len;
  } else if (len < 65536) {
    out[1] = 0x80 | 126;
    out[2] = len >>> 8;
    out[3] = len & 0xff;
  } else {
    out[1] = 0x80 | 127;
    const view = new DataView(out.buffer);
    view.setUint32(2, Math.floor(len / 2 ** 32));
    view.setUint32(6, len >>> 0);
  }
  out.set(mask, hl - 4);
  for (let i = 0; i < len; i++) out[hl + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

/**
 * Builds `count` masked frames of the same payload back to back, each with
 * its own random mask, so that sending `k` messages is one write of
 * `batch.subarray(0, k * frameLength)`.
 *
 * @param opcode The opcode.
 * @param payload The unmasked payload.
 * @param count How many frames.
 * @returns The concatenated frames and the length of one frame.
 */
export function buildFrameBatch(
  opcode: Opcode,
  payload: Uint8Array,
  count: number,
): { batch: Uint8Array; frameLength: number } {
  const frameLength = clientHeaderLength(payload.length) + payload.length;
  const batch = new Uint8Array(frameLength * count);
  const mask = new Uint8Array(4);
  for (let i = 0; i < count; i++) {
    crypto.getRandomValues(mask);
    batch.set(buildClientFrame(opcode, payload, mask), i * frameLength);
  }
  return { batch, frameLength };
}

/**
 * Builds a masked client close frame with status 1000.
 *
 * @returns The frame bytes.
 */
export function buildCloseFrame(): Uint8Array {
  return buildClientFrame(
    Opcode.close,
    new Uint8Array([0x03, 0xe8]),
    crypto.getRandomValues(new Uint8Array(4)),
  );
}

/**
 * Counts echoed messages in the server-to-client byte stream, incrementally:
 * feed it every chunk as read, it keeps a partial header across chunks and
 * skips payload bytes without copying them. A message whose opcode or total
 * length differs from what was sent, a masked server frame or a reserved bit
 * counts as an error. Fragmented echoes are accepted (their lengths add up);
 * ping and pong frames are skipped; a close frame marks the stream closed.
 */
export class EchoScanner {
  /** Messages completed whose opcode and length matched. */
  good = 0;
  /** Messages or frames that were wrong. */
  errors = 0;
  /** The first error, for the report. */
  firstError: string | null = null;
  /** Whether the server sent a close frame. */
  closed = false;

  readonly #opcode: number;
  readonly #length: number;
  readonly #head = new Uint8Array(14);
  #headHave = 0;
  #payloadLeft = 0;
  /** Opcode of the frame whose payload is being skipped. */
  #frameOpcode = 0;
  #frameFin = false;
  /** Opcode of the data message in progress (first frame), or -1. */
  #msgOpcode = -1;
  #msgLength = 0;

  /**
   * Creates a scanner for echoes of one kind of message.
   *
   * @param opcode The opcode every echo must have (text or binary).
   * @param length The payload length every echo must have.
   */
  constructor(opcode: Opcode, length: number) {
    this.#opcode = opcode;
    this.#length = length;
  }

  /**
   * Scans `n` bytes of `chunk`.
   *
   * @param chunk The bytes read.
   * @param n How many of them are valid.
   * @returns The number of data messages that completed in this chunk
   * (right or wrong: each answers one message sent).
   */
  feed(chunk: Uint8Array, n: number): number {
    let i = 0;
    let done = 0;
    while (i < n) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, n - i);
        this.#payloadLeft -= take;
        i += take;
        if (this.#payloadLeft === 0) done += this.#frameEnd();
        continue;
      }
      // Header: parse in place when whole, else gather into #head.
      let src = chunk;
      let at = i;
      const avail = n - i;
      if (this.#headHave === 0 && avail >= 2) {
        const need = EchoScanner.#headerLength(chunk[i + 1]!);
        if (avail >= need) {
          i += need;
        } else {
          this.#head.set(chunk.subarray(i, n));
          this.#headHave = avail;
          i = n;
          continue;
        }
      } else {
        this.#head[this.#headHave++] = chunk[i++]!;
        if (this.#headHave < 2 || this.#headHave < EchoScanner.#headerLength(this.#head[1]!)) {
          continue;
        }
        this.#headHave = 0;
        src = this.#head;
        at = 0;
      }
      done += this.#header(src, at);
    }
    return done;
  }

  static #headerLength(b1: number): number {
    const l = b1 & 0x7f;
    return 2 + (l === 126 ? 2 : l === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  }

  #error(why: string): void {
    this.errors++;
    if (this.firstError === null) this.firstError = why;
  }

  /** Handles a complete header at `src[at]`; returns messages completed (0 or 1). */
  #header(src: Uint8Array, at: number): number {
    const b0 = src[at]!;
    const b1 = src[at + 1]!;
    let len = b1 & 0x7f;
    if (len === 126) len = (src[at + 2]! << 8) | src[at + 3]!;
    else if (len === 127) {
      len = (src[at + 2]! * 2 ** 24 + (src[at + 3]! << 16 | src[at + 4]! << 8 | src[at + 5]!)) *
          2 ** 32 +
        ((src[at + 6]! << 24 >>> 0) + (src[at + 7]! << 16 | src[at + 8]! << 8 | src[at + 9]!));
    }
    if (b1 & 0x80) this.#error("server frame is masked");
    if (b0 & 0x70) this.#error("reserved bits set in a server frame");
    const opcode = b0 & 0x0f;
    this.#frameOpcode = opcode;
    this.#frameFin = (b0 & 0x80) !== 0;
    if (opcode === Opcode.text || opcode === Opcode.binary) {
      if (this.#msgOpcode !== -1) this.#error("new data frame inside a fragmented message");
      this.#msgOpcode = opcode;
      this.#msgLength = len;
    } else if (opcode === Opcode.continuation) {
      if (this.#msgOpcode === -1) this.#error("continuation frame without a message");
      this.#msgLength += len;
    } else if (opcode === Opcode.close) {
      this.closed = true;
    } else if (opcode !== Opcode.ping && opcode !== Opcode.pong) {
      this.#error(`unknown opcode ${opcode}`);
    }
    this.#payloadLeft = len;
    return len === 0 ? this.#frameEnd() : 0;
  }

  /** A frame's payload ended; returns 1 when it completed a data message. */
  #frameEnd(): number {
    const op = this.#frameOpcode;
    if (op > Opcode.binary || !this.#frameFin || this.#msgOpcode === -1) return 0;
    if (this.#msgOpcode !== this.#opcode) {
      this.#error(`echo has opcode ${this.#msgOpcode}, expected ${this.#opcode}`);
    } else if (this.#msgLength !== this.#length) {
      this.#error(`echo has ${this.#msgLength} bytes, expected ${this.#length}`);
    } else {
      this.good++;
    }
    this.#msgOpcode = -1;
    this.#msgLength = 0;
    return 1;
  }
}
