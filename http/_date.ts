// The IMF-fixdate for the Date header, rebuilt at most once per second.
let cachedSecond = -1;
let cachedDate = "";

/** Returns the current time as an IMF-fixdate, cached per second. */
export function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedDate = new Date(second * 1000).toUTCString();
  }
  return cachedDate;
}
