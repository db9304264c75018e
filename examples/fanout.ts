/**
 * A pub/sub fan-out server over WebSocket (any path), on one core, on N
 * cores (`--workers N`), and across processes and machines through Redis
 * (`--redis redis://HOST:PORT`) or NATS (`--nats nats://HOST:PORT`).
 *
 *     deno run -A examples/fanout.ts --port 8082
 *     deno run -A --unstable-net examples/fanout.ts --port 8082 --workers 2 --redis redis://127.0.0.1:6379
 *
 * The protocol:
 * - text `sub <topic>`: subscribes; answered `subscribed <topic>` once the
 *   subscription is active everywhere (the broker confirmed it);
 * - text `unsub <topic>`: answered `unsubscribed <topic>`;
 * - text `pub <topic> <payload>`: publishes the payload (everything after
 *   the second space, possibly empty) as a text message to every subscriber
 *   on every process, the sender included if subscribed;
 * - binary: byte 0 is a topic length L, then L bytes of UTF-8 topic, then
 *   the payload, published as a binary message.
 *
 * Topics are opaque: `x.*` and `x.>` are names, not wildcards. While the
 * broker is healthy every subscriber gets each message exactly once, and a
 * publisher's messages in the order it published them. Messages lost beyond
 * this process (a broker outage) are reported on stderr as
 * `gap <reason> <topic> <missed>`.
 *
 * With `--workers`, the workers share the port with `SO_REUSEPORT` when Deno
 * runs with `--unstable-net`, else through one shared accept queue. Prints
 * `listening on ws://HOST:PORT`; stops gracefully on SIGINT or SIGTERM.
 *
 * @module
 */
import type { Broker, BrokerGap } from "@coroio/core";
import { Topics, type WebSocketHandler, WebSocketServer, type WebSocketSession } from "@coroio/ws";
import { printListening } from "./_args.ts";
import { runScalable } from "./_broker.ts";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The protocol above, over a {@linkcode Topics} hub. */
export class Fanout implements WebSocketHandler {
  readonly topics: Topics;

  /**
   * Serves the protocol over a hub.
   *
   * @param topics The hub (with or without a broker).
   */
  constructor(topics: Topics) {
    this.topics = topics;
  }

  /**
   * Handles one command or binary publish.
   *
   * @param ws The session.
   * @param data The message.
   */
  onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    if (typeof data !== "string") {
      const n = data[0];
      if (n === undefined || data.length < 1 + n) return;
      let topic: string;
      try {
        topic = decoder.decode(data.subarray(1, 1 + n));
      } catch {
        return; // not UTF-8: not a topic
      }
      this.topics.publish(topic, data.subarray(1 + n));
    } else if (data.startsWith("pub ")) {
      const space = data.indexOf(" ", 4);
      const topic = space < 0 ? data.slice(4) : data.slice(4, space);
      this.topics.publish(topic, space < 0 ? "" : data.slice(space + 1));
    } else if (data.startsWith("sub ")) {
      this.#subscribe(ws, data.slice(4));
    } else if (data.startsWith("unsub ")) {
      const topic = data.slice(6);
      this.topics.unsubscribe(ws, topic);
      ws.send(`unsubscribed ${topic}`);
    }
  }

  async #subscribe(ws: WebSocketSession, topic: string): Promise<void> {
    try {
      await this.topics.subscribe(ws, topic);
      ws.send(`subscribed ${topic}`);
    } catch (error) {
      ws.send(`error ${topic} ${(error as Error).message}`);
    }
  }
}

function reportGap(gap: BrokerGap): void {
  // deno-lint-ignore no-console
  console.error(`gap ${gap.reason} ${gap.topic} ${gap.missed}`);
}

/** Serves on `listener` until `signal` aborts; closes the broker. */
async function serve(
  listener: Deno.Listener,
  broker: Broker | null,
  signal: AbortSignal,
  print: boolean,
): Promise<void> {
  const topics = new Topics(broker === null ? { onGap: reportGap } : { broker, onGap: reportGap });
  const server = new WebSocketServer(listener, new Fanout(topics), {
    // publish() copies what it sends: the handler can take binary messages as borrowed views.
    borrowMessages: true,
    signal,
    shutdownTimeout: 3000,
    closeTimeout: 2000,
  });
  const serving = server.serve();
  if (print) printListening("ws", server.addr);
  await serving;
  await broker?.close();
}

if (import.meta.main) await runScalable(import.meta.url, "ws", 8082, serve);
