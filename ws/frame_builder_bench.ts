// Frame building: buildFrame() (one new array per frame) server-side
// (unmasked) and client-side (masked with a pooled random key).
import { buildFrame } from "./frame_builder.ts";

for (const size of [16, 1024, 65536, 1 << 20]) {
  const payload = new Uint8Array(size).map((_, i) => i);
  Deno.bench(`buildFrame unmasked ${size} B`, { group: `build ${size}`, baseline: true }, () => {
    buildFrame(2, payload);
  });
  Deno.bench(`buildFrame masked ${size} B`, { group: `build ${size}` }, () => {
    buildFrame(2, payload, { mask: true });
  });
}
