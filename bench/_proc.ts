/**
 * Process handling for the benchmark runner (Linux only): CPU time and
 * resident memory from `/proc`, and servers started on port 0 whose
 * `listening on ...` line gives the port, stopped by PID and checked gone.
 *
 * @module
 */

let ticksPerSecond = 0;

/**
 * Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`).
 *
 * @returns The tick rate, usually 100.
 */
export function clockTicks(): number {
  if (ticksPerSecond === 0) {
    ticksPerSecond = 100;
    try {
      const out = new Deno.Command("getconf", { args: ["CLK_TCK"], stderr: "null" }).outputSync();
      const v = Number(new TextDecoder().decode(out.stdout).trim());
      if (out.success && v > 0) ticksPerSecond = v;
    } catch {
      // getconf missing: keep the Linux default.
    }
  }
  return ticksPerSecond;
}

/** CPU times of a process, in seconds. */
export interface CpuTimes {
  /** User plus system time of the process itself (all its threads). */
  self: number;
  /** User plus system time of its children that it has waited for. */
  children: number;
}

/**
 * Parses the text of `/proc/PID/stat`.
 *
 * @param stat The file's text.
 * @param ticks Clock ticks per second.
 * @returns The CPU times.
 * @throws {TypeError} When the text is not a stat line.
 */
export function parseProcStat(stat: string, ticks: number): CpuTimes {
  // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
  const close = stat.lastIndexOf(")");
  const rest = close < 0 ? [] : stat.slice(close + 2).split(" ");
  if (rest.length < 15) throw new TypeError(`Cannot parse /proc stat: too few fields in "${stat}"`);
  // rest[0] is field 3 (state); utime, stime, cutime, cstime are fields 14 to 17.
  const n = (i: number) => Number(rest[i]);
  return { self: (n(11) + n(12)) / ticks, children: (n(13) + n(14)) / ticks };
}

/**
 * CPU times of a process from `/proc/PID/stat`.
 *
 * @param pid The process id, or `"self"`.
 * @returns The CPU times.
 * @throws {Deno.errors.NotFound} When the process is gone.
 */
export function cpuTimes(pid: number | "self"): CpuTimes {
  return parseProcStat(Deno.readTextFileSync(`/proc/${pid}/stat`), clockTicks());
}

/**
 * CPU time the whole machine has spent busy (all cores: user, nice, system,
 * irq, softirq and steal of the first line of `/proc/stat`), for telling how
 * much else ran during a measurement.
 *
 * @param stat Text of `/proc/stat`; read from the system when omitted.
 * @returns Seconds summed over all cores.
 * @throws {TypeError} When the text has no `cpu` line.
 */
export function machineBusySeconds(stat?: string): number {
  const text = stat ?? Deno.readTextFileSync("/proc/stat");
  const m = /^cpu\s+(.*)$/m.exec(text);
  if (!m) throw new TypeError("Cannot parse /proc/stat: no cpu line");
  const f = m[1]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is inside user)
  const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
  return busy / clockTicks();
}

/**
 * Resident set size of a process (`VmRSS` of `/proc/PID/status`).
 *
 * @param pid The process id.
 * @returns KiB.
 * @throws {Error} When the process is gone or the line is missing.
 */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
  if (!m) throw new Error(`Cannot read VmRSS of process ${pid}: no VmRSS line`);
  return Number(m[1]);
}

/**
 * The value after `--name` in this script's arguments, or `fallback`.
 *
 * @param name The flag without dashes.
 * @param fallback The value when the flag is absent.
 * @returns The value.
 */
export function flagValue(name: string, fallback: string): string {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] ?? fallback : fallback;
}

/** Runs V8's collector twice when the script runs with `--v8-flags=--expose-gc`. */
export function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) {
    gc();
    gc();
  }
}

/** Whether a process id is still present (and not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Every child this module started and has not reaped yet, for the SIGINT handler. */
const live = new Set<Deno.ChildProcess>();

/**
 * Kills every process started through this module (SIGKILL), for use when the
 * runner is interrupted.
 */
export function killAll(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * Spawns a helper process (a load client) that {@linkcode killAll} knows of.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param stdin Whether the caller writes to its stdin.
 * @returns The child; it leaves the kill list once it has exited.
 */
export function spawnTracked(
  cmd: string,
  args: string[],
  stdin: "piped" | "null" = "null",
): Deno.ChildProcess {
  const child = new Deno.Command(cmd, { args, stdin, stdout: "piped", stderr: "piped" }).spawn();
  live.add(child);
  void child.status.then(() => live.delete(child));
  return child;
}

/** Keeps the last `limit` characters of a stream, draining it so the child never blocks. */
class Tail {
  text = "";
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  add(s: string): void {
    this.text += s;
    if (this.text.length > this.#limit * 2) this.text = this.text.slice(-this.#limit);
  }
  get last(): string {
    return this.text.slice(-this.#limit);
  }
}

async function drain(stream: ReadableStream<Uint8Array>, tail: Tail): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) tail.add(decoder.decode(chunk, { stream: true }));
  } catch {
    // the process went away
  }
}

