// The timers of a session, one at a time: the idle ping, the pong deadline
// after it, and the close-handshake timeout. On a core Deadlines set when
// the options give one; otherwise on a process-wide wheel whose entries are
// the sessions themselves (intrusive lists: no map entry or boxed number per
// connection), ticked by one interval timer that runs only while something
// is armed. Which one is
// armed is `#timer`; what happens when it fires is the subclass's (KeepaliveHost).
import type { Deadlines, Expirable } from "@coroio/core";

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

/** The shared wheel's tick, in ms (the resolution of the shared Deadlines set it replaces). */
const TICK_MS = 250;
/** Slots of the shared wheel (a power of two); a deadline further away waits for more laps. */
const SLOTS = 256;
/** `#at` of a session a tick took off the wheel to expire it. */
const DUE = -2;
const SLOT_MASK = SLOTS - 1;

/** The shared wheel: per slot, the first of a list of armed sessions; `null` when none is armed. */
let wheel: (Keepalive | null)[] | null = null;
/** Sessions on the wheel. */
let onWheel = 0;
/** When tick 0 began (ms since the epoch). */
let wheelEpoch = 0;
/** The last tick whose slot was checked. */
let wheelDone = 0;
let wheelTimer: ReturnType<typeof setInterval> | undefined;

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
  /** The neighbours in the shared wheel's slot list. */
  #prev: Keepalive | null = null;
  #next: Keepalive | null = null;
  /** The wheel tick this expires at; -1 when not on the wheel, DUE while a tick expires it. */
  #at = -1;

  constructor(options: KeepaliveOptions) {
    this.#o = options;
  }

  abstract takeActivity(): boolean;
  abstract idlePing(): boolean;
  abstract pongTimedOut(): void;
  abstract closeTimedOut(): void;

  /** Arms the idle timer (the close timer if already closing). */
  start(closing: boolean): void {
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

  /** Disarms; nothing is armed again. */
  stop(): void {
    if ((this.#timer & T_STARTED) === 0) return;
    this.#disarm();
    this.#timer = T_NONE;
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
    if (ms > 0) {
      this.#timer = T_STARTED | kind;
      this.#set(ms);
    } else if (kind === T_CLOSE || kind === T_FAIL) {
      this.#timer = T_STARTED | kind;
      this.#set(1);
    } else {
      this.#timer = T_STARTED;
      this.#disarm();
    }
  }

  #set(ms: number): void {
    const d = this.#o.deadlines;
    if (d !== undefined) d.arm(this, ms);
    else if (ms === Infinity) this.#unlink();
    else this.#link(ms);
  }

  #disarm(): void {
    const d = this.#o.deadlines;
    if (d !== undefined) d.disarm(this);
    else this.#unlink();
  }

  /** Puts this session on the shared wheel, `ms` from now (re-arms if it is on it). */
  #link(ms: number): void {
    if (this.#at >= 0) this.#unlink();
    const now = Date.now();
    let w = wheel;
    if (w === null) {
      w = wheel = new Array<Keepalive | null>(SLOTS).fill(null);
      wheelEpoch = now;
      wheelDone = 0;
      wheelTimer = setInterval(Keepalive.#tick, TICK_MS);
    }
    const at = Math.max(wheelDone + 1, Math.ceil((now - wheelEpoch + ms) / TICK_MS));
    const slot = at & SLOT_MASK;
    const head = w[slot]!;
    this.#at = at;
    this.#next = head;
    if (head !== null) head.#prev = this;
    w[slot] = this;
    onWheel++;
  }

  /** Takes this session off the shared wheel (if on it); stops the wheel when it is empty. */
  #unlink(): void {
    const at = this.#at;
    if (at < 0) {
      // Taken off by a tick and about to expire: disarmed meanwhile (by an
      // earlier expiry of the same tick), so it must not.
      if (at === DUE) this.#at = -1;
      return;
    }
    const prev = this.#prev;
    const next = this.#next;
    if (prev !== null) prev.#next = next;
    else wheel![at & SLOT_MASK] = next;
    if (next !== null) next.#prev = prev;
    this.#prev = null;
    this.#next = null;
    this.#at = -1;
    if (--onWheel === 0) {
      clearInterval(wheelTimer);
      wheelTimer = undefined;
      wheel = null;
    }
  }

  /** The shared wheel's interval: expires what is due in the ticks since the last. */
  static #tick(this: void): void {
    const now = Date.now();
    const current = Math.floor((now - wheelEpoch) / TICK_MS);
    let due: Keepalive[] | null = null;
    // At most one lap: every slot once.
    for (let t = Math.max(wheelDone + 1, current - SLOTS + 1); t <= current; t++) {
      const w = wheel;
      if (w === null) break;
      for (let k: Keepalive | null = w[t & SLOT_MASK]!; k !== null;) {
        const next: Keepalive | null = k.#next;
        if (k.#at <= current) {
          k.#unlink();
          k.#at = DUE;
          (due ??= []).push(k);
        }
        k = next;
      }
    }
    wheelDone = current;
    if (due === null) return;
    for (const k of due) {
      // An earlier expiry of this tick may have re-armed or disarmed it
      // (a handler closing another session): then it is not due.
      if (k.#at !== DUE) continue;
      k.#at = -1;
      try {
        k.expire(now);
      } catch {
        // An expiry handler must not stop the others.
      }
    }
  }
}
