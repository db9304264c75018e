// The interfaces through which a request body and a response reach their
// connection. Internal: the server's connection implements them; the public
// classes take them in constructors hidden from the docs.
import type { BufReader, BufWriter } from "@coroio/core";
import type { ChunkedDecoder } from "@coroio/core/http1";
import type { HttpRequest } from "./request.ts";

/** What a body reads through: the server's connection state. */
export interface BodyHost {
  readonly reader: BufReader;
  /** Writes `100 Continue` if the request expects it and it was not sent. */
  continueIfExpected(): Promise<void>;
  /** Reused chunked decoder of the connection. */
  chunkedDecoder(): ChunkedDecoder;
  /**
   * Reads more body bytes into `reader`, under the body timeout, after
   * making room for at least `minFree` bytes (contiguous with the buffered ones).
   */
  fillBody(minFree?: number): Promise<number | null>;
  /** The body was read to its end (starts a disconnect watch that waits for it). */
  bodyEnded?(): void;
}

/** What `HttpRequest.signal` asks of its connection. */
export interface SignalHost {
  /** Starts watching for the client going away while `req` is served; returns the signal. */
  watchDisconnect(req: HttpRequest): AbortSignal;
}

/** What a response writes through: the server's connection state. */
export interface ResponseHost {
  readonly writer: BufWriter;
  /** Whether the connection must close after this response. */
  closeAfterResponse(): boolean;
  /** Flushes staged bytes, respecting the output limit. */
  flush(): Promise<void>;
}
