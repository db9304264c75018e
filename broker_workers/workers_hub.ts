import { ACK, type Batch, BYE, PUB, SUB, UNSUB } from "./_protocol.ts";

/** One connected broker, seen from the hub. */
class Peer {
  readonly port: MessagePort;
  readonly topics = new Set<string>();
  /** The batch going to this peer, flushed after each incoming batch. */
  out: Batch = [];
  #router: Router;

  constructor(router: Router, port: MessagePort) {
    this.#router = router;
    this.port = port;
    port.addEventListener("message", this);
    port.start();
  }

  handleEvent(event: MessageEvent<Batch>): void {
    this.#router.receive(this, event.data);
  }
}

/** The routing table and batch processing shared by the hub's peers. */
class Router {
  readonly peers = new Set<Peer>();
  readonly topics = new Map<string, Set<Peer>>();
  #touched: Peer[] = [];

  receive(from: Peer, batch: Batch): void {
    const touched = this.#touched;
    let i = 0;
    while (i < batch.length) {
      const op = batch[i];
      if (op === PUB) {
        const topic = batch[i + 1] as string;
        const envelope = batch[i + 2] as Uint8Array;
        i += 3;
        const peers = this.topics.get(topic);
        if (peers === undefined) continue;
        for (const peer of peers) {
          if (peer === from) continue;
          if (peer.out.length === 0) touched.push(peer);
          peer.out.push(PUB, topic, envelope);
        }
      } else if (op === SUB || op === UNSUB) {
        const id = batch[i + 1] as number;
        const topic = batch[i + 2] as string;
        i += 3;
        if (op === SUB) this.#add(from, topic);
        else this.#remove(from, topic);
        if (from.out.length === 0) touched.push(from);
        from.out.push(ACK, id);
      } else if (op === BYE) {
        this.drop(from);
        break;
      } else {
        break; // not our protocol: ignore the rest of the batch
      }
    }
    for (const peer of touched) {
      if (this.peers.has(peer)) peer.port.postMessage(peer.out);
      peer.out = [];
    }
    touched.length = 0;
  }

  #add(peer: Peer, topic: string): void {
    peer.topics.add(topic);
    let peers = this.topics.get(topic);
    if (peers === undefined) {
      peers = new Set();
      this.topics.set(topic, peers);
    }
    peers.add(peer);
  }

  #remove(peer: Peer, topic: string): void {
    peer.topics.delete(topic);
    const peers = this.topics.get(topic);
    if (peers !== undefined && peers.delete(peer) && peers.size === 0) this.topics.delete(topic);
  }

  drop(peer: Peer): void {
    if (!this.peers.delete(peer)) return;
    for (const topic of peer.topics) this.#remove(peer, topic);
    peer.port.removeEventListener("message", peer);
    peer.port.close();
  }
}

/**
 * The main-thread side of {@linkcode WorkersBroker}: routes messages between
 * the brokers of one process's workers over `MessagePort`s (which queue
 * without a limit, unlike `BroadcastChannel`). Interest-based: a message goes
 * only to the ports that subscribed its topic, never back to its sender.
 * Each incoming batch is answered with at most one `postMessage` per port.
 *
 * @example A broker on the main thread and one on a MessagePort pair
 * ```ts
 * import { WorkersBroker, WorkersHub } from "@coroio/broker-workers";
 * import { strictEqual } from "node:assert/strict";
 *
 * const hub = new WorkersHub();
 * const a = new WorkersBroker({ port: hub.connect() }); // in a worker: transfer the port
 * await a.subscribe("room");
 * strictEqual(hub.topicCount, 1);
 * await a.close();
 * hub.close();
 * ```
 */
export class WorkersHub {
  #router = new Router();
  #remote = new WeakMap<MessagePort, Peer>();
  #closed = false;

  /**
   * Makes a port for one more broker: pass it to `new WorkersBroker({ port })`,
   * in a worker after transferring it (`worker.postMessage(port, [port])`).
   *
   * @returns The broker's end of a new channel.
   * @throws {Error} If the hub is closed.
   */
  connect(): MessagePort {
    if (this.#closed) throw new Error("Cannot connect: the hub is closed");
    const channel = new MessageChannel();
    const peer = new Peer(this.#router, channel.port1);
    this.#router.peers.add(peer);
    this.#remote.set(channel.port2, peer);
    return channel.port2;
  }

  /**
   * Drops a broker that cannot say goodbye (its worker crashed or was terminated; ports send
   * no close event): its subscriptions go and its port is closed. Unknown ports are ignored.
   *
   * @param port A port returned by {@linkcode WorkersHub.connect} (even after it was transferred).
   *
   * @example Cleaning up after a terminated worker
   * ```ts
   * import { WorkersBroker, WorkersHub } from "@coroio/broker-workers";
   * import { strictEqual } from "node:assert/strict";
   *
   * const hub = new WorkersHub();
   * const port = hub.connect();
   * const broker = new WorkersBroker({ port }); // stands for a broker in a worker
   * await broker.subscribe("room");
   * hub.disconnect(port);
   * strictEqual(hub.topicCount, 0);
   * await broker.close();
   * hub.close();
   * ```
   */
  disconnect(port: MessagePort): void {
    const peer = this.#remote.get(port);
    if (peer === undefined) return;
    this.#remote.delete(port);
    this.#router.drop(peer);
  }

  /** How many brokers are connected. */
  get peerCount(): number {
    return this.#router.peers.size;
  }

  /** How many topics have at least one subscribed broker. */
  get topicCount(): number {
    return this.#router.topics.size;
  }

  /** Closes every port (brokers still open stop receiving); idempotent. */
  close(): void {
    this.#closed = true;
    for (const peer of [...this.#router.peers]) this.#router.drop(peer);
  }
}
