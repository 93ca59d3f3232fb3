/**
 * Comparisons and binary searches over internal keys packed in one buffer (a table's index keys),
 * without slicing a view per key. The order is the engine's internal-key order of
 * `keys/internal-key.ts` — user part, then trailer — applied to byte ranges.
 */
import type { PackedBytes } from '@siltdb/bindings';
import { compareBytes, TRAILER_BYTES } from '../keys/internal-key.js';

/** Order of the internal key `data[from, to)` against the internal key `target`. */
export function compareInternalAt(data: Uint8Array, from: number, to: number, target: Uint8Array): number {
  const userEnd = to - TRAILER_BYTES;
  const targetUserEnd = target.length - TRAILER_BYTES;
  const byUser = compareBytes(data, from, userEnd, target, 0, targetUserEnd);
  if (byUser !== 0) return byUser;
  return compareBytes(data, userEnd, to, target, targetUserEnd, target.length);
}

/** Order of the user part of the internal key `data[from, to)` against the user key `userKey`. */
export function compareUserAt(data: Uint8Array, from: number, to: number, userKey: Uint8Array): number {
  return compareBytes(data, from, to - TRAILER_BYTES, userKey, 0, userKey.length);
}

/** The first item of `keys[0, count)` that is ≥ `target`, or `count` when none is. */
export function lowerBound(keys: PackedBytes, count: number, target: Uint8Array): number {
  const { data, offsets } = keys;
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareInternalAt(data, offsets[mid]!, offsets[mid + 1]!, target) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The first item of `keys[0, count)` that is > `target`, or `count` when none is. */
export function upperBound(keys: PackedBytes, count: number, target: Uint8Array): number {
  const { data, offsets } = keys;
  let low = 0;
  let high = count;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareInternalAt(data, offsets[mid]!, offsets[mid + 1]!, target) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Whether `keys[0, count)` is strictly ascending in internal-key order with every key at least a
 * trailer long. Blocks do not enforce order themselves (FORMAT §3), so the table layer checks it.
 */
export function isStrictlyAscending(keys: PackedBytes, count: number): boolean {
  const { data, offsets } = keys;
  for (let i = 0; i < count; i++) {
    const from = offsets[i]!;
    const to = offsets[i + 1]!;
    if (to - from < TRAILER_BYTES) return false;
    if (i > 0) {
      const previousFrom = offsets[i - 1]!;
      const previousUserEnd = from - TRAILER_BYTES;
      const userEnd = to - TRAILER_BYTES;
      const byUser = compareBytes(data, previousFrom, previousUserEnd, data, from, userEnd);
      if (byUser > 0) return false;
      if (byUser === 0 && compareBytes(data, previousUserEnd, from, data, userEnd, to) >= 0) return false;
    }
  }
  return true;
}
