/**
 * The one place where WebSocket errors are created: every protocol violation,
 * limit and timeout has a stable code string and the close code to send.
 *
 * @module
 */

/**
 * Stable error codes carried by {@linkcode WebSocketError.prototype.code}:
 * kebab-case strings, the convention of every `@coroio` package (the HTTP
 * parser's codes read the same way, e.g. `obs-fold`). Match on these, not on
 * messages.
 *
 * @example Usage
 * ```ts
 * import { ErrorCode } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(ErrorCode.MaskRequired, "mask-required");
 * ```
 */
export const ErrorCode = {
  /** A client sent an unmasked frame (1002). */
  MaskRequired: "mask-required",
  /** A server sent a masked frame (1002). */
  UnexpectedMask: "unexpected-mask",
  /** RSV1, RSV2 or RSV3 set without a negotiated extension (1002). */
  ReservedBits: "reserved-bits",
  /** An opcode in 3-7 or 11-15 (1002). */
  ReservedOpcode: "reserved-opcode",
  /** A control frame without FIN (1002). */
  FragmentedControl: "fragmented-control-frame",
  /** A control frame with a payload over 125 bytes (1002). */
  ControlTooLong: "control-frame-too-long",
  /** A continuation frame with no message to continue (1002). */
  UnexpectedContinuation: "unexpected-continuation",
  /** A new text or binary frame inside a fragmented message (1002). */
  ExpectedContinuation: "expected-continuation",
  /** A 64-bit payload length with its most significant bit set (1002). */
  InvalidLength: "invalid-payload-length",
  /** A close frame with a 1-byte payload (1002). */
  InvalidClosePayload: "invalid-close-payload",
  /** A close frame with a code that may not be sent (1002). */
  InvalidCloseCode: "invalid-close-code",
  /** A text message or close reason that is not valid UTF-8 (1007). */
  InvalidUtf8: "invalid-utf8",
  /** A permessage-deflate message that is not a valid deflate stream (1007). */
  InvalidCompressedData: "invalid-compressed-data",
  /** A frame larger than `maxFrameSize` (1009). */
  FrameTooBig: "frame-too-big",
  /** A message larger than `maxMessageSize` (1009). */
  MessageTooBig: "message-too-big",
  /** A message in more than `maxFragments` frames (1009). */
  TooManyFragments: "too-many-fragments",
  /** Queued output passed the high-water mark with policy `"close"` (1008). */
  SlowConsumer: "slow-consumer",
  /** No pong (nor anything else) arrived after an idle ping (1006). */
  PongTimeout: "pong-timeout",
  /** The peer did not finish the close handshake in time (1006). */
  CloseTimeout: "close-timeout",
  /** A handler method threw or its promise rejected (1011). */
  HandlerError: "handler-error",
  /** Reading or writing the socket failed (1006). */
  IoError: "io-error",
  /** The opening handshake failed (client side, or a server rejection). */
  HandshakeFailed: "handshake-failed",
} as const;

/** One of the {@linkcode ErrorCode} values. */
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode];

/**
 * An error of a WebSocket connection: a protocol violation by the peer, a
 * limit, a timeout, a failed handshake, or a handler that threw.
 *
 * @example Usage
 * ```ts
 * import { ErrorCode, WebSocketError } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const err = new WebSocketError(ErrorCode.InvalidUtf8, 1007, "Invalid UTF-8 in a text message");
 * equal(err.code, "invalid-utf8");
 * equal(err.closeCode, 1007);
 * equal(err.name, "WebSocketError");
 * ```
 */
export class WebSocketError extends Error {
  /** The stable code string, one of {@linkcode ErrorCode}. */
  readonly code: ErrorCode;
  /** The close code sent (or reported) for this error. */
  readonly closeCode: number;

  /**
   * Creates the error. Library code uses {@linkcode protocolError} instead.
   *
   * @param code The stable code.
   * @param closeCode The close code that goes with it.
   * @param message What failed and why.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(code: ErrorCode, closeCode: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "WebSocketError";
    this.code = code;
    this.closeCode = closeCode;
  }
}

const TABLE: Record<ErrorCode, readonly [number, string]> = {
  "mask-required": [1002, "Invalid frame: a client frame must be masked"],
  "unexpected-mask": [1002, "Invalid frame: a server frame must not be masked"],
  "reserved-bits": [1002, "Invalid frame: RSV bits set without a negotiated extension"],
  "reserved-opcode": [1002, "Invalid frame: reserved opcode"],
  "fragmented-control-frame": [1002, "Invalid frame: a control frame must not be fragmented"],
  "control-frame-too-long": [1002, "Invalid frame: a control frame payload exceeds 125 bytes"],
  "unexpected-continuation": [1002, "Invalid frame: continuation frame without a message"],
  "expected-continuation": [1002, "Invalid frame: new data frame inside a fragmented message"],
  "invalid-payload-length": [1002, "Invalid frame: 64-bit payload length has its top bit set"],
  "invalid-close-payload": [1002, "Invalid close frame: a 1-byte payload"],
  "invalid-close-code": [1002, "Invalid close frame: close code not allowed"],
  "invalid-utf8": [1007, "Invalid payload: text is not valid UTF-8"],
  "invalid-compressed-data": [1007, "Invalid payload: compressed data does not inflate"],
  "frame-too-big": [1009, "Frame too big: payload exceeds maxFrameSize"],
  "message-too-big": [1009, "Message too big: exceeds maxMessageSize"],
  "too-many-fragments": [1009, "Message too big: more frames than maxFragments"],
  "slow-consumer": [1008, "Slow consumer: queued output above the high-water mark"],
  "pong-timeout": [1006, "Peer unresponsive: no pong within pongTimeout of an idle ping"],
  "close-timeout": [1006, "Close handshake timed out"],
  "handler-error": [1011, "Handler failed"],
  "io-error": [1006, "Socket I/O failed"],
  "handshake-failed": [1006, "Opening handshake failed"],
};

/**
 * Creates the {@linkcode WebSocketError} for a code, with the close code and
 * message from one table (so every violation is reported the same way).
 *
 * @param code The stable code.
 * @param detail Added to the message after a colon, when given.
 * @param cause The underlying error, if any.
 * @returns The error, not thrown.
 *
 * @example Usage
 * ```ts
 * import { ErrorCode, protocolError } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * const err = protocolError(ErrorCode.ReservedOpcode, "opcode 3");
 * equal(err.closeCode, 1002);
 * equal(err.message, "Invalid frame: reserved opcode: opcode 3");
 * ```
 */
export function protocolError(code: ErrorCode, detail?: string, cause?: unknown): WebSocketError {
  const [closeCode, message] = TABLE[code];
  return new WebSocketError(
    code,
    closeCode,
    detail === undefined ? message : `${message}: ${detail}`,
    cause === undefined ? undefined : { cause },
  );
}
