// A hono app used by the parity tests and the benchmark. The WebSocket
// helper is a parameter: hono's own (`hono/deno`, for Deno.serve) or ours
// (createUpgradeWebSocket(), for serve()); nothing else differs.
import { Hono } from "npm:hono@4.13.19";
import { cors } from "npm:hono@4.13.19/cors";
import { getCookie, setCookie } from "npm:hono@4.13.19/cookie";
import { HTTPException } from "npm:hono@4.13.19/http-exception";
import { stream, streamSSE } from "npm:hono@4.13.19/streaming";

/** hono's `upgradeWebSocket`, whichever runtime helper provides it. */
// deno-lint-ignore no-explicit-any
export type UpgradeHelper = (createEvents: (c: any) => any) => any;

/** Builds the app with the given WebSocket helper. */
export function makeApp(upgradeWebSocket: UpgradeHelper): Hono {
  const app = new Hono();
  app.use("/api/*", cors({ origin: "https://example.com", maxAge: 600, credentials: true }));
  app.get("/", (c) => c.text("Hello Hono!"));
  app.get("/users/:id", (c) => c.json({ id: c.req.param("id"), q: c.req.query("q") ?? null }));
  app.post("/json", async (c) => c.json({ got: await c.req.json() }, 201));
  app.post("/text", async (c) => c.text((await c.req.text()).toUpperCase()));
  app.get("/cookies", (c) => {
    setCookie(c, "a", "1", { path: "/" });
    setCookie(c, "b", "two words", { httpOnly: true, sameSite: "Strict" });
    return c.text(`x=${getCookie(c, "x") ?? ""}`);
  });
  app.get("/api/data", (c) => c.json({ ok: true }));
  app.get("/stream", (c) =>
    stream(c, async (s) => {
      for (const part of ["one ", "two ", "three"]) {
        await s.write(part);
        await s.sleep(5);
      }
    }));
  app.get("/sse", (c) =>
    streamSSE(c, async (s) => {
      for (let i = 1; i <= 3; i++) {
        await s.writeSSE({ data: `tick ${i}`, event: "tick", id: String(i) });
      }
    }));
  app.get("/boom", () => {
    throw new Error("boom");
  });
  app.get("/denied", () => {
    throw new HTTPException(401, { message: "no entry" });
  });
  app.get("/redirect", (c) => c.redirect("/users/7"));
  app.get("/html", (c) => c.html("<p>hi</p>"));
  app.get("/bytes", (c) => c.body(new Uint8Array([0, 1, 2, 255])));
  app.get("/empty", (c) => c.body(null, 204));
  app.get(
    "/ws",
    upgradeWebSocket(() => ({
      onMessage(evt: MessageEvent, ws: { send(d: string | ArrayBuffer): void }) {
        ws.send(typeof evt.data === "string" ? `echo: ${evt.data}` : evt.data);
      },
    })),
  );
  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
    return c.json({ error: err.message }, 500);
  });
  app.notFound((c) => c.json({ error: "not found", path: c.req.path }, 404));
  return app;
}
