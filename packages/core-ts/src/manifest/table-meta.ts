/**
 * What the manifest knows about one table file: enough to find it (its number), to route reads and
 * plan compactions without opening it (key and sequence ranges, size, entry count), and to keep the
 * value-log debt ledger exact (bytes the table references in each value-log segment; DESIGN §4).
 *
 * Table metadata is immutable once validated: every `TableMeta` a `Version` holds is a frozen copy
 * made by `checkTableMeta`, so no caller can change a live version by mutating its own buffers.
 */
import { siltError, type SiltError, ErrorCodes } from '../errors.js';
import { compareBytes, compareInternalKeys, MAX_KEY_BYTES, MAX_SEQ, TRAILER_BYTES } from '../keys/internal-key.js';

/** L0 … L6. */
export const NUM_LEVELS = 7;

export interface TableMeta {
  /** The table is `<fileNumber>.sst`; numbers are never reused. */
  readonly fileNumber: number;
  /** The file's length in bytes. */
  readonly size: number;
  /** The first and last internal keys in the table (user key ‖ 8-byte trailer). */
  readonly smallest: Uint8Array;
  readonly largest: Uint8Array;
  /** The lowest and highest sequence numbers of the table's entries. */
  readonly minSeq: number;
  readonly maxSeq: number;
  /** How many entries (puts, deletes and pointers) the table holds. */
  readonly entries: number;
  /**
   * Bytes of value-log records the table's pointers reference, per value-log segment id. Empty
   * until the value log exists; the ledger sums these per segment.
   */
  readonly valueLogBytes: ReadonlyMap<string, number>;
}

/** Makes the error a validation failure reports: `INVALID_ARGUMENT` for caller input, `CORRUPTION` for decoded bytes. */
export type Failure = (message: string) => SiltError;

export const invalidInput: Failure = (message) => siltError(ErrorCodes.INVALID_ARGUMENT, message);
export const corruptInput: Failure = (message) => siltError(ErrorCodes.CORRUPTION, message);

export function checkCount(value: unknown, what: string, fail: Failure, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw fail(`${what} must be an integer ≥ ${min} below 2^53, got ${describeValue(value)}`);
  }
  return value;
}

export function checkLevel(value: unknown, what: string, fail: Failure): number {
  const level = checkCount(value, what, fail);
  if (level >= NUM_LEVELS) throw fail(`${what} must be below ${NUM_LEVELS}, got ${level}`);
  return level;
}

/** A validated, frozen copy of `value`; `fail` makes the error for anything malformed. */
export function checkTableMeta(value: unknown, what: string, fail: Failure): TableMeta {
  if (value === null || typeof value !== 'object') throw fail(`${what} must be an object, got ${describeValue(value)}`);
  const table = value as Record<string, unknown>;
  const fileNumber = checkCount(table.fileNumber, `${what}.fileNumber`, fail);
  const size = checkCount(table.size, `${what}.size`, fail);
  const smallest = checkInternalKey(table.smallest, `${what}.smallest`, fail);
  const largest = checkInternalKey(table.largest, `${what}.largest`, fail);
  const minSeq = checkSeq(table.minSeq, `${what}.minSeq`, fail);
  const maxSeq = checkSeq(table.maxSeq, `${what}.maxSeq`, fail);
  const entries = checkCount(table.entries, `${what}.entries`, fail, 1);
  if (compareInternalKeys(smallest, largest) > 0) throw fail(`${what}: smallest key sorts after largest key`);
  if (minSeq > maxSeq) throw fail(`${what}: minSeq ${minSeq} > maxSeq ${maxSeq}`);
  const valueLogBytes = checkValueLogBytes(table.valueLogBytes ?? new Map(), `${what}.valueLogBytes`, fail);
  return Object.freeze({ fileNumber, size, smallest, largest, minSeq, maxSeq, entries, valueLogBytes });
}

/** A value-log segment id: printable ASCII without spaces (the value log names segments `<lane>-<seq>`). */
const SEGMENT_ID = /^[\x21-\x7e]{1,128}$/;

function checkValueLogBytes(value: unknown, what: string, fail: Failure): ReadonlyMap<string, number> {
  if (!(value instanceof Map)) throw fail(`${what} must be a Map of segment id → bytes, got ${describeValue(value)}`);
  const copy = new Map<string, number>();
  for (const [segment, bytes] of value) {
    if (typeof segment !== 'string' || !SEGMENT_ID.test(segment)) throw fail(`${what}: bad segment id ${describeValue(segment)}`);
    copy.set(segment, checkCount(bytes, `${what}[${segment}]`, fail));
  }
  return freezeMap(copy);
}

function checkInternalKey(value: unknown, what: string, fail: Failure): Uint8Array {
  if (!(value instanceof Uint8Array)) throw fail(`${what} must be a Uint8Array, got ${describeValue(value)}`);
  if (value.length < TRAILER_BYTES || value.length > MAX_KEY_BYTES + TRAILER_BYTES) {
    throw fail(`${what} must be an internal key of ${TRAILER_BYTES}–${MAX_KEY_BYTES + TRAILER_BYTES} bytes, got ${value.length}`);
  }
  // A copy: the caller keeps its buffer and may reuse it.
  return Uint8Array.prototype.slice.call(value);
}

function checkSeq(value: unknown, what: string, fail: Failure): number {
  const seq = checkCount(value, what, fail);
  if (seq > MAX_SEQ) throw fail(`${what} must be at most ${MAX_SEQ}, got ${seq}`);
  return seq;
}

/** Order of the user parts of two internal keys. */
export function compareUserParts(a: Uint8Array, b: Uint8Array): number {
  return compareBytes(a, 0, a.length - TRAILER_BYTES, b, 0, b.length - TRAILER_BYTES);
}

/** Order of the user part of internal key `a` and user key `b`. */
export function compareUserPartToKey(a: Uint8Array, b: Uint8Array): number {
  return compareBytes(a, 0, a.length - TRAILER_BYTES, b, 0, b.length);
}

/** A map whose mutators throw: `Object.freeze` does not stop `Map#set`. */
export function freezeMap<K, V>(map: Map<K, V>): ReadonlyMap<K, V> {
  const refuse = (): never => {
    throw new TypeError('this map is immutable');
  };
  Object.defineProperties(map, { set: { value: refuse }, delete: { value: refuse }, clear: { value: refuse } });
  return Object.freeze(map);
}

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${typeof value} ${String(value)}`;
}
