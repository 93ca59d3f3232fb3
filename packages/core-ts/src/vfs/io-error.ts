/**
 * How both file systems report a failed system call: a `SiltError` with code `IO_ERROR`, a message
 * naming the operation and the path, and the system error (with its errno `code`) as `cause`.
 */
import { ErrorCodes, siltError, type SiltError } from '../errors.js';

export function ioError(operation: string, path: string, cause: unknown): SiltError {
  const system = systemErrorCode(cause) ?? (cause instanceof Error ? cause.message : String(cause));
  return siltError(ErrorCodes.IO_ERROR, `${operation} ${path} failed: ${system}`, cause);
}

/**
 * The errno code (`ENOENT`, `EIO`, …) of a system error, or of the system error behind an
 * `IO_ERROR`.
 */
export function systemErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    // errno names are E + capitals (ENOENT, ENOSPC); SiltError codes contain an underscore or do
    // not start with E, so the walk passes over the wrapper to the system error beneath.
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isNotFound(error: unknown): boolean {
  return systemErrorCode(error) === 'ENOENT';
}

/** A read into `buffer[offset, offset + length)` must fit the buffer: a caller's mistake otherwise. */
export function checkReadTarget(buffer: Uint8Array, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > buffer.length) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, `cannot read ${length} bytes at offset ${offset} into a buffer of ${buffer.length}`);
  }
}
