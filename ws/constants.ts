/**
 * Protocol constants of RFC 6455: frame opcodes, close codes and the
 * connection states, as `as const` objects with derived union types.
 *
 * @module
 */

/**
 * Frame opcodes (RFC 6455 section 5.2). Values 3-7 and 11-15 are reserved.
 *
 * @example Usage
 * ```ts
 * import { Opcode } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(Opcode.Text, 1);
 * equal(Opcode.Close, 8);
 * ```
 */
export const Opcode = {
  /** A continuation frame of a fragmented message. */
  Continuation: 0x0,
  /** The first (or only) frame of a text message. */
  Text: 0x1,
  /** The first (or only) frame of a binary message. */
  Binary: 0x2,
  /** A close frame. */
  Close: 0x8,
  /** A ping. */
  Ping: 0x9,
  /** A pong. */
  Pong: 0xa,
} as const;

/** One of the {@linkcode Opcode} values. */
export type Opcode = typeof Opcode[keyof typeof Opcode];

/**
 * Close codes (RFC 6455 section 7.4 and the IANA registry).
 *
 * @example Usage
 * ```ts
 * import { CloseCode } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(CloseCode.ProtocolError, 1002);
 * equal(CloseCode.MessageTooBig, 1009);
 * ```
 */
export const CloseCode = {
  /** Normal closure. */
  Normal: 1000,
  /** The endpoint is going away (server shutdown, page navigation). */
  GoingAway: 1001,
  /** The peer broke the protocol. */
  ProtocolError: 1002,
  /** The peer sent a kind of data this endpoint cannot accept. */
  UnsupportedData: 1003,
  /** Reported when a close frame had no status code; never sent. */
  NoStatus: 1005,
  /** Reported when the connection closed without a close frame; never sent. */
  Abnormal: 1006,
  /** A text message (or close reason) was not valid UTF-8. */
  InvalidPayload: 1007,
  /** A policy was violated (for example a slow consumer). */
  PolicyViolation: 1008,
  /** A frame or message was larger than the limit. */
  MessageTooBig: 1009,
  /** The client expected an extension the server did not negotiate. */
  MandatoryExtension: 1010,
  /** The server hit an unexpected condition. */
  InternalError: 1011,
  /** The server is restarting. */
  ServiceRestart: 1012,
  /** The server is overloaded: try again later. */
  TryAgainLater: 1013,
  /** A gateway got an invalid response upstream. */
  BadGateway: 1014,
  /** Reported when the TLS handshake failed; never sent. */
  TlsHandshake: 1015,
} as const;

/** One of the {@linkcode CloseCode} values. */
export type CloseCode = typeof CloseCode[keyof typeof CloseCode];

/**
 * Connection states, with the numbers the browser `WebSocket.readyState` uses.
 *
 * @example Usage
 * ```ts
 * import { ReadyState } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * equal(ReadyState.Open, 1);
 * equal(ReadyState.Closed, 3);
 * ```
 */
export const ReadyState = {
  /** Not open yet. */
  Connecting: 0,
  /** Open: messages flow both ways. */
  Open: 1,
  /** A close frame was sent or received; waiting for the other side. */
  Closing: 2,
  /** The TCP connection is closed. */
  Closed: 3,
} as const;

/** One of the {@linkcode ReadyState} values. */
export type ReadyState = typeof ReadyState[keyof typeof ReadyState];
