// The deadline of an opening handshake (server or client side): when it
// passes, the connection is closed, which fails the pending read or write.
import { closeQuietly, type Expirable } from "@coroio/core";

/** Closes the connection when the handshake deadline passes. */
export class HandshakeTimer implements Expirable {
  readonly conn: Deno.Conn;
  expired = false;
  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }
  expire(): void {
    this.expired = true;
    closeQuietly(this.conn);
  }
}
