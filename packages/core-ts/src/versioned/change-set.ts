/**
 * Change sets as callers give them (`applyChangeSets`) and as the store keeps them: validated and
 * copied up front, so bad input throws `INVALID_ARGUMENT` before anything changes and a caller
 * reusing its buffers cannot alter a pending version.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { MAX_KEY_BYTES } from '../keys/internal-key.js';

export type ChangeInput =
  | { readonly key: Uint8Array | string; readonly value: Uint8Array | string; readonly delete?: false }
  | { readonly key: Uint8Array | string; readonly delete: true };

export interface ChangeSetInput {
  readonly name: string;
  readonly changes: readonly ChangeInput[];
}

/** One change: `value === null` deletes the key. */
export interface Change {
  readonly key: Uint8Array;
  readonly value: Uint8Array | null;
}

export interface ChangeSet {
  readonly name: string;
  readonly changes: readonly Change[];
}

const utf8 = new TextEncoder();

function invalid(message: string): Error {
  return siltError(ErrorCodes.INVALID_ARGUMENT, message);
}

/** The bytes of a key or value: strings encoded (a fresh array), byte arrays as given (not copied). */
function bytesOf(value: unknown, what: string): Uint8Array {
  if (typeof value === 'string') return utf8.encode(value);
  if (value instanceof Uint8Array) return value;
  throw invalid(`${what} must be a Uint8Array or a string`);
}

/**
 * Copy every caller-owned byte array of the change sets into one buffer (one allocation per call
 * instead of two per change), so later changes to the caller's arrays cannot reach the store.
 */
function detach(sets: ChangeSet[], callerOwned: Set<Uint8Array>): ChangeSet[] {
  let total = 0;
  for (const bytes of callerOwned) total += bytes.length;
  const arena = new Uint8Array(total);
  const copies = new Map<Uint8Array, Uint8Array>();
  let at = 0;
  for (const bytes of callerOwned) {
    arena.set(bytes, at);
    copies.set(bytes, arena.subarray(at, at + bytes.length));
    at += bytes.length;
  }
  const own = (bytes: Uint8Array): Uint8Array => copies.get(bytes) ?? bytes;
  return sets.map((set) => ({
    name: set.name,
    changes: set.changes.map((change) => ({ key: own(change.key), value: change.value === null ? null : own(change.value) })),
  }));
}

/** A user key: 1 to MAX_KEY_BYTES bytes (the empty key holds the store's metadata). */
export function toStoreKey(key: unknown, what = 'key'): Uint8Array {
  const bytes = bytesOf(key, what);
  return checkKey(bytes, what);
}

function checkKey(bytes: Uint8Array, what: string): Uint8Array {
  if (bytes.length === 0) throw invalid(`${what} is empty: keys of the versioned store are 1 to ${MAX_KEY_BYTES} bytes`);
  if (bytes.length > MAX_KEY_BYTES) throw invalid(`${what} is ${bytes.length} bytes; the limit is ${MAX_KEY_BYTES}`);
  return bytes;
}

/**
 * Validate and copy change sets. Values must be non-empty: the LtHash treats an empty value as no
 * element, so an empty value would be stored but invisible to the root hash — use `delete: true`.
 */
export function toChangeSets(input: unknown): ChangeSet[] {
  if (!Array.isArray(input)) throw invalid('applyChangeSets takes an array of { name, changes }');
  const callerOwned = new Set<Uint8Array>();
  const mine = (value: unknown, what: string): Uint8Array => {
    const bytes = bytesOf(value, what);
    if (bytes === value) callerOwned.add(bytes);
    return bytes;
  };
  const sets = input.map((set: unknown, s): ChangeSet => {
    if (set === null || typeof set !== 'object') throw invalid(`changeSets[${s}] must be an object { name, changes }`);
    const { name, changes } = set as { name?: unknown; changes?: unknown };
    if (typeof name !== 'string') throw invalid(`changeSets[${s}].name must be a string`);
    if (!Array.isArray(changes)) throw invalid(`changeSets[${s}].changes must be an array`);
    return {
      name,
      changes: changes.map((change: unknown, c): Change => {
        const what = `changeSets[${s}].changes[${c}]`;
        if (change === null || typeof change !== 'object') throw invalid(`${what} must be { key, value } or { key, delete: true }`);
        const { key, value, delete: remove } = change as { key?: unknown; value?: unknown; delete?: unknown };
        const keyBytes = checkKey(mine(key, `${what}.key`), `${what}.key`);
        if (remove !== undefined && typeof remove !== 'boolean') throw invalid(`${what}.delete must be a boolean`);
        if (remove === true) {
          if (value !== undefined) throw invalid(`${what} has both a value and delete: true`);
          return { key: keyBytes, value: null };
        }
        const valueBytes = mine(value, `${what}.value`);
        if (valueBytes.length === 0) throw invalid(`${what}.value is empty: delete the key with { key, delete: true } instead`);
        return { key: keyBytes, value: valueBytes };
      }),
    };
  });
  return detach(sets, callerOwned);
}
