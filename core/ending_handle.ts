import type { ConnectionEndListener, ConnectionHandle } from "./tcp_server.ts";

const RESOLVED: Promise<void> = Promise.resolve();

function noop(): void {}

/**
 * The end of a {@linkcode ConnectionHandle} in one place: `done` made only
 * if asked for, one end listener ({@linkcode ConnectionHandle.prototype.onEnd},
 * told at once if the handle has ended already), and
 * {@linkcode EndingHandle.prototype.end} that settles both exactly once. A
 * handle that hands its connection on to another handle listens to it
 * (`connectionEnded` ends this one), so a long-lived connection holds no
 * promise for its holder.
 *
 * @example A handle whose work ends when asked
 * ```ts
 * import { EndingHandle } from "@coroio/core";
 * import { strictEqual as equal } from "node:assert/strict";
 *
 * class Task extends EndingHandle {
 *   shutdown(): void {
 *     this.end();
 *   }
 * }
 * const t = new Task();
 * const told: unknown[] = [];
 * t.onEnd({ connectionEnded: (handle) => told.push(handle) });
 * t.shutdown();
 * t.shutdown(); // ends once
 * equal(told.length, 1);
 * equal(told[0], t);
 * equal(await t.done, undefined);
 * ```
 */
export abstract class EndingHandle implements ConnectionHandle, ConnectionEndListener {
  /** Told when the work ends (the holder). */
  #listener: ConnectionEndListener | null = null;
  /** `done`, once asked for: pending, then settled once the work ended. */
  #done: PromiseWithResolvers<void> | Promise<void> | null = null;

  /** Settles once {@linkcode EndingHandle.prototype.end} was called (rejects with its error). */
  get done(): Promise<void> {
    const d = this.#done;
    if (d === null) return (this.#done = Promise.withResolvers<void>()).promise;
    return d instanceof Promise ? d : d.promise;
  }

  /**
   * Tells `listener` when the work ends, or soon if it has ended already
   * (with the error, if it failed).
   *
   * @param listener Told once.
   */
  onEnd(listener: ConnectionEndListener): void {
    const d = this.#done;
    if (d instanceof Promise) {
      d.then(() => listener.connectionEnded(this), (err) => listener.connectionEnded(this, err));
      return;
    }
    this.#listener = listener;
  }

  /**
   * The handle this one handed its connection to has ended: so has this one.
   *
   * @param _handle The handle that ended.
   * @param error Its error, if it failed.
   */
  connectionEnded(_handle: ConnectionHandle, error?: unknown): void {
    this.end(error);
  }

  /**
   * The work is over (`error`: it failed unexpectedly): settles `done` and
   * tells the listener. Later calls do nothing.
   *
   * @param error The failure, if any.
   */
  end(error?: unknown): void {
    const d = this.#done;
    if (d instanceof Promise) return; // Ended already.
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

  /** Graceful shutdown began (see {@linkcode ConnectionHandle.prototype.shutdown}). */
  abstract shutdown(): void;
}
