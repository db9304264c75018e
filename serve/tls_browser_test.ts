// Chromium over TLS: a page loaded from serve() over https opens a wss://
// WebSocket to the same server (upgradeWebSocket) and gets its message
// echoed. The certificate is made at test time by openssl; Chromium takes it
// with --ignore-certificate-errors, and is started with the flags that stop
// its background connections (as tests/chat_browser_test.ts), loading only
// loopback pages.
import { strictEqual as equal } from "node:assert/strict";
import { serve } from "./serve.ts";
import { upgradeWebSocket } from "./websocket.ts";
import { makeCertificate } from "../core/_test_util.ts";

import { CHROMIUM, hasChromium, withChromium } from "../tests/_chromium.ts";

const pem = hasChromium ? await makeCertificate() : null;
if (!hasChromium || pem === null) {
  // Loud on purpose: .ci/run installs chromium and openssl.
  // deno-lint-ignore no-console
  console.warn(
    `\n!!! SKIPPING the Chromium TLS test: ${
      hasChromium
        ? "openssl is missing (apt-get install -y openssl)"
        : `${CHROMIUM} is missing (apt-get install -y chromium)`
    }. This test is NOT being run. !!!\n`,
  );
}

const PAGE = `<!doctype html>
<title>tls echo</title>
<p id="out">waiting</p>
<script>
  const ws = new WebSocket("wss://" + location.host + "/ws");
  ws.onopen = () => ws.send("hello over wss from " + location.protocol);
  ws.onmessage = (e) => {
    document.getElementById("out").textContent = e.data;
    ws.close();
  };
  ws.onerror = () => { document.getElementById("out").textContent = "error"; };
</script>`;

Deno.test({
  name: "serve() over TLS: Chromium loads an https page and echoes over wss via upgradeWebSocket()",
  ignore: !hasChromium || pem === null,
  async fn() {
    const closed = Promise.withResolvers<number>();
    const server = serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      cert: pem!.cert,
      key: pem!.key,
    }, (req) => {
      const url = new URL(req.url);
      if (url.pathname === "/ws") {
        const { socket, response } = upgradeWebSocket(req);
        socket.onmessage = (e) => socket.send(`echo(${new URL(req.url).protocol}): ${e.data}`);
        socket.onclose = (e) => closed.resolve(e.code);
        return response;
      }
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    });
    try {
      await withChromium(["--ignore-certificate-errors"], async (context) => {
        const page = await context.newPage();
        const res = await page.goto(`https://127.0.0.1:${server.addr.port}/`);
        equal(res?.status(), 200);
        equal(new URL(page.url()).protocol, "https:");
        await page.locator("#out", { hasText: "echo" }).waitFor({ timeout: 10000 });
        equal(
          await page.textContent("#out"),
          "echo(https:): hello over wss from https:",
        );
        equal(await closed.promise, 1005);
      });
    } finally {
      await server.shutdown();
    }
  },
});
