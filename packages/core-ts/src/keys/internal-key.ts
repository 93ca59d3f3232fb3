/**
 * Internal keys: `userKey ‖ trailer`, where the 8-byte big-endian trailer is `2^53 − 1 − seq`, so
 * that within one user key newer entries sort first (docs/ENGINE.md). Comparison is user part
 * first, then trailer — never plain byte order, which would put `"a" ‖ t` after `"ab" ‖ t`.
 */
import { ErrorCodes, SiltError } from '@siltdb/bindings';

export const TRAILER_BYTES = 8;
/** The largest sequence number: every seq is a JS safe integer. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;
/** The largest user key. */
export const MAX_KEY_BYTES = 65536;

export const enum Kind {
  Delete = 0,
  Put = 1,
  /** The value is an encoded value-log pointer (reserved until the value log exists). */
  Pointer = 2,
}

// MAX_SEQ − seq is exact in a double and fits 53 bits: a high 21-bit and a low 32-bit half.
const TRAILER_TOP = MAX_SEQ;

/** Write the trailer of `seq` at `at`. */
export function writeTrailer(target: Uint8Array, at: number, seq: number): void {
  const inverted = TRAILER_TOP - seq;
  const high = Math.floor(inverted / 2 ** 32);
  const low = inverted >>> 0;
  target[at] = 0;
  target[at + 1] = high >>> 16;
  target[at + 2] = (high >>> 8) & 0xff;
  target[at + 3] = high & 0xff;
  target[at + 4] = low >>> 24;
  target[at + 5] = (low >>> 16) & 0xff;
  target[at + 6] = (low >>> 8) & 0xff;
  target[at + 7] = low & 0xff;
}

/** The sequence number stored in the trailer at `at`. */
export function readTrailer(source: Uint8Array, at: number): number {
  const high = (source[at + 1]! << 16) | (source[at + 2]! << 8) | source[at + 3]!;
  const low = ((source[at + 4]! << 24) | (source[at + 5]! << 16) | (source[at + 6]! << 8) | source[at + 7]!) >>> 0;
  return TRAILER_TOP - (high * 2 ** 32 + low);
}

export function encodeInternalKey(userKey: Uint8Array, seq: number): Uint8Array {
  const out = new Uint8Array(userKey.length + TRAILER_BYTES);
  out.set(userKey, 0);
  writeTrailer(out, userKey.length, seq);
  return out;
}

export function userKeyOf(internalKey: Uint8Array): Uint8Array {
  if (internalKey.length < TRAILER_BYTES) throw new SiltError(ErrorCodes.CORRUPTION, 'internal key shorter than its trailer');
  return internalKey.subarray(0, internalKey.length - TRAILER_BYTES);
}

export function seqOf(internalKey: Uint8Array): number {
  if (internalKey.length < TRAILER_BYTES) throw new SiltError(ErrorCodes.CORRUPTION, 'internal key shorter than its trailer');
  return readTrailer(internalKey, internalKey.length - TRAILER_BYTES);
}

/** Unsigned byte comparison of `a[aFrom, aTo)` and `b[bFrom, bTo)`: negative, zero or positive. */
export function compareBytes(a: Uint8Array, aFrom: number, aTo: number, b: Uint8Array, bFrom: number, bTo: number): number {
  const aLength = aTo - aFrom;
  const bLength = bTo - bFrom;
  const common = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < common; i++) {
    const d = a[aFrom + i]! - b[bFrom + i]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

/** Order of two user keys. */
export function compareUserKeys(a: Uint8Array, b: Uint8Array): number {
  return compareBytes(a, 0, a.length, b, 0, b.length);
}

/** Order of two internal keys: user part first, then trailer (newer first). */
export function compareInternalKeys(a: Uint8Array, b: Uint8Array): number {
  const aUser = a.length - TRAILER_BYTES;
  const bUser = b.length - TRAILER_BYTES;
  const byUser = compareBytes(a, 0, aUser, b, 0, bUser);
  if (byUser !== 0) return byUser;
  return compareBytes(a, aUser, a.length, b, bUser, b.length);
}

const utf8 = new TextEncoder();

/**
 * A user key from what callers pass: a Uint8Array (used as is) or a string (UTF-8). Anything else,
 * or a key over `MAX_KEY_BYTES`, is `INVALID_ARGUMENT`, thrown synchronously.
 */
export function toUserKey(key: unknown, what = 'key'): Uint8Array {
  let bytes: Uint8Array;
  if (key instanceof Uint8Array) bytes = key;
  else if (typeof key === 'string') bytes = utf8.encode(key);
  else throw new SiltError(ErrorCodes.INVALID_ARGUMENT, `${what} must be a Uint8Array or a string, got ${key === null ? 'null' : typeof key}`);
  if (bytes.length > MAX_KEY_BYTES) {
    throw new SiltError(ErrorCodes.INVALID_ARGUMENT, `${what} is ${bytes.length} bytes; the limit is ${MAX_KEY_BYTES}`);
  }
  return bytes;
}

/** A value from what callers pass: a Uint8Array or a string (UTF-8). */
export function toValue(value: unknown, what = 'value'): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (typeof value === 'string') return utf8.encode(value);
  throw new SiltError(ErrorCodes.INVALID_ARGUMENT, `${what} must be a Uint8Array or a string, got ${value === null ? 'null' : typeof value}`);
}
