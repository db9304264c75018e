import { deepStrictEqual as deepEqual } from "node:assert/strict";
import type { Deadlines, Expirable } from "@coroio/core";
import { Keepalive, type KeepaliveHost, type KeepaliveOptions } from "./_keepalive.ts";

/** A deadline set that records what is armed; the test fires it by hand (no clock). */
class FakeDeadlines {
  armed: number | null = null;
  arm(_item: Expirable, ms: number): void {
    this.armed = ms;
  }
  disarm(_item: Expirable): void {
    this.armed = null;
  }
}

class Host implements KeepaliveHost {
  activity = false;
  canSend = true;
  log: string[] = [];
  takeActivity(): boolean {
    const a = this.activity;
    this.activity = false;
    return a;
  }
  idlePing(): boolean {
    if (!this.canSend) return false;
    this.log.push("ping");
    return true;
  }
  pongTimedOut(): void {
    this.log.push("pong timeout");
  }
  closeTimedOut(): void {
    this.log.push("close timeout");
  }
}

type Step = "expire" | "activity" | "closing" | "failing" | "stop" | "cannot send";

interface Case {
  name: string;
  timeouts?: { idleTimeout?: number; pongTimeout?: number; closeTimeout?: number };
  closing?: boolean;
  steps: Step[];
  /** What is armed after start and after each step (ms, or null). */
  armed: (number | null)[];
  log: string[];
}

const CASES: Case[] = [
  {
    name: "pings a silent peer after idleTimeout, then gives up after pongTimeout",
    steps: ["expire", "expire"],
    armed: [100, 30, null],
    log: ["ping", "pong timeout"],
  },
  {
    name: "re-arms the idle timer instead of pinging when bytes arrived",
    steps: ["activity", "expire", "expire"],
    armed: [100, 100, 100, 30],
    log: ["ping"],
  },
  {
    name: "counts any bytes after the ping as the pong",
    steps: ["expire", "activity", "expire"],
    armed: [100, 30, 30, 100],
    log: ["ping"],
  },
  {
    name: "uses idleTimeout for the pong when pongTimeout is 0",
    timeouts: { pongTimeout: 0 },
    steps: ["expire"],
    armed: [100, 100],
    log: ["ping"],
  },
  {
    name: "stops when nothing may be sent any more",
    steps: ["cannot send", "expire"],
    armed: [100, 100, null],
    log: [],
  },
  {
    name: "does not arm anything with idleTimeout 0",
    timeouts: { idleTimeout: 0 },
    steps: [],
    armed: [null],
    log: [],
  },
  {
    name: "replaces the idle timer with closeTimeout while closing",
    steps: ["closing", "expire"],
    armed: [100, 500, null],
    log: ["close timeout"],
  },
  {
    name: "arms closeTimeout at start for a session closed before it ran",
    closing: true,
    steps: ["expire"],
    armed: [500, null],
    log: ["close timeout"],
  },
  {
    name: "gives a failed connection at most one second",
    timeouts: { closeTimeout: 5000 },
    steps: ["failing", "expire"],
    armed: [100, 1000, null],
    log: ["close timeout"],
  },
  {
    name: "still closes at once with closeTimeout 0",
    timeouts: { closeTimeout: 0 },
    steps: ["closing"],
    armed: [100, 1],
    log: [],
  },
  {
    name: "disarms on stop",
    steps: ["stop"],
    armed: [100, null],
    log: [],
  },
];

/** A Keepalive whose host is a separate object the test inspects. */
class HostedKeepalive extends Keepalive {
  #host: KeepaliveHost;
  constructor(host: KeepaliveHost, options: KeepaliveOptions) {
    super(options);
    this.#host = host;
  }
  takeActivity(): boolean {
    return this.#host.takeActivity();
  }
  idlePing(): boolean {
    return this.#host.idlePing();
  }
  pongTimedOut(): void {
    this.#host.pongTimedOut();
  }
  closeTimedOut(): void {
    this.#host.closeTimedOut();
  }
}

for (const c of CASES) {
  Deno.test(`Keepalive.expire() ${c.name}`, () => {
    const deadlines = new FakeDeadlines();
    const host = new Host();
    const k = new HostedKeepalive(host, {
      idleTimeout: 100,
      pongTimeout: 30,
      closeTimeout: 500,
      ...c.timeouts,
      deadlines: deadlines as unknown as Deadlines,
    });
    k.start(c.closing ?? false);
    const armed = [deadlines.armed];
    for (const step of c.steps) {
      if (step === "expire") {
        deadlines.armed = null; // a deadline that fired is no longer armed
        k.expire(0);
      } else if (step === "activity") host.activity = true;
      else if (step === "closing") k.closing();
      else if (step === "failing") k.failing();
      else if (step === "stop") k.stop();
      else host.canSend = false;
      armed.push(deadlines.armed);
    }
    deepEqual(armed, c.armed);
    deepEqual(host.log, c.log);
  });
}

