// A program written for Deno.serve + Deno.upgradeWebSocket. The parity test
// runs it under Deno.serve and under @coroio/serve: only `upgrade` differs.

/** `Deno.upgradeWebSocket` or `@coroio/serve`'s `upgradeWebSocket`. */
export type Upgrade = (req: Request) => {
  socket: {
    onmessage: ((e: MessageEvent) => unknown) | null;
    send(data: string | ArrayBuffer): void;
    binaryType: BinaryType;
  };
  response: Response;
};

/** Builds the handler. */
export function makeHandler(upgrade: Upgrade): (req: Request) => Promise<Response> {
  return async (req) => {
    const url = new URL(req.url);
    if (req.headers.get("upgrade") === "websocket") {
      const { socket, response } = upgrade(req);
      socket.onmessage = (e) => socket.send(e.data);
      return response;
    }
    switch (url.pathname) {
      case "/echo":
        return new Response(req.body, {
          headers: {
            "content-type": req.headers.get("content-type") ?? "application/octet-stream",
          },
        });
      case "/info":
        return Response.json({
          method: req.method,
          path: url.pathname,
          search: url.search,
          instance: req instanceof Request,
          agent: req.headers.get("x-agent"),
          hasBody: req.body !== null,
        });
      case "/length":
        return new Response(String((await req.arrayBuffer()).byteLength));
      case "/head":
        return new Response("twelve bytes", { headers: { "x-kind": "head" } });
      case "/cookies": {
        const headers = new Headers();
        headers.append("set-cookie", "a=1");
        headers.append("set-cookie", "b=2; HttpOnly");
        return new Response("ok", { headers });
      }
      case "/status":
        return new Response("teapot", { status: 418 });
      default:
        return new Response("not found", { status: 404 });
    }
  };
}
