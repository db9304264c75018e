/**
 * A chat server: the page at `/` is served by @coroio/http, the WebSocket
 * at `/chat` by @coroio/ws through the @coroio/http-ws bridge. Every message
 * is published to the room's topic (framed, and compressed, once for all
 * members) with the sender's name; joins and leaves are announced. With
 * `--redis redis://HOST:PORT` or `--nats nats://HOST:PORT` several chat
 * processes share one room through the broker; `--workers N` runs N copies on
 * N cores sharing the port (with `--unstable-net`: SO_REUSEPORT).
 *
 *     deno task start            # or: deno run --allow-net examples/chat/server.ts --port 8080
 *     deno run -A examples/chat/server.ts --port 8080 --redis redis://127.0.0.1:6379
 *
 * The `online` list a new member gets names the members of its own process.
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
import type { Broker } from "@coroio/core";
import { Topics, type WebSocketSession } from "@coroio/ws";
import { printListening, urlHost } from "../_args.ts";
import { runScalable } from "../_broker.ts";
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

/** The room's topic. */
const ROOM = "chat";

/** The room: one handler object for every member's events. */
export class ChatRoom implements WebSocketRoute<Member> {
  #members = new Set<WebSocketSession<Member>>();
  #guests = 0;
  #topics: Topics;

  /**
   * @param broker Shares the room with other processes (Redis, NATS, workers).
   */
  constructor(broker: Broker | null = null) {
    this.#topics = new Topics(broker === null ? {} : { broker });
  }

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

  async onOpen(ws: WebSocketSession<Member>): Promise<void> {
    const online = [...this.#members].map((m) => m.data.name);
    this.#members.add(ws);
    // Resolves once the broker (if any) confirmed: the join reaches everyone.
    await this.#topics.subscribe(ws as WebSocketSession<unknown>, ROOM);
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
    this.#topics.publish(ROOM, JSON.stringify(event));
  }
}

function ignore(): void {}

/** Builds the chat's router. */
export function chatRoutes(room: ChatRoom): Router {
  return new Router()
    .get("/", new ChatPage())
    .upgrade(
      "/chat",
      // Compression with the defaults: one shared compressor, messages from 128 bytes.
      new WebSocketTarget(room, { maxMessageSize: 64 * 1024, compression: true }),
    );
}

/** Serves the chat on `listener` until `signal` aborts; closes the broker. */
async function serveChat(
  listener: Deno.Listener,
  broker: Broker | null,
  signal: AbortSignal,
  print: boolean,
): Promise<void> {
  const server = new HttpServer(chatRoutes(new ChatRoom(broker)), {
    signal,
    shutdownTimeout: 3000,
  });
  const finished = server.serve(listener);
  if (print) {
    const addr = listener.addr as Deno.NetAddr;
    printListening("http", addr);
    // deno-lint-ignore no-console
    console.log(
      `open http://${urlHost(addr.hostname)}:${addr.port}/ in two browser windows to chat`,
    );
  }
  await finished;
  await broker?.close();
}

if (import.meta.main) await runScalable(import.meta.url, "http", 8080, serveChat);
