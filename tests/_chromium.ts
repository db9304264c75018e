// Debian's Chromium for the browser tests: where it is, whether it is there,
// and the flags that stop its background connections (the tests open
// loopback pages only).

/** Debian's Chromium binary. */
export const CHROMIUM = "/usr/bin/chromium";

/** Headless, and no background connections (updates, sync, QUIC probes). */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Whether {@linkcode CHROMIUM} is installed. */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();
