// The handle the HTTP server's accept loop holds per connection: the HTTP
// connection, then the upgrade target's handle after a takeover (the code
// after an UpgradeTarget takes a connection).
import {
  closeQuietly,
  type ConnectionHandle,
  EndingHandle,
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
export class ConnectionSlot extends EndingHandle {
  #current: ConnectionHandle | HttpConnection | null;
  #shuttingDown = false;
  #reporter: ErrorReporter | null;

  constructor(config: ConnectionConfig, conn: Deno.Conn) {
    super();
    const http = new HttpConnection(config, conn, this);
    this.#current = http;
    this.#reporter = config.reporter;
    // Closures made once per connection, released when the HTTP loop ends.
    http.run(config.handler).then(
      (pending) => this.#httpEnded(pending),
      (err) => this.end(err),
    );
  }

  shutdown(): void {
    this.#shuttingDown = true;
    this.#current?.shutdown();
  }

  /** The connection's work is over (`error`: it failed unexpectedly). */
  override end(error?: unknown): void {
    this.#current = null;
    super.end(error);
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
