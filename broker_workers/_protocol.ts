// The wire protocol between a WorkersBroker and the WorkersHub: each postMessage carries one
// batch, a flat array of operations, each an opcode followed by its fixed arguments.

/** `[SUB, id, topic]` broker to hub; the hub answers `[ACK, id]`. */
export const SUB = 1;
/** `[UNSUB, id, topic]` broker to hub; the hub answers `[ACK, id]`. */
export const UNSUB = 2;
/** `[PUB, topic, envelope]` both ways: a broker publishes, the hub delivers. */
export const PUB = 3;
/** `[BYE]` broker to hub: the broker closed; the hub drops its subscriptions and port. */
export const BYE = 4;
/** `[ACK, id]` hub to broker. */
export const ACK = 5;

/** One batch. */
export type Batch = (number | string | Uint8Array)[];
