// The timers of a session, on one deadline of a core Deadlines set (one
// interval timer for all sessions, no timer per connection): the idle ping,
// the pong deadline after it, and the close-handshake timeout. Which one is
// armed is `#timer`; what happens when it fires goes through KeepaliveHost.
import type { Deadlines, Expirable } from "@coroio/core";
import { acquireDeadlines, releaseDeadlines } from "./_shared_deadlines.ts";

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

/** The grace period after a protocol error is at most this (ms). */
const FAIL_GRACE_MAX = 1000;

/** One session's idle, pong and close timers. */
export class Keepalive implements Expirable {
  #host: KeepaliveHost;
  /** The timeouts: an object sessions with the same options share (not copied). */
  #o: KeepaliveOptions;
  /** The set in use between `start()` and `stop()`. */
  #deadlines: Deadlines | null = null;
  #timer = T_NONE;

  /**
   * @param host Told when a timer fires; `null` when the host is a subclass
   * (the session's Connection is one: one object per session, not two).
   */
  constructor(host: KeepaliveHost | null, options: KeepaliveOptions) {
    this.#host = host ?? (this as unknown as KeepaliveHost);
    this.#o = options;
  }

  /** Takes the deadline set and arms the idle timer (the close timer if already closing). */
  start(closing: boolean): void {
    this.#deadlines = this.#o.deadlines ?? acquireDeadlines();
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
    this.#timer = T_NONE;
    const d = this.#deadlines;
    if (d === null) return;
    d.disarm(this);
    if (this.#o.deadlines === undefined) releaseDeadlines();
    this.#deadlines = null;
  }

  /** The armed deadline passed (called by the deadline set). */
  expire(_now: number): void {
    switch (this.#timer) {
      case T_IDLE: {
        const idle = this.#o.idleTimeout;
        if (this.#host.takeActivity()) this.#arm(T_IDLE, idle);
        else if (this.#host.idlePing()) this.#arm(T_PONG, this.#o.pongTimeout || idle);
        else this.#timer = T_NONE;
        break;
      }
      case T_PONG:
        if (this.#host.takeActivity()) this.#arm(T_IDLE, this.#o.idleTimeout);
        else this.#host.pongTimedOut();
        break;
      case T_CLOSE:
      case T_FAIL:
        this.#host.closeTimedOut();
        break;
    }
  }

  #arm(kind: number, ms: number): void {
    const d = this.#deadlines;
    if (d === null) return;
    if (ms > 0) {
      this.#timer = kind;
      d.arm(this, ms);
    } else if (kind === T_CLOSE || kind === T_FAIL) {
      this.#timer = kind;
      d.arm(this, 1);
    } else {
      this.#timer = T_NONE;
      d.disarm(this);
    }
  }
}
