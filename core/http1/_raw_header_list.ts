// Private to the package: builds a HeaderList over an existing string of
// field lines without copying (used by the parser and the chunked decoder).
import { HeaderList } from "./header_list.ts";

/**
 * Makes a list over `raw`, with four offsets per field line in `offs`: name
 * start, name end, value start, value end.
 */
export function headerListFromRaw(raw: string, offs: number[]): HeaderList {
  const list = new HeaderList();
  list["raw"] = raw;
  list["offs"] = offs;
  return list;
}
