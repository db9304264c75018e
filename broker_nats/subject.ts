const encoder = new TextEncoder();
const HEX = "0123456789ABCDEF";

function isPlain(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) ||
    (byte >= 0x61 && byte <= 0x7a) || byte === 0x2d || byte === 0x5f;
}

/**
 * Maps an opaque topic to a NATS subject that matches only itself: the topic
 * becomes one subject token after the prefix, with every UTF-8 byte outside
 * `[A-Za-z0-9_-]` written as `~XX` (hex), so `.`, `*`, `>` and whitespace
 * (token separator, wildcards, forbidden) never reach the subject. The empty
 * topic is `~` (no escape is a bare `~`).
 *
 * @param prefix Subject tokens before the topic, e.g. `"coroio"`; must be a valid literal subject.
 * @param topic Any string.
 * @returns The subject.
 *
 * @example Wildcards become literal
 * ```ts
 * import { topicSubject } from "@coroio/broker-nats";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * deepStrictEqual(
 *   ["x.*", "x.>", "a b", "", "room-1"].map((t) => topicSubject("coroio", t)),
 *   ["coroio.x~2E~2A", "coroio.x~2E~3E", "coroio.a~20b", "coroio.~", "coroio.room-1"],
 * );
 * ```
 */
export function topicSubject(prefix: string, topic: string): string {
  if (topic.length === 0) return `${prefix}.~`;
  let plain = true;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c > 0x7f || !isPlain(c)) {
      plain = false;
      break;
    }
  }
  if (plain) return `${prefix}.${topic}`;
  let out = `${prefix}.`;
  for (const byte of encoder.encode(topic)) {
    out += isPlain(byte) ? String.fromCharCode(byte) : `~${HEX[byte >> 4]}${HEX[byte & 15]}`;
  }
  return out;
}
