// Private to the package: field lines the parser or the chunked decoder has
// already validated, as one string plus offsets, wrapped in a HeaderList
// without a copy. HeaderList's constructor recognizes this class (an
// overload hidden from the docs); nothing outside the package can make one.
import { HeaderList } from "./header_list.ts";

/** Field lines as one string, with four offsets per line: name start, name end, value start, value end. */
export class RawFieldLines {
  readonly raw: string;
  readonly offs: number[];
  constructor(raw: string, offs: number[]) {
    this.raw = raw;
    this.offs = offs;
  }
}

/** Makes a list over `raw` (see {@linkcode RawFieldLines}). */
export function headerListFromRaw(raw: string, offs: number[]): HeaderList {
  return new HeaderList(new RawFieldLines(raw, offs));
}
