// The one way the package's parsers report a malformed message: an
// HttpError whose status comes from the code (HTTP_ERROR_STATUS).
import { HttpError, type HttpErrorCode } from "./errors.ts";

/** Throws the {@linkcode HttpError} for `code`. */
export function fail(code: HttpErrorCode, message: string): never {
  throw new HttpError(code, message);
}
