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

/** The browser context a {@linkcode withChromium} body gets (playwright's `BrowserContext`). */
export type ChromiumContext = Awaited<
  ReturnType<typeof import("npm:playwright-core@1.65.1").chromium.launchPersistentContext>
>;

/**
 * Runs `body` with a fresh Chromium (its own temporary profile, the flags
 * above plus `extraFlags`) whose every request to a host other than
 * 127.0.0.1 is refused; closes it and removes the profile after.
 */
export async function withChromium(
  extraFlags: readonly string[],
  body: (context: ChromiumContext) => Promise<void>,
): Promise<void> {
  const { chromium } = await import("npm:playwright-core@1.65.1");
  const userDataDir = await Deno.makeTempDir({ prefix: "coroio-chromium-" });
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_FLAGS, ...extraFlags],
      timeout: 30000,
    });
    try {
      // Only loopback: refuse anything else the page might try to load.
      await context.route(/.*/, (route) => {
        const host = new URL(route.request().url()).hostname;
        return host === "127.0.0.1" ? route.continue() : route.abort();
      });
      await body(context);
    } finally {
      await context.close();
    }
  } finally {
    await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
  }
}
