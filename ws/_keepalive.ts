// The timers of a session, on one deadline of a core Deadlines set (one
// interval timer for all sessions, no timer per connection): the idle ping,
// the pong deadline after it, and the close-handshake timeout. Which one is
// armed is `#timer`; what happens when it fires is the subclass's (KeepaliveHost).
import type { Deadlines, Expirable } from "@coroio/core";
import { acquireDeadlines, releaseDeadlines, sharedDeadlines } from "./_shared_deadlines.ts";

/** What a {@linkcode Keepalive} asks and tells the session it belongs to. */
export interface KeepaliveHost {
  /** Whether bytes arrived since the last call (the answer resets it). */
  takeActivity(): boolean;
  /** Sends an idle ping; `false` if nothing may be sent any more. */
  idlePing(): boolean;
  /** Nothing arrived within the pong timeout of an idle ping. */
  pongTimedOut(): void;
  /** The close handshake (or the grace after a failure) took too long. */
  closeTimedOut(): void;
}

/** Timeouts of a {@linkcode Keepalive}, in milliseconds, validated by the session. */
export interface KeepaliveOptions {
  idleTimeout: number;
  pongTimeout: number;
  closeTimeout: number;
  /** The set to use; a process-wide one when unset. */
  deadlines: Deadlines | undefined;
}

const T_NONE = 0;
const T_IDLE = 1;
const T_PONG = 2;
const T_CLOSE = 3;
const T_FAIL = 4;
/** Set between `start()` and `stop()` (the deadline set is held). */
const T_STARTED = 8;

/** The grace period after a protocol error is at most this (ms). */
const FAIL_GRACE_MAX = 1000;

/**
 * One session's idle, pong and close timers; the session's connection
 * extends it and is its host (one object per session, not two, and no
 * field to point from one to the other).
 */
export abstract class Keepalive implements Expirable, KeepaliveHost {
  /** The timeouts: an object sessions with the same options share (not copied). */
  #o: KeepaliveOptions;
  /** The armed timer (T_*), plus T_STARTED between `start()` and `stop()`. */
  #timer = T_NONE;

  constructor(options: KeepaliveOptions) {
    this.#o = options;
  }

  abstract takeActivity(): boolean;
  abstract idlePing(): boolean;
  abstract pongTimedOut(): void;
  abstract closeTimedOut(): void;

  /** The set in use (started only): the options' or the shared one this session holds. */
  get #deadlines(): Deadlines {
    return this.#o.deadlines ?? sharedDeadlines()!;
  }

  /** Takes the deadline set and arms the idle timer (the close timer if already closing). */
  start(closing: boolean): void {
    if (this.#o.deadlines === undefined) acquireDeadlines();
    this.#timer = T_STARTED;
    if (closing) this.closing();
    else this.#arm(T_IDLE, this.#o.idleTimeout);
  }

  /** A close frame was sent or received: wait at most closeTimeout for the rest. */
  closing(): void {
    this.#arm(T_CLOSE, this.#o.closeTimeout);
  }

  /** The connection failed: a short grace for the close frame, then TCP closes. */
  failing(): void {
    this.#arm(T_FAIL, Math.min(this.#o.closeTimeout, FAIL_GRACE_MAX));
  }

  /** Disarms and lets go of the deadline set. */
  stop(): void {
    if ((this.#timer & T_STARTED) === 0) return;
    this.#deadlines.disarm(this);
    this.#timer = T_NONE;
    if (this.#o.deadlines === undefined) releaseDeadlines();
  }

  /** The armed deadline passed (called by the deadline set). */
  expire(_now: number): void {
    switch (this.#timer) {
      case T_STARTED | T_IDLE: {
        const idle = this.#o.idleTimeout;
        if (this.takeActivity()) this.#arm(T_IDLE, idle);
        else if (this.idlePing()) this.#arm(T_PONG, this.#o.pongTimeout || idle);
        else this.#timer = T_STARTED;
        break;
      }
      case T_STARTED | T_PONG:
        if (this.takeActivity()) this.#arm(T_IDLE, this.#o.idleTimeout);
        else this.pongTimedOut();
        break;
      case T_STARTED | T_CLOSE:
      case T_STARTED | T_FAIL:
        this.closeTimedOut();
        break;
    }
  }

  #arm(kind: number, ms: number): void {
    if ((this.#timer & T_STARTED) === 0) return;
    const d = this.#deadlines;
    if (ms > 0) {
      this.#timer = T_STARTED | kind;
      d.arm(this, ms);
    } else if (kind === T_CLOSE || kind === T_FAIL) {
      this.#timer = T_STARTED | kind;
      d.arm(this, 1);
    } else {
      this.#timer = T_STARTED;
      d.disarm(this);
    }
  }
}
