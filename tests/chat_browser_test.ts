// Two real browser pages (Debian's Chromium, headless, driven by
// playwright-core) use the chat: a message typed in one page appears in the
// other. Chromium is started with the flags that stop its background
// connections, and only opens loopback pages.
import { ok as assert } from "node:assert/strict";
import { startExample } from "./_spawn.ts";
import { findBinary, ServerProcess } from "../broker_workers/_conformance.ts";

import { hasChromium, withChromium } from "./_chromium.ts";

if (!hasChromium) {
  // Loud on purpose: .ci/run installs chromium; skipping is only for machines where it cannot be.
  // deno-lint-ignore no-console
  console.warn(
    "\n!!! SKIPPING the browser chat test: /usr/bin/chromium is missing " +
      "(apt-get install -y chromium). This test is NOT being run. !!!\n",
  );
}

Deno.test({
  name: "examples/chat in Chromium: a message sent from one page arrives in another, compressed",
  ignore: !hasChromium,
  async fn() {
    const ex = await startExample("examples/chat/server.ts");
    try {
      await withChromium([], async (context) => {
        const base = `http://127.0.0.1:${ex.port}/`;
        const ann = await context.newPage();
        await ann.goto(`${base}?name=ann`);
        await ann.waitForSelector("#message:not([disabled])", { timeout: 10000 });
        const bob = await context.newPage();
        await bob.goto(`${base}?name=bob`);
        await bob.waitForSelector("#message:not([disabled])", { timeout: 10000 });
        await ann.locator("#log li", { hasText: "bob joined" }).waitFor({ timeout: 10000 });
        // Chromium offered permessage-deflate and the chat accepted it.
        const status = await bob.textContent("#status");
        assert(status!.includes("permessage-deflate"), status ?? "");
        await bob.fill("#message", "hello from bob");
        await bob.press("#message", "Enter");
        await ann.locator("#log li", { hasText: "bob: hello from bob" }).waitFor({
          timeout: 10000,
        });
        const log = await ann.textContent("#log");
        assert(log!.includes("bob: hello from bob"), log ?? "");
        await bob.close();
        await ann.locator("#log li", { hasText: "bob left" }).waitFor({ timeout: 10000 });
        const shot = Deno.env.get("CHAT_SCREENSHOT");
        if (shot) await ann.screenshot({ path: shot });
      });
    } finally {
      await ex.stop("SIGTERM");
    }
  },
});

const redisBinary = findBinary("redis-server");
if (redisBinary === undefined) {
  // deno-lint-ignore no-console
  console.warn("\n!!! SKIPPING the two-process chat test: redis-server is missing. !!!\n");
}

Deno.test({
  name: "examples/chat in Chromium: two chat processes on one Redis, messages cross",
  ignore: !hasChromium || redisBinary === undefined,
  async fn() {
    const redis = await new ServerProcess(redisBinary!, (p) => [
      "--port",
      String(p),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
    ]).start();
    const flag = ["--redis", `redis://127.0.0.1:${redis.port}`];
    const a = await startExample("examples/chat/server.ts", flag);
    const b = await startExample("examples/chat/server.ts", flag);
    try {
      await withChromium([], async (context) => {
        const ann = await context.newPage();
        await ann.goto(`http://127.0.0.1:${a.port}/?name=ann`);
        await ann.waitForSelector("#message:not([disabled])", { timeout: 10000 });
        const bob = await context.newPage();
        await bob.goto(`http://127.0.0.1:${b.port}/?name=bob`);
        await bob.waitForSelector("#message:not([disabled])", { timeout: 10000 });
        // bob joined on the other process: ann hears it through Redis.
        await ann.locator("#log li", { hasText: "bob joined" }).waitFor({ timeout: 10000 });
        await bob.fill("#message", "hello across processes");
        await bob.press("#message", "Enter");
        await ann.locator("#log li", { hasText: "bob: hello across processes" })
          .waitFor({ timeout: 10000 });
        await ann.fill("#message", "and back");
        await ann.press("#message", "Enter");
        await bob.locator("#log li", { hasText: "ann: and back" }).waitFor({ timeout: 10000 });
      });
    } finally {
      await a.stop("SIGTERM");
      await b.stop("SIGTERM");
      await redis.stop();
    }
  },
});
