/**
 * The floor of a keep-alive HTTP server on `Deno.listen`: a loop that does
 * nothing but one `read` and one `write` of a canned response per request.
 * It runs the loop in this process, loads it with `wrk` (50 connections,
 * 4 s) and prints the server CPU per request, for comparison with
 * `bench/compare.ts --only http-hello`.
 *
 *     deno run -A bench/floor.ts
 *
 * @module
 */

const RESPONSE = new TextEncoder().encode(
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, World!\n",
);

async function serve(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(4096);
  try {
    while ((await conn.read(buf)) !== null) await conn.write(RESPONSE);
  } catch {
    // The client went away.
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

async function acceptLoop(listener: Deno.Listener): Promise<void> {
  try {
    for await (const conn of listener) serve(conn);
  } catch {
    // Listener closed.
  }
}

function cpuSeconds(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, clock ticks
}

if (import.meta.main) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const loop = acceptLoop(listener);
  const port = listener.addr.port;
  const before = cpuSeconds();
  const wrk = await new Deno.Command("wrk", {
    args: ["-t1", "-c50", "-d4s", `http://127.0.0.1:${port}/`],
    stdout: "piped",
  }).output();
  const cpu = cpuSeconds() - before;
  listener.close();
  await loop;
  const text = new TextDecoder().decode(wrk.stdout);
  const total = Number(/(\d+) requests in/.exec(text)?.[1] ?? 0);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(text)?.[1];
  // deno-lint-ignore no-console
  console.log(
    `floor: ${rps} req/s, server CPU ${(cpu / 4 * 100).toFixed(0)}% of a core, ` +
      `${(cpu * 1e6 / total).toFixed(2)} us per request`,
  );
  Deno.exit(0);
}
