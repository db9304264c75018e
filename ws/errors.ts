/**
 * The one place where WebSocket errors are created: every protocol violation,
 * limit and timeout has a stable code string and the close code to send.
 *
 * @module
 */

/**
 * Stable error codes carried by {@linkcode WebSocketError.prototype.code}.
 * Match on these, not on messages.
 *
 * @example Usage
 * ```ts
 * import { ErrorCode } from "@coroio/ws";
 *
 * console.log(ErrorCode.MaskRequired); // "WS_MASK_REQUIRED"
 * ```
 */
export const ErrorCode = {
  /** A client sent an unmasked frame (1002). */
  MaskRequired: "WS_MASK_REQUIRED",
  /** A server sent a masked frame (1002). */
  UnexpectedMask: "WS_UNEXPECTED_MASK",
  /** RSV1, RSV2 or RSV3 set without a negotiated extension (1002). */
  ReservedBits: "WS_RESERVED_BITS",
  /** An opcode in 3-7 or 11-15 (1002). */
  ReservedOpcode: "WS_RESERVED_OPCODE",
  /** A control frame without FIN (1002). */
  FragmentedControl: "WS_FRAGMENTED_CONTROL_FRAME",
  /** A control frame with a payload over 125 bytes (1002). */
  ControlTooLong: "WS_CONTROL_FRAME_TOO_LONG",
  /** A continuation frame with no message to continue (1002). */
  UnexpectedContinuation: "WS_UNEXPECTED_CONTINUATION",
  /** A new text or binary frame inside a fragmented message (1002). */
  ExpectedContinuation: "WS_EXPECTED_CONTINUATION",
  /** A 64-bit payload length with its most significant bit set (1002). */
  InvalidLength: "WS_INVALID_PAYLOAD_LENGTH",
  /** A close frame with a 1-byte payload (1002). */
  InvalidClosePayload: "WS_INVALID_CLOSE_PAYLOAD",
  /** A close frame with a code that may not be sent (1002). */
  InvalidCloseCode: "WS_INVALID_CLOSE_CODE",
  /** A text message or close reason that is not valid UTF-8 (1007). */
  InvalidUtf8: "WS_INVALID_UTF8",
  /** A frame larger than `maxFrameSize` (1009). */
  FrameTooBig: "WS_FRAME_TOO_BIG",
  /** A message larger than `maxMessageSize` (1009). */
  MessageTooBig: "WS_MESSAGE_TOO_BIG",
  /** A message in more than `maxFragments` frames (1009). */
  TooManyFragments: "WS_TOO_MANY_FRAGMENTS",
  /** Queued output passed the high-water mark with policy `"close"` (1008). */
  SlowConsumer: "WS_SLOW_CONSUMER",
  /** No pong (nor anything else) arrived after an idle ping (1006). */
  PongTimeout: "WS_PONG_TIMEOUT",
  /** The peer did not finish the close handshake in time (1006). */
  CloseTimeout: "WS_CLOSE_TIMEOUT",
  /** A handler method threw or its promise rejected (1011). */
  HandlerError: "WS_HANDLER_ERROR",
  /** Reading or writing the socket failed (1006). */
  IoError: "WS_IO_ERROR",
  /** The opening handshake failed (client side, or a server rejection). */
  HandshakeFailed: "WS_HANDSHAKE_FAILED",
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
 *
 * const err = new WebSocketError(ErrorCode.InvalidUtf8, 1007, "Invalid UTF-8 in a text message");
 * console.log(err.code, err.closeCode); // "WS_INVALID_UTF8" 1007
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
  WS_MASK_REQUIRED: [1002, "Invalid frame: a client frame must be masked"],
  WS_UNEXPECTED_MASK: [1002, "Invalid frame: a server frame must not be masked"],
  WS_RESERVED_BITS: [1002, "Invalid frame: RSV bits set without a negotiated extension"],
  WS_RESERVED_OPCODE: [1002, "Invalid frame: reserved opcode"],
  WS_FRAGMENTED_CONTROL_FRAME: [1002, "Invalid frame: a control frame must not be fragmented"],
  WS_CONTROL_FRAME_TOO_LONG: [1002, "Invalid frame: a control frame payload exceeds 125 bytes"],
  WS_UNEXPECTED_CONTINUATION: [1002, "Invalid frame: continuation frame without a message"],
  WS_EXPECTED_CONTINUATION: [1002, "Invalid frame: new data frame inside a fragmented message"],
  WS_INVALID_PAYLOAD_LENGTH: [1002, "Invalid frame: 64-bit payload length has its top bit set"],
  WS_INVALID_CLOSE_PAYLOAD: [1002, "Invalid close frame: a 1-byte payload"],
  WS_INVALID_CLOSE_CODE: [1002, "Invalid close frame: close code not allowed"],
  WS_INVALID_UTF8: [1007, "Invalid payload: text is not valid UTF-8"],
  WS_FRAME_TOO_BIG: [1009, "Frame too big: payload exceeds maxFrameSize"],
  WS_MESSAGE_TOO_BIG: [1009, "Message too big: exceeds maxMessageSize"],
  WS_TOO_MANY_FRAGMENTS: [1009, "Message too big: more frames than maxFragments"],
  WS_SLOW_CONSUMER: [1008, "Slow consumer: queued output above the high-water mark"],
  WS_PONG_TIMEOUT: [1006, "Peer unresponsive: no pong within pongTimeout of an idle ping"],
  WS_CLOSE_TIMEOUT: [1006, "Close handshake timed out"],
  WS_HANDLER_ERROR: [1011, "Handler failed"],
  WS_IO_ERROR: [1006, "Socket I/O failed"],
  WS_HANDSHAKE_FAILED: [1006, "Opening handshake failed"],
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
 *
 * const err = protocolError(ErrorCode.ReservedOpcode, "opcode 3");
 * console.log(err.closeCode, err.message); // 1002 "Invalid frame: reserved opcode: opcode 3"
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
