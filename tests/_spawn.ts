// Starts an example as a child process, waits for its "listening on" line,
// and stops it with a signal, checking that it exits cleanly.

export interface Running {
  url: URL;
  port: number;
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Runs `deno run -A <file> --port 0 ...args` and waits until it listens. */
export async function startExample(file: string, args: string[] = []): Promise<Running> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../${file}`, import.meta.url).pathname, "--port", "0", ...args],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${file} did not print its address: ${seen}`)),
      15000,
    );
  });
  let url: URL;
  try {
    for (;;) {
      const m = /listening on (\S+)/.exec(seen);
      if (m) {
        url = new URL(m[1]!);
        break;
      }
      const { value, done } = await Promise.race([reader.read(), deadline]);
      if (done) throw new Error(`${file} exited before listening: ${seen}`);
      seen += value;
    }
  } catch (err) {
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    throw err;
  } finally {
    clearTimeout(timer);
  }
  // Keep draining stdout so the child never blocks on a full pipe.
  const drained = (async () => {
    try {
      while (!(await reader.read()).done) { /* discard */ }
    } catch { /* cancelled */ }
  })();
  return {
    url,
    port: Number(url.port),
    async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
      child.kill(signal);
      let t: ReturnType<typeof setTimeout> | undefined;
      const status = await Promise.race([
        child.status,
        new Promise<null>((r) => t = setTimeout(r, 10000, null)),
      ]);
      clearTimeout(t);
      if (status === null) {
        child.kill("SIGKILL");
        await child.status;
        await drained;
        throw new Error(`${file} did not stop on ${signal}`);
      }
      await drained;
      return status;
    },
  };
}
