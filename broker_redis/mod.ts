/**
 * Pub/sub topics across processes and machines through Redis: a
 * `RedisBroker` implementing the `Broker` interface of `@coroio/core`.
 *
 * The client is the official `redis` package (node-redis), through its core
 * `@redis/client` (the `redis` package only adds the search, JSON, Bloom and
 * time-series command modules, which a broker never loads), not `ioredis`:
 * node-redis is the one Redis maintains and recommends for new code (ioredis
 * is in maintenance mode), it supports RESP3, and its pub/sub API takes a
 * listener per channel with binary (`Buffer`) messages, which is all this
 * broker needs. Its reconnect logic is not trusted for the subscriber
 * connection (socket.io #4845 and ioredis #1451 are clients that silently
 * stopped receiving after a reconnect): the broker owns that connection's
 * lifecycle, heartbeat and resubscription itself.
 *
 * Redis pub/sub is at most once: messages are lost while a connection is
 * down or when Redis disconnects a slow subscriber (`client-output-buffer-limit
 * pubsub`, 32 MiB by default). The broker reports both as gaps.
 *
 * @example Options are checked before connecting
 * ```ts
 * import { RedisBroker } from "@coroio/broker-redis";
 * import { throws } from "node:assert/strict";
 *
 * throws(() => new RedisBroker({ reconnectDelay: -1 }), RangeError);
 * ```
 *
 * @module
 */
export * from "./redis_broker.ts";
// The broker contract from @coroio/core, re-exported so this package's docs are complete alone.
export {
  type Broker,
  BrokerClosedError,
  type BrokerGap,
  type BrokerListener,
  type BrokerOptions,
  BrokerState,
  GapReason,
  MessageFlags,
  type MessageOrigin,
  type ReconnectingBrokerOptions,
} from "@coroio/core";
