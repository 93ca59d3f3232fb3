/**
 * Checks of the log's arguments. Malformed values (not a safe integer, not a function) are
 * `INVALID_ARGUMENT`; well-formed indexes outside the log's current bounds are `OUT_OF_RANGE`.
 */
import { ErrorCodes, siltError, type SiltError } from '../errors.js';

export function requireIndex(value: unknown, name: string, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, `${name} must be an integer ≥ ${min}, got ${describe(value)}`);
  }
  return value;
}

export function outOfRange(message: string): SiltError {
  return siltError(ErrorCodes.OUT_OF_RANGE, message);
}

export function invalidArgument(message: string, cause?: unknown): SiltError {
  return siltError(ErrorCodes.INVALID_ARGUMENT, message, cause);
}

export function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
