// The IMF-fixdate for the Date header. While a server runs, a one-second
// interval keeps it current so responses need no clock read; otherwise it is
// rebuilt at most once per second on demand.
let cachedSecond = -1;
let cachedDate = "";
let users = 0;
let timer: ReturnType<typeof setInterval> | undefined;

function refresh(): void {
  const second = Math.floor(Date.now() / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(second * 1000).toUTCString();
  }
}

/** Returns the current time as an IMF-fixdate. */
export function httpDate(): string {
  if (timer === undefined) refresh();
  return cachedDate;
}

/** Starts the shared clock (one interval for every running server). */
export function acquireClock(): void {
  if (users++ === 0) {
    refresh();
    // Ticks at each half second so the cached second is never more than
    // half a second late.
    timer = setInterval(refresh, 500);
    Deno.unrefTimer(timer as unknown as number);
  }
}

/** Stops the shared clock when its last server stops. */
export function releaseClock(): void {
  if (--users === 0 && timer !== undefined) {
    clearInterval(timer);
    timer = undefined;
  }
}
