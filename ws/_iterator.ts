// The message queue of a session created without a handler: the async
// iterator that `for await (const message of session)` uses. Reading pauses
// while the queue holds QUEUE_MAX messages and resumes once the consumer has
// taken half of them.

/** What a {@linkcode MessageQueue} asks and tells the session it belongs to. */
export interface MessageQueueHost {
  /** Whether the session has ended (no message will come any more). */
  ended(): boolean;
  /** The consumer made room: reading may resume. */
  drained(): void;
  /** The consumer left the loop early: close the connection (1000). */
  leave(): Promise<void>;
}

/** Messages queued before reading pauses. */
const QUEUE_MAX = 64;

const DONE: IteratorResult<string | Uint8Array> = { value: undefined, done: true };

/** Messages waiting for `for await`, and the consumer waiting for one. */
export class MessageQueue implements AsyncIterableIterator<string | Uint8Array> {
  #host: MessageQueueHost;
  #queue: (string | Uint8Array)[] = [];
  #head = 0;
  #waiter: PromiseWithResolvers<IteratorResult<string | Uint8Array>> | null = null;

  constructor(host: MessageQueueHost) {
    this.#host = host;
  }

  /** Whether reading should pause until the consumer catches up. */
  get full(): boolean {
    return this.#queue.length - this.#head >= QUEUE_MAX;
  }

  /** Hands a message to the waiting consumer, or queues it. */
  push(data: string | Uint8Array): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve({ value: data, done: false });
    } else {
      this.#queue.push(data);
    }
  }

  /** The session ended: a waiting consumer gets the end of the iteration. */
  end(): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve(DONE);
    }
  }

  next(): Promise<IteratorResult<string | Uint8Array>> {
    const queue = this.#queue;
    const head = this.#head;
    if (head < queue.length) {
      const value = queue[head]!;
      if (head + 1 === queue.length) {
        queue.length = 0;
        this.#head = 0;
      } else {
        queue[head] = "";
        this.#head = head + 1;
      }
      if (queue.length - this.#head < QUEUE_MAX / 2) this.#host.drained();
      return Promise.resolve({ value, done: false });
    }
    if (this.#host.ended()) return Promise.resolve(DONE);
    this.#waiter = Promise.withResolvers();
    return this.#waiter.promise;
  }

  async return(): Promise<IteratorResult<string | Uint8Array>> {
    await this.#host.leave();
    return DONE;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
