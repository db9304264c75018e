// Messages between runWorkers (main thread) and clusterWorker() (in each worker).
import type { SharePortMode } from "./listen.ts";

/** Main to worker: start serving. */
export interface StartMessage {
  coroio: "start";
  index: number;
  hostname: string;
  port: number;
  mode: SharePortMode;
  args: string[];
  brokerPort: MessagePort;
}

/** Main to worker: shut down gracefully. */
export interface ShutdownMessage {
  coroio: "shutdown";
}

/** Worker to main: bound (listening) or finished (stopped). */
export interface StatusMessage {
  coroio: "listening" | "stopped";
  index: number;
}

export type ToWorker = StartMessage | ShutdownMessage;
