/**
 * Stable error codes. Callers branch on `error.code`, never on messages. Both accelerators throw
 * errors carrying these codes for the same inputs.
 */
export const ErrorCodes = {
  /** A checksum did not match or encoded data is malformed. Never returned as data. */
  CORRUPTION: 'CORRUPTION',
  /** An argument has the wrong type, shape or range. Nothing was changed. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A read reached past the end of a file view. */
  OUT_OF_RANGE: 'OUT_OF_RANGE',
  /** A file is shorter than the length its reader expects. */
  SHORT_FILE: 'SHORT_FILE',
  /** The object was closed. */
  CLOSED: 'CLOSED',
  /** The operating system refused an I/O operation; `cause` holds the system error. */
  IO_ERROR: 'IO_ERROR',
  /** `SILTDB_NATIVE=require` and the native accelerator could not load or failed its self-test. */
  NATIVE_UNAVAILABLE: 'NATIVE_UNAVAILABLE',
  /** Another writer (in this process or another one) holds the lock on the directory. */
  LOCKED: 'LOCKED',
  /**
   * An earlier write or fsync failed, so what reached the disk is unknown; writes are refused until
   * the file or log is reopened (which re-reads what is really there). A retried fsync is never
   * reported as success.
   */
  POISONED: 'POISONED',
  /** A write was attempted on something read-only (a database opened with `readOnly`). */
  READ_ONLY: 'READ_ONLY',
  /** A verification callback refused an operation (e.g. `truncateBefore`); nothing was changed. */
  VERIFY_REJECTED: 'VERIFY_REJECTED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class SiltError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SiltError';
    this.code = code;
  }
}

export function isSiltError(error: unknown, code?: ErrorCode): error is SiltError {
  return (
    error instanceof Error &&
    typeof (error as { code?: unknown }).code === 'string' &&
    (code === undefined || (error as unknown as { code: string }).code === code)
  );
}
