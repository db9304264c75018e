// Noticing a client that goes away while its handler runs. The server keeps
// no read pending while a handler works, so without this a closed client is
// seen only when a write fails. A request whose handler asks for
// `req.signal` gets one of these: once the body was read (or there was
// none), it keeps one read pending on the connection's buffer. Bytes that
// arrive stay buffered for the next (pipelined) request and end the watch;
// end of stream or a reset aborts the signal. Nothing of this exists for a
// request whose handler does not ask.
import type { BufReader } from "@coroio/core";

/** What a watch needs of its connection. */
export interface WatchHost {
  /** The connection's read buffer: the watch reads into it. */
  readonly reader: BufReader;
  /** The client went away: close the connection after the response. */
  clientGone(): void;
}

/** The reason a request's signal aborts with when its client went away. */
export function clientGoneReason(cause?: unknown): DOMException {
  const err = new DOMException(
    "The client closed the connection before the response was complete",
    "AbortError",
  );
  if (cause !== undefined) (err as { cause?: unknown }).cause = cause;
  return err;
}

/** One request's disconnect watch; see the module comment. */
export class DisconnectWatch {
  readonly #controller = new AbortController();
  readonly #host: WatchHost;
  /** The read in flight, or `null`. */
  #pending: Promise<number | null> | null = null;
  /** Whether the watch may still read (the response is not done). */
  #active = true;
  /** Whether reading is allowed at all (not for a request that may be taken over). */
  readonly #enabled: boolean;

  constructor(host: WatchHost, enabled: boolean) {
    this.#host = host;
    this.#enabled = enabled;
  }

  /** The signal handed to the application. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /**
   * The request body is fully read (or there was none): start watching,
   * unless bytes of a next request are already buffered.
   */
  start(): void {
    if (!this.#active || !this.#enabled || this.#pending !== null) return;
    const reader = this.#host.reader;
    if (reader.eof) {
      this.#gone(undefined);
      return;
    }
    if (reader.buffered > 0) return;
    // A fresh buffer (of the initial size: watching must not grow it), so
    // body bytes the handler still holds as views of the old one (borrow(),
    // read()) are not overwritten by a next request arriving.
    reader.renewBuffer();
    const p = reader.fill();
    this.#pending = p;
    p.then(this.#onRead, this.#onError);
  }

  /** Whether a read is in flight (the connection cannot be handed over then). */
  get reading(): boolean {
    return this.#pending !== null && !this.#failed;
  }

  /** The read failed: no longer in flight, though stop() still hands its promise on. */
  #failed = false;

  /**
   * The response is done: read no more. Returns the read still in flight,
   * which the connection must await before it touches the buffer again.
   */
  stop(): Promise<number | null> | null {
    this.#active = false;
    return this.#pending;
  }

  /** The server is shutting down: abort the signal (the read, if any, stays). */
  serverClosing(): void {
    if (this.#active && !this.#controller.signal.aborted) {
      this.#controller.abort(new DOMException("The server is shutting down", "AbortError"));
    }
  }

  #onRead = (n: number | null): void => {
    this.#pending = null;
    if (n === null) this.#gone(undefined);
    else if (n === 0) this.start();
    // Bytes of a next request arrived: the client is there; they wait in
    // the buffer, and reading more now could deadlock a client that waits
    // for this response before it sends again.
  };

  #onError = (err: unknown): void => {
    // The promise stays with the connection, which sees the error when it
    // reads next; here it only aborts the signal.
    this.#failed = true;
    this.#gone(err);
  };

  #gone(cause: unknown): void {
    // After the response, the connection sees the end itself.
    if (!this.#active) return;
    this.#host.clientGone();
    if (!this.#controller.signal.aborted) this.#controller.abort(clientGoneReason(cause));
  }
}
