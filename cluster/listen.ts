/** How several listeners share one port. */
export type SharePortMode = "reuseport" | "shared";

/** Options for {@linkcode listenShared}. */
export interface ListenSharedOptions {
  /**
   * The address to bind.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** The port (every sharer binds the same one; 0 only makes sense alone). */
  port: number;
  /**
   * `"reuseport"`: a socket of its own with `SO_REUSEPORT` (Linux: the kernel
   * spreads connections by a hash of the address pair; needs `--unstable-net`).
   * `"shared"`: one accept queue shared by every listener of the process
   * (Deno's `loadBalanced`, as `deno serve --parallel` does; an undocumented
   * option, no flag needed; busy listeners accept less).
   *
   * @default {"reuseport"}
   */
  mode?: SharePortMode;
}

/**
 * Whether this process runs with `--unstable-net` (which `reusePort` needs:
 * without it, Deno exits the whole process instead of throwing).
 *
 * @returns `true` with the flag.
 *
 * @example Checking before binding
 * ```ts
 * import { hasUnstableNet } from "@coroio/cluster";
 * import { strictEqual } from "node:assert/strict";
 *
 * strictEqual(typeof hasUnstableNet(), "boolean");
 * ```
 */
export function hasUnstableNet(): boolean {
  // Deno.listenDatagram exists only with --unstable-net.
  return typeof (Deno as unknown as Record<string, unknown>).listenDatagram === "function";
}

/**
 * Binds a TCP listener that shares its port with other listeners of this
 * process (its workers): hand it to a server (`new WebSocketServer(listener,
 * handler)`, `new HttpServer(listener, ...)`): servers that take a listener
 * need no option of their own.
 *
 * @param options Address, port and mode.
 * @returns The listener.
 * @throws {Error} For `"reuseport"` without `--unstable-net` (checked first:
 * Deno would exit the process).
 *
 * @example Two listeners on one port
 * ```ts
 * import { listenShared } from "@coroio/cluster";
 * import { strictEqual } from "node:assert/strict";
 *
 * const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = probe.addr.port;
 * probe.close();
 * const a = listenShared({ port, mode: "shared" });
 * strictEqual(a.addr.port, port);
 * a.close();
 * ```
 */
export function listenShared(options: ListenSharedOptions): Deno.TcpListener {
  const hostname = options.hostname ?? "127.0.0.1";
  const mode = options.mode ?? "reuseport";
  if (mode === "reuseport") {
    if (!hasUnstableNet()) {
      throw new Error(
        "Cannot listen with reusePort: run Deno with --unstable-net " +
          '(or use mode "shared")',
      );
    }
    return Deno.listen({ hostname, port: options.port, reusePort: true } as Deno.TcpListenOptions);
  }
  if (mode !== "shared") throw new TypeError(`Cannot listen: unknown mode "${mode}"`);
  return Deno.listen(
    { hostname, port: options.port, loadBalanced: true } as Deno.TcpListenOptions,
  );
}

/**
 * Picks a free port on `hostname` (bound and released at once).
 *
 * @param hostname The address.
 * @returns The port.
 */
export function pickPort(hostname: string): number {
  const probe = Deno.listen({ hostname, port: 0 });
  const port = probe.addr.port;
  probe.close();
  return port;
}