/** A Keepalive on the shared wheel that tells when it fired. */
class WheelKeepalive extends HostedKeepalive {
  fired: Promise<void>;
  #resolve: () => void;
  constructor(host: Host, options: Partial<KeepaliveOptions>) {
    super(host, {
      idleTimeout: 1,
      pongTimeout: 60_000,
      closeTimeout: 60_000,
      deadlines: undefined,
      ...options,
    });
    const { promise, resolve } = Promise.withResolvers<void>();
    this.fired = promise;
    this.#resolve = resolve;
  }
  override idlePing(): boolean {
    this.#resolve();
    return super.idlePing();
  }
  override closeTimedOut(): void {
    this.#resolve();
    super.closeTimedOut();
  }
}

const WHEEL_CASES: { name: string; start: (k: Keepalive) => void; log: string[] }[] = [
  { name: "pings an idle session", start: (k) => k.start(false), log: ["ping"] },
  { name: "times out a closing session", start: (k) => k.start(true), log: ["close timeout"] },
];

for (const c of WHEEL_CASES) {
  Deno.test(`Keepalive.start() on the shared wheel ${c.name}, not a stopped neighbour`, async () => {
    // Three sessions armed at once share a slot: the middle one is taken off its list.
    const hosts = [new Host(), new Host(), new Host()];
    const ks = hosts.map((h) => new WheelKeepalive(h, { closeTimeout: 1 }));
    for (const k of ks) c.start(k);
    ks[1]!.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bounded = new Promise<string>((r) => timer = setTimeout(r, 5000, "timed out"));
    const fired = await Promise.race([Promise.all([ks[0]!.fired, ks[2]!.fired]), bounded]);
    clearTimeout(timer);
    deepEqual(fired, [undefined, undefined]);
    deepEqual(hosts.map((h) => h.log), [c.log, [], c.log]);
    // Stopping the rest stops the wheel's interval (the sanitizer would see it otherwise).
    for (const k of ks) k.stop();
  });
}

/** Logs into a log shared by two sessions; the first acts on its partner when it pings. */
class PartnerHost extends Host {
  constructor(
    readonly name: string,
    readonly events: string[],
    readonly act: ((partner: Keepalive) => void) | null,
  ) {
    super();
  }
  partner: Keepalive | null = null;
  fired = Promise.withResolvers<void>();
  override idlePing(): boolean {
    this.events.push(`${this.name} ping`);
    if (this.act !== null && this.partner !== null) {
      this.act(this.partner);
      this.events.push(`${this.name} acted`);
    }
    this.fired.resolve();
    return true;
  }
  override closeTimedOut(): void {
    this.events.push(`${this.name} close timeout`);
  }
}

const PARTNER_CASES: { name: string; act: (partner: Keepalive) => void }[] = [
  { name: "re-arms (closing)", act: (partner) => partner.closing() },
  { name: "stops", act: (partner) => partner.stop() },
];

for (const c of PARTNER_CASES) {
  Deno.test(`Keepalive on the shared wheel: an expiry that ${c.name} a session due in the same tick is not overridden`, async () => {
    const events: string[] = [];
    const hostB = new PartnerHost("B", events, null);
    const hostA = new PartnerHost("A", events, c.act);
    const opts = {
      idleTimeout: 1,
      pongTimeout: 60_000,
      closeTimeout: 60_000,
      deadlines: undefined,
    };
    const b = new HostedKeepalive(hostB, opts);
    const a = new HostedKeepalive(hostA, opts);
    hostA.partner = b;
    b.start(false);
    a.start(false); // linked last: first in its slot's list
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        hostA.fired.promise,
        new Promise((_, reject) => timer = setTimeout(reject, 5000, new Error("A never pinged"))),
      ]);
      clearTimeout(timer);
      // Two more ticks: what the same tick or the next would still do.
      await new Promise((r) => timer = setTimeout(r, 600));
      const acted = events.indexOf("A acted");
      // B may have pinged before A acted (a tick earlier); nothing of B after.
      deepEqual(events.slice(acted + 1).filter((e) => e.startsWith("B")), []);
    } finally {
      clearTimeout(timer);
      a.stop();
      b.stop();
    }
  });
}
