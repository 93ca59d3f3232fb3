/**
 * The error vocabulary of the engine: one set of stable codes, shared with the accelerator
 * (`@siltdb/bindings`), so every failure anywhere is a `SiltError` with a `code` from `ErrorCodes`.
 */
import { ErrorCodes, SiltError, isSiltError, type ErrorCode } from '@siltdb/bindings';

export { ErrorCodes, SiltError, isSiltError };
export type SiltErrorCode = ErrorCode;

export function siltError(code: SiltErrorCode, message: string, cause?: unknown): SiltError {
  return new SiltError(code, message, cause === undefined ? undefined : { cause });
}

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
