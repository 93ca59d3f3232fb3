/**
 * SiltDB's error codes in abstract-level's vocabulary. Code written against classic-level branches
 * on `err.code` (`LEVEL_LOCKED`, `LEVEL_CORRUPTION`, …): every engine error that crosses the
 * adapter gets the matching `LEVEL_*` code, and keeps the engine error as its `cause` (so the
 * SiltDB code stays reachable as `err.cause.code`).
 */
import ModuleError from 'module-error';
import { ErrorCodes } from '../errors.js';

/** The codes abstract-level defines that SiltLevel raises (abstract-level raises the others itself). */
export const LevelCodes = {
  DATABASE_NOT_OPEN: 'LEVEL_DATABASE_NOT_OPEN',
  ITERATOR_NOT_OPEN: 'LEVEL_ITERATOR_NOT_OPEN',
  SNAPSHOT_NOT_OPEN: 'LEVEL_SNAPSHOT_NOT_OPEN',
  INVALID_KEY: 'LEVEL_INVALID_KEY',
  CORRUPTION: 'LEVEL_CORRUPTION',
  IO_ERROR: 'LEVEL_IO_ERROR',
  LOCKED: 'LEVEL_LOCKED',
  READONLY: 'LEVEL_READONLY',
  NOT_SUPPORTED: 'LEVEL_NOT_SUPPORTED',
  ABORTED: 'LEVEL_ABORTED',
} as const;

export type LevelCode = (typeof LevelCodes)[keyof typeof LevelCodes];

/**
 * Where an error happened, for the codes whose meaning depends on it: `CLOSED` on an iterator is
 * `LEVEL_ITERATOR_NOT_OPEN`, `INVALID_ARGUMENT` on a key-taking operation is `LEVEL_INVALID_KEY`
 * (keys are the only argument SiltLevel forwards unchecked: abstract-level has already checked
 * and encoded everything else).
 */
export type ErrorContext = 'database' | 'keys' | 'iterator' | 'open';

const BY_CODE: Readonly<Record<string, LevelCode>> = {
  [ErrorCodes.LOCKED]: LevelCodes.LOCKED,
  [ErrorCodes.CORRUPTION]: LevelCodes.CORRUPTION,
  // A file shorter than its own header says was cut: LevelDB reports truncation as corruption too.
  [ErrorCodes.SHORT_FILE]: LevelCodes.CORRUPTION,
  [ErrorCodes.IO_ERROR]: LevelCodes.IO_ERROR,
  // A log that saw a failed write or fsync refuses writes until reopened: an I/O failure.
  [ErrorCodes.POISONED]: LevelCodes.IO_ERROR,
  [ErrorCodes.READ_ONLY]: LevelCodes.READONLY,
};

/** The `LEVEL_*` code for an engine error in `context`, or undefined when none fits. */
export function levelCodeOf(error: unknown, context: ErrorContext): LevelCode | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  const mapped = BY_CODE[code];
  if (mapped !== undefined) return mapped;
  if (code === ErrorCodes.CLOSED) return context === 'iterator' ? LevelCodes.ITERATOR_NOT_OPEN : LevelCodes.DATABASE_NOT_OPEN;
  if (code === ErrorCodes.INVALID_ARGUMENT && (context === 'keys' || context === 'iterator')) return LevelCodes.INVALID_KEY;
  return undefined;
}

export function levelError(code: LevelCode, message: string, cause?: unknown): ModuleError {
  return new ModuleError(message, cause === undefined ? { code } : { code, cause: cause as Error });
}

/**
 * `error` as abstract-level code expects it: an engine error with a `LEVEL_*` code and the engine
 * error as its cause; anything else unchanged (errors that already speak abstract-level, and
 * engine errors no `LEVEL_*` code describes, such as a bad open option).
 */
export function toLevelError(error: unknown, context: ErrorContext): unknown {
  const code = levelCodeOf(error, context);
  if (code === undefined) return error;
  return levelError(code, (error as Error).message, error);
}

/** Run `fn`, translating what it throws. */
export function translated<T>(context: ErrorContext, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw toLevelError(error, context);
  }
}

/** Await `fn`, translating what it throws or rejects with. */
export async function translatedAsync<T>(context: ErrorContext, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    throw toLevelError(error, context);
  }
}

/** The error an aborted iterator read rejects with: `LEVEL_ABORTED`, named `AbortError` for web compatibility. */
export function abortError(): ModuleError {
  const error = levelError(LevelCodes.ABORTED, 'Operation has been aborted');
  Object.defineProperty(error, 'name', { value: 'AbortError', configurable: true });
  return error;
}
