/**
 * Constructors for the errors this implementation throws. Every failure leaves through one of these,
 * so a caller always sees a `SiltError` with a stable code, never a RangeError from a typed array.
 */
import { ErrorCodes, SiltError } from '../errors.js';

export function corruption(message: string): SiltError {
  return new SiltError(ErrorCodes.CORRUPTION, message);
}

export function invalidArgument(message: string): SiltError {
  return new SiltError(ErrorCodes.INVALID_ARGUMENT, message);
}
