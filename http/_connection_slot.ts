// The handle the HTTP server's accept loop holds per connection: the HTTP
// connection, then the upgrade target's handle after a takeover (the code
// after an UpgradeTarget takes a connection).
import {
  closeQuietly,
  type ConnectionEndListener,
  type ConnectionHandle,
  type ErrorReporter,
  isClosedError,
} from "@coroio/core";
import {
  type ConnectionConfig,
  HttpConnection,
  type PendingTakeover,
  type TakeoverRecord,
} from "./_connection.ts";

/**
 * The handle the accept loop holds for one connection: first the HTTP
 * connection, then (after a takeover) the handle the upgrade target
 * returned. Once the HTTP loop has ended, nothing of its state (parser,
 * buffers, request) is referenced from here. The accept loop learns of the
 * end through `onEnd()`, and a target's handle with `onEnd()` (a WebSocket
 * session) tells this slot the same way: no promise waits on another while
 * an upgraded connection idles (`done` is made only if asked for).
 */
export class ConnectionSlot implements ConnectionHandle, ConnectionEndListener {
  #current: ConnectionHandle | HttpConnection | null;
  /** Told when the connection ends (the accept loop). */
  #listener: ConnectionEndListener | null = null;
  /** `done`, once asked for: pending, then settled once the connection ended. */
  #done: PromiseWithResolvers<void> | Promise<void> | null = null;
  #shuttingDown = false;
  #reporter: ErrorReporter | null;

  constructor(config: ConnectionConfig, conn: Deno.Conn) {
    const http = new HttpConnection(config, conn, this);
    this.#current = http;
    this.#reporter = config.reporter;
    // Closures made once per connection, released when the HTTP loop ends.
    http.run(config.handler).then(
      (pending) => this.#httpEnded(pending),
      (err) => this.end(err),
    );
  }

  get done(): Promise<void> {
    const d = this.#done;
    if (d === null) return (this.#done = Promise.withResolvers<void>()).promise;
    return d instanceof Promise ? d : d.promise;
  }

  onEnd(listener: ConnectionEndListener): void {
    const d = this.#done;
    if (d instanceof Promise) {
      // Ended already: tell at once (with the error, if it failed).
      d.then(() => listener.connectionEnded(this), (err) => listener.connectionEnded(this, err));
      return;
    }
    this.#listener = listener;
  }

  shutdown(): void {
    this.#shuttingDown = true;
    this.#current?.shutdown();
  }

  /** The target's handle ended. */
  connectionEnded(_handle: ConnectionHandle, error?: unknown): void {
    this.end(error);
  }

  /** The connection's work is over (`error`: it failed unexpectedly). */
  end(error?: unknown): void {
    const d = this.#done;
    if (d instanceof Promise) return; // Ended already.
    this.#current = null;
    if (error === undefined) this.#done = RESOLVED;
    else (this.#done = Promise.reject(error)).catch(noop); // Told to the listener.
    if (d !== null) {
      if (error === undefined) d.resolve();
      else d.reject(error);
    }
    const listener = this.#listener;
    this.#listener = null;
    listener?.connectionEnded(this, error);
  }

  /** The HTTP loop ended: a takeover goes on to its target. */
  #httpEnded(pending: PendingTakeover | null): void {
    if (pending === null) this.end();
    else this.#startTarget(pending);
  }

  /** The HTTP loop ended with a takeover: hand the conn to the upgrade target. */
  #startTarget(pending: PendingTakeover): void {
    this.#current = null;
    let started: Promise<ConnectionHandle | null>;
    try {
      started = pending.target.upgrade(pending.takeover);
    } catch (err) {
      // The target owns the conn but failed before taking care of it.
      pending.takeover.answered(0);
      closeQuietly(pending.takeover.conn);
      this.end(err);
      return;
    }
    const takeover = pending.takeover;
    // Closures made once per takeover, released when the target has started.
    started.then(
      (handle) => this.#adopt(handle, takeover),
      (err) => this.#upgradeFailed(err, takeover),
    );
  }

  /** The target started: hold its handle (shut it down at once if shutdown began). */
  #adopt(handle: ConnectionHandle | null, takeover: TakeoverRecord): void {
    // A target that did not say what it answered: a handle means it switched protocols.
    takeover.answered(handle === null ? 0 : 101);
    if (handle === null) {
      this.end();
      return;
    }
    this.#current = handle;
    if (typeof handle.onEnd === "function") handle.onEnd(this);
    else handle.done.then(() => this.end(), (err) => this.end(err));
    if (this.#shuttingDown) handle.shutdown();
  }

  #upgradeFailed(err: unknown, takeover: TakeoverRecord): void {
    takeover.answered(0);
    closeQuietly(takeover.conn);
    if (!isClosedError(err)) {
      try {
        this.#reporter?.report(err, "upgrade");
      } catch {
        // A reporter that throws must not break shutdown accounting.
      }
    }
    this.end();
  }
}

const RESOLVED: Promise<void> = Promise.resolve();

function noop(): void {}
