/**
 * Pub/sub topics across processes and machines through NATS: a `NatsBroker`
 * implementing the `Broker` interface of `@coroio/core`, on the official
 * `@nats-io/transport-node` client, and `topicSubject`, the encoding that
 * keeps topics literal on NATS (whose subjects treat `*` and `>` as
 * wildcards and `.` as a separator).
 *
 * NATS core suits live fan-out: the server routes a subject only to the
 * connections subscribed to it. It is at most once: the broker reports lost
 * messages as gaps (reconnects and sequence holes) so the application can
 * resync. Payloads are bounded by the server's `max_payload` (1 MiB by
 * default, envelope included: raise it to carry 1 MiB messages).
 *
 * @example Encoding topics into subjects
 * ```ts
 * import { topicSubject } from "@coroio/broker-nats";
 * import { notStrictEqual } from "node:assert/strict";
 *
 * notStrictEqual(topicSubject("app", "a.b"), topicSubject("app", "a~2Eb"));
 * ```
 *
 * @module
 */
export * from "./nats_broker.ts";
export * from "./subject.ts";
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
