/**
 * A chat server: the page at `/` is served by @coroio/http, the WebSocket
 * at `/chat` by @coroio/ws through the @coroio/http-ws bridge. Every message
 * is broadcast to every connected client with the sender's name; joins and
 * leaves are announced.
 *
 *     deno task start            # or: deno run --allow-net examples/chat/server.ts --port 8080
 *
 * @module
 */
import {
  type Handler,
  type HttpRequest,
  type HttpResponse,
  HttpServer,
  Router,
} from "@coroio/http";
import { type UpgradeDecision, type WebSocketRoute, WebSocketTarget } from "@coroio/http-ws";
import type { WebSocketSession } from "@coroio/ws";
import { abortOnSignals, parseListenFlags, printListening, urlHost } from "../_args.ts";
import { CHAT_PAGE } from "./page.ts";

/** Per-connection data: the member's name. */
export interface Member {
  name: string;
}

const MAX_TEXT = 2000;

/** Serves the page. */
export class ChatPage implements Handler {
  #page = new TextEncoder().encode(CHAT_PAGE);
  handle(_req: HttpRequest, res: HttpResponse): void {
    res.setHeader("Content-Type", "text/html; charset=utf-8");
    res.setHeader("Cache-Control", "no-store");
    res.send(this.#page);
  }
}

/** The room: one handler object for every member's events. */
export class ChatRoom implements WebSocketRoute<Member> {
  #members = new Set<WebSocketSession<Member>>();
  #guests = 0;

  /** Members connected now. */
  get size(): number {
    return this.#members.size;
  }

  onUpgrade(req: HttpRequest): UpgradeDecision<Member> {
    const raw = new URLSearchParams(req.query).get("name") ?? "";
    // Printable names only, at most 32 characters.
    const name = raw.replace(/[^\p{L}\p{N} _.-]/gu, "").trim().slice(0, 32);
    return { data: { name: name === "" ? `guest${++this.#guests}` : name } };
  }

  onOpen(ws: WebSocketSession<Member>): void {
    const online = [...this.#members].map((m) => m.data.name);
    this.#members.add(ws);
    ws.send(JSON.stringify({ type: "welcome", name: ws.data.name, online })).catch(ignore);
    this.#broadcast({ type: "join", name: ws.data.name });
  }

  onMessage(ws: WebSocketSession<Member>, data: string | Uint8Array): void {
    if (typeof data !== "string") return;
    const text = data.trim().slice(0, MAX_TEXT);
    if (text === "") return;
    this.#broadcast({ type: "message", name: ws.data.name, text });
  }

  onClose(ws: WebSocketSession<Member>): void {
    if (this.#members.delete(ws)) this.#broadcast({ type: "leave", name: ws.data.name });
  }

  #broadcast(event: Record<string, unknown>): void {
    const json = JSON.stringify(event);
    for (const member of this.#members) {
      if (member.readyState === 1) member.send(json).catch(ignore);
    }
  }
}

function ignore(): void {}

/** Builds the chat's router. */
export function chatRoutes(room: ChatRoom = new ChatRoom()): Router {
  return new Router()
    .get("/", new ChatPage())
    .upgrade(
      "/chat",
      // Compression with the defaults: one shared compressor, messages from 128 bytes.
      new WebSocketTarget(room, { maxMessageSize: 64 * 1024, compression: true }),
    );
}

if (import.meta.main) {
  const { hostname, port } = parseListenFlags(Deno.args, 8080);
  const signal = abortOnSignals();
  const server = new HttpServer(chatRoutes(), { hostname, port, signal, shutdownTimeout: 3000 });
  const addr = server.listen();
  printListening("http", addr);
  // deno-lint-ignore no-console
  console.log(`open http://${urlHost(addr.hostname)}:${addr.port}/ in two browser windows to chat`);
  await server.finished;
  Deno.exit(0);
}
