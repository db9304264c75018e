// The broker the examples' --redis / --nats flags ask for, shared by the
// fan-out and chat examples. The client package is imported only when asked
// for, so a plain run loads no broker client.
import type { Broker } from "@coroio/core";
import type { FanoutFlags } from "./_args.ts";

/**
 * The external broker the flags ask for, loaded only then.
 *
 * @param flags The parsed flags.
 * @returns The broker, or `null` without --redis and --nats.
 */
export async function externalBroker(flags: FanoutFlags): Promise<Broker | null> {
  if (flags.redis !== null) {
    const { RedisBroker } = await import("@coroio/broker-redis");
    return new RedisBroker({ url: flags.redis, heartbeatInterval: 1000, maxReconnectDelay: 1000 });
  }
  if (flags.nats !== null) {
    const { NatsBroker } = await import("@coroio/broker-nats");
    return new NatsBroker({
      servers: flags.nats,
      heartbeatInterval: 1000,
      maxReconnectDelay: 1000,
    });
  }
  return null;
}
