// The node-id rule of the broker envelope, shared by the envelope codec and
// the brokers' option checks. Not exported from mod.ts.

/**
 * Throws unless `node` is a valid node id: 1 to 255 printable ASCII
 * characters (it is written into every envelope as one length byte and the
 * characters).
 */
export function checkNodeId(node: string): void {
  if (node.length === 0 || node.length > 255) {
    throw new RangeError(`Cannot use node id: length ${node.length} is not in 1..255`);
  }
  for (let i = 0; i < node.length; i++) {
    const c = node.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) {
      throw new TypeError("Cannot use node id: only printable ASCII is allowed");
    }
  }
}
