// Parse + unmask throughput of FrameParser. MB/s = payload bytes per
// iteration (in the bench name) / time per iteration.
import { buildFrame } from "./frame_builder.ts";
import { FrameParser, type FrameSink } from "./frame_parser.ts";

class Discard implements FrameSink {
  n = 0;
  onMessage(d: string | Uint8Array): void {
    this.n += d.length;
  }
  onPing(): void {}
  onPong(): void {}
  onClose(): void {}
}

const KEY = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);
// A zero key keeps text valid when the same buffer is unmasked again and
// again; the XOR work is the same as with any other key.
const ZERO_KEY = new Uint8Array(4);

/** Frames of `size` bytes repeated to fill about 64 KiB (at least one). */
function stream(op: number, size: number, key: Uint8Array): { buf: Uint8Array; bytes: number } {
  const payload = op === 1
    ? new TextEncoder().encode("a".repeat(size))
    : new Uint8Array(size).map((_, i) => i);
  const frame = buildFrame(op, payload, { mask: key });
  const count = Math.max(1, Math.floor(65536 / frame.length));
  const buf = new Uint8Array(frame.length * count);
  for (let i = 0; i < count; i++) buf.set(frame, i * frame.length);
  return { buf, bytes: size * count };
}

const sink = new Discard();
const parser = new FrameParser(sink, { maxMessageSize: 2 << 20 });

for (const size of [16, 1024, 65536, 1 << 20]) {
  const bin = stream(2, size, KEY);
  Deno.bench(`parse+unmask binary ${size} B frames (${bin.bytes} B/iter)`, {
    group: `parse ${size}`,
    baseline: true,
  }, () => {
    parser.feed(bin.buf);
  });
  const text = stream(1, size, ZERO_KEY);
  Deno.bench(`parse+unmask+decode text ${size} B frames (${text.bytes} B/iter)`, {
    group: `parse ${size}`,
  }, () => {
    parser.feed(text.buf);
  });
}

// A 1 MiB frame arriving in 64 KiB reads, as the session sees it.
const big = buildFrame(2, new Uint8Array(1 << 20), { mask: KEY });
const bigText = buildFrame(1, new TextEncoder().encode("a".repeat(1 << 20)), { mask: ZERO_KEY });
for (const [name, frame] of [["binary", big], ["text", bigText]] as const) {
  Deno.bench(`parse+unmask ${name} 1 MiB frame in 64 KiB reads (1048576 B/iter)`, {
    group: "parse 1 MiB streamed",
  }, () => {
    let pending = frame.subarray(0, 0);
    for (let at = 0; at < frame.length; at += 65536) {
      const chunk = frame.subarray(at, Math.min(frame.length, at + 65536));
      const buf = pending.length === 0 ? chunk : concat(pending, chunk);
      pending = buf.subarray(parser.feed(buf));
    }
  });
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
