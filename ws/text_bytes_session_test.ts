// A handler with onText: text messages arrive as validated UTF-8 bytes
// (whole, fragmented, inflated) and sendText() sends them back as text;
// invalid UTF-8 still fails the connection with 1007.
import { deepStrictEqual as deepEqual, strictEqual as equal } from "node:assert/strict";
import { Opcode } from "./constants.ts";
import { PerMessageDeflate } from "./permessage_deflate.ts";
import type { WebSocketSession } from "./session.ts";
import { EchoHandler, RawClient, withServer } from "./_test_util.ts";

/** Echoes text through onText/sendText; records what arrived where. */
class TextBytes extends EchoHandler {
  texts: string[] = [];
  others: (string | Uint8Array)[] = [];
  override onMessage(ws: WebSocketSession, data: string | Uint8Array): void {
    this.others.push(data);
    super.onMessage(ws, data);
  }
  onText(ws: WebSocketSession, bytes: Uint8Array): void {
    this.texts.push(new TextDecoder().decode(bytes));
    ws.sendText(bytes);
  }
}

Deno.test("WebSocketHandler.onText() receives text as bytes, whole and fragmented", async () => {
  const handler = new TextBytes();
  await withServer(
    async (f) => {
      const c = await RawClient.open(f.port);
      await c.sendFrame(Opcode.Text, "h\u00e9llo", { mask: true });
      deepEqual(await c.next(), { type: "text", data: "h\u00e9llo" });
      // Split inside the two-byte character.
      const e = new TextEncoder().encode("caf\u00e9!");
      await c.sendFrame(Opcode.Text, e.subarray(0, 4), { mask: true, fin: false });
      await c.sendFrame(Opcode.Continuation, e.subarray(4), { mask: true });
      deepEqual(await c.next(), { type: "text", data: "caf\u00e9!" });
      await c.sendFrame(Opcode.Text, "", { mask: true });
      deepEqual(await c.next(), { type: "text", data: "" });
      await c.sendFrame(Opcode.Binary, new Uint8Array([1, 2]), { mask: true });
      deepEqual(await c.next(), { type: "binary", data: new Uint8Array([1, 2]) });
      c.close();
    },
    {},
    handler,
  );
  deepEqual(handler.texts, ["h\u00e9llo", "caf\u00e9!", ""]);
  deepEqual(handler.others, [new Uint8Array([1, 2])]);
});

Deno.test("WebSocketHandler.onText() is not called for invalid UTF-8: 1007", async () => {
  const cases: [string, Uint8Array[]][] = [
    ["one frame", [new Uint8Array([0x61, 0xc3, 0x28])]],
    ["fragmented", [new Uint8Array([0x61, 0xe2]), new Uint8Array([0x82])]],
    ["an encoded surrogate", [new Uint8Array([0xed, 0xa0, 0x80])]],
  ];
  for (const [name, frames] of cases) {
    const handler = new TextBytes();
    await withServer(
      async (f) => {
        const c = await RawClient.open(f.port);
        for (let i = 0; i < frames.length; i++) {
          await c.sendFrame(i === 0 ? Opcode.Text : Opcode.Continuation, frames[i]!, {
            mask: true,
            fin: i === frames.length - 1,
          });
        }
        equal((await c.nextClose()).code, 1007, name);
        c.close();
      },
      {},
      handler,
    );
    deepEqual(handler.texts, [], name);
  }
});

Deno.test("WebSocketHandler.onText() receives inflated text; invalid inflated UTF-8 is 1007", async () => {
  const handler = new TextBytes();
  const offer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
  await withServer(
    async (f) => {
      const pmd = new PerMessageDeflate({
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 15,
        clientMaxWindowBits: 15,
      }, { role: "client" });
      try {
        const c = await RawClient.open(f.port, offer);
        const z = pmd.compress(new TextEncoder().encode("s\u00fc\u00df s\u00fc\u00df"));
        await c.sendFrame(Opcode.Text, z, { rsv: 4, mask: true });
        deepEqual(await c.next(), { type: "text", data: "s\u00fc\u00df s\u00fc\u00df" });
        await c.sendFrame(Opcode.Text, pmd.compress(new Uint8Array([0xc3, 0x28])), {
          rsv: 4,
          mask: true,
        });
        equal((await c.nextClose()).code, 1007);
        c.close();
      } finally {
        pmd.close();
      }
    },
    { compression: { threshold: 1 << 30 } },
    handler,
  );
  deepEqual(handler.texts, ["s\u00fc\u00df s\u00fc\u00df"]);
});

Deno.test("WebSocketSession.sendText() checks the lent onText view too: changed to invalid UTF-8, it throws", async () => {
  const thrown: unknown[] = [];
  class Spoils extends TextBytes {
    override onText(ws: WebSocketSession, bytes: Uint8Array): void {
      bytes[0] = 0xff; // no longer UTF-8
      try {
        ws.sendText(bytes);
      } catch (err) {
        thrown.push(err);
        ws.sendText(new TextEncoder().encode("refused"));
      }
    }
  }
  await withServer(
    async (f) => {
      const c = await RawClient.open(f.port);
      await c.sendFrame(Opcode.Text, "hello", { mask: true });
      deepEqual(await c.next(), { type: "text", data: "refused" });
      c.close();
    },
    {},
    new Spoils(),
  );
  equal(thrown.length, 1);
  equal(thrown[0] instanceof TypeError, true);
});