/**
 * Wraps a command so that it runs with a high open-file limit (the runner runs
 * as root and raises the hard limit; otherwise the soft limit rises to the
 * hard one). The PID stays the command's own thanks to `exec`.
 *
 * @param cmd The program.
 * @param args Its arguments.
 * @param nofile The wanted limit.
 * @returns Program and arguments for `Deno.Command`.
 */
export function withFileLimit(cmd: string, args: string[], nofile: number): [string, string[]] {
  const script = `ulimit -n ${nofile} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  return ["sh", ["-c", script, cmd, ...args]];
}

/** How to start a server. */
export interface ServerSpec {
  /** Program, e.g. `deno` or `node`. */
  cmd: string;
  /** Arguments; the server must print `listening on <scheme>://HOST:PORT`. */
  args: string[];
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables (added to this process's). */
  env?: Record<string, string>;
}

/** Options of {@linkcode ServerProcess.start}. */
export interface StartOptions {
  /**
   * How long to wait for the `listening on` line.
   * @default {20000}
   */
  timeoutMs?: number;
  /**
   * Open-file limit for the process.
   * @default {65536}
   */
  nofile?: number;
}

/**
 * A server the runner started; it reads CPU and memory from `/proc` and stops
 * the process by PID.
 */
export class ServerProcess {
  /** The process id. */
  readonly pid: number;
  /** The port it listens on. */
  readonly port: number;
  readonly #child: Deno.ChildProcess;
  readonly #stderr: Tail;
  readonly #stdout: Tail;
  readonly #drains: Promise<void>[];
  #exit: Deno.CommandStatus | null = null;

  private constructor(
    child: Deno.ChildProcess,
    port: number,
    stdout: Tail,
    stderr: Tail,
    drains: Promise<void>[],
  ) {
    this.#child = child;
    this.pid = child.pid;
    this.port = port;
    this.#stdout = stdout;
    this.#stderr = stderr;
    this.#drains = drains;
    void child.status.then((s) => {
      this.#exit = s;
      live.delete(child);
    });
  }

  /**
   * Starts a server and waits for its `listening on ...` line.
   *
   * @param spec What to run.
   * @param options Timeout and file limit.
   * @returns The running server.
   * @throws {Error} When it exits or stays silent before listening; the
   * message holds the end of its stderr. The process is killed first.
   */
  static async start(spec: ServerSpec, options: StartOptions = {}): Promise<ServerProcess> {
    const { timeoutMs = 20_000, nofile = 65_536 } = options;
    const [cmd, args] = withFileLimit(spec.cmd, spec.args, nofile);
    const child = new Deno.Command(cmd, {
      args,
      ...(spec.cwd === undefined ? {} : { cwd: spec.cwd }),
      ...(spec.env === undefined ? {} : { env: spec.env }),
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    live.add(child);
    const stdout = new Tail(4096);
    const stderr = new Tail(4096);
    const errDrain = drain(child.stderr, stderr);
    const reader = child.stdout.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    let port = -1;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      while (port < 0) {
        const r = await Promise.race([reader.read(), timeout]);
        if (r === "timeout" || r.done) break;
        seen += decoder.decode(r.value, { stream: true });
        const m = /listening on (?:https?|wss?):\/\/(?:\[[^\]]*\]|[^\s:/]+):(\d+)/.exec(seen);
        if (m) port = Number(m[1]);
      }
    } finally {
      clearTimeout(timer);
    }
    stdout.add(seen);
    reader.releaseLock();
    const outDrain = drain(child.stdout, stdout);
    const server = new ServerProcess(child, port, stdout, stderr, [outDrain, errDrain]);
    if (port < 0) {
      await server.stop();
      const why = server.#exit?.success === false && seen === ""
        ? "exited"
        : "printed no listening line";
      throw new Error(
        `Cannot start ${spec.cmd} ${spec.args.join(" ")}: it ${why} within ${timeoutMs} ms` +
          `\n--- stdout ---\n${stdout.last}\n--- stderr ---\n${stderr.last}`,
      );
    }
    return server;
  }

  /** Whether the process has exited. */
  get exited(): boolean {
    return this.#exit !== null;
  }

  /** End of what the server wrote to stderr. */
  get stderrTail(): string {
    return this.#stderr.last;
  }

  /**
   * CPU time the server has used so far (user + system, all threads).
   *
   * @returns Seconds.
   */
  cpuSeconds(): number {
    return cpuTimes(this.pid).self;
  }

  /**
   * Resident memory now.
   *
   * @returns KiB.
   */
  rssKiB(): number {
    return rssKiB(this.pid);
  }

  /**
   * Stops the server: SIGTERM, then SIGKILL after `graceMs`, then waits for
   * it to be reaped and checks that the PID is gone.
   *
   * @param graceMs How long SIGTERM may take.
   * @throws {Error} When the process is still there after SIGKILL.
   */
  async stop(graceMs = 2000): Promise<void> {
    if (this.#exit === null) {
      try {
        this.#child.kill("SIGTERM");
      } catch {
        // exited meanwhile
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), graceMs));
      const first = await Promise.race([this.#child.status, late]);
      clearTimeout(timer);
      if (first === "late") {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // exited meanwhile
        }
      }
    }
    await this.#child.status;
    await Promise.all(this.#drains);
    live.delete(this.#child);
    if (alive(this.pid)) {
      throw new Error(`Cannot stop server process ${this.pid}: still running after SIGKILL`);
    }
  }
}
