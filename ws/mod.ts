/**
 * WebSocket (RFC 6455) for Deno over plain TCP: a pure frame codec with
 * masking and incremental UTF-8 validation, a session that runs on an
 * already-upgraded `Deno.Conn` (with the bytes read past the HTTP head), a
 * minimal standalone server and a client. Depends on `@coroio/core` only.
 *
 * @example An echo server and a client
 * ```ts
 * import { connect, WebSocketServer, type WebSocketHandler, type WebSocketSession } from "@coroio/ws";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Echo implements WebSocketHandler {
 *   onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
 *     ws.send(data);
 *   }
 * }
 * const server = new WebSocketServer(Deno.listen({ hostname: "127.0.0.1", port: 0 }), new Echo());
 * const serving = server.serve();
 * const ws = await connect(`ws://127.0.0.1:${server.addr.port}/`);
 * await ws.send("hello");
 * for await (const message of ws) {
 *   equal(message, "hello");
 *   break; // leaving the loop closes the connection
 * }
 * await server.shutdown();
 * await serving;
 * ```
 *
 * @module
 */
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./close_code.ts";
export * from "./mask.ts";
export * from "./utf8_validator.ts";
export * from "./frame_builder.ts";
export * from "./frame_parser.ts";
export * from "./accept_key.ts";
export * from "./handshake.ts";
export {
  type ClientDeflateOptions,
  clientOffer,
  closeSharedDeflaters,
  type CompressionMode,
  deflateAvailable,
  DeflateNegotiationError,
  type DeflateParams,
  type ExtensionOffer,
  type Invalid,
  negotiateClient,
  negotiateServer,
  type NegotiationResult,
  PERMESSAGE_DEFLATE,
  PerMessageDeflate,
  type PerMessageDeflateEngineOptions,
  type PerMessageDeflateOptions,
  type TooBig,
} from "./permessage_deflate.ts";
export * from "./session.ts";
export * from "./server.ts";
export * from "./connect.ts";
export * from "./topics.ts";
// Core types that appear in this package's options, re-exported so that the
// API is complete without importing @coroio/core.
export {
  type Broker,
  type BrokerGap,
  type BrokerListener,
  BrokerState,
  type Clock,
  type ConnectionEndListener,
  type ConnectionHandle,
  Deadlines,
  type DeadlinesOptions,
  type ErrorReporter,
  type Expirable,
  GapReason,
  MemoryBroker,
  type MessageOrigin,
} from "@coroio/core";
export type { HeaderList, RequestHead, ResponseHead } from "@coroio/core/http1";
