/**
 * A table's point lookup in one block payload (FORMAT.md §3), the twin of the native
 * `block_seek::point_get`: a binary search over the restart points (whose keys are stored whole),
 * then a walk rebuilding prefix-compressed keys until the first entry at or after the target.
 * Nothing in the payload is trusted: every varint, length and offset is checked (`CORRUPTION`).
 */
import { compareRanges, readU32, writeU32 } from './bytes.js';
import { corruption, invalidArgument } from './fail.js';
import { VarintReader } from './varint.js';

const TRAILER = 8;

/** Order of internal key `a[aFrom, aTo)` against internal key `b` (each at least a trailer long). */
function compareInternal(a: Uint8Array, aFrom: number, aTo: number, b: Uint8Array): number {
  const aUser = aTo - TRAILER;
  const bUser = b.length - TRAILER;
  return compareRanges(a, aFrom, aUser, b, 0, bUser) || compareRanges(a, aUser, aTo, b, bUser, b.length);
}

/** The key being rebuilt by the walk, grown as needed. */
let scratch = new Uint8Array(64);

/** See `Accelerator.blockPointGet`. */
export function blockPointGet(payload: Uint8Array, target: Uint8Array, result: Uint8Array): boolean {
  if (target.length < TRAILER) throw invalidArgument(`a point lookup target of ${target.length} bytes is shorter than its trailer`);
  if (result.length < 20) throw invalidArgument(`the result of a block point lookup needs 20 bytes, got ${result.length}`);
  const size = payload.length;
  if (size < 4) throw corruption('block payload is shorter than its restart count');
  const restartCount = readU32(payload, size - 4);
  if (restartCount === 0 || restartCount > (size - 4) / 4) {
    throw corruption(`block restart count ${restartCount} does not fit its ${size}-byte payload`);
  }
  const entriesEnd = size - 4 - 4 * restartCount;
  const restart = (r: number): number => {
    const offset = readU32(payload, entriesEnd + 4 * r);
    if (offset >= entriesEnd) throw corruption(`block restart ${r} is past the entries`);
    return offset;
  };
  const reader = new VarintReader(payload, 0, entriesEnd);
  const what = 'block entry';

  // The last restart point whose key is < target.
  let low = 0;
  let high = restartCount - 1;
  while (low < high) {
    const mid = (low + high + 1) >>> 1;
    const at = restart(mid);
    reader.pos = at;
    const shared = reader.read(what);
    const unshared = reader.read(what);
    const valueLength = reader.read(what);
    const keyAt = reader.pos + 1;
    if (keyAt > entriesEnd || keyAt + unshared + valueLength > entriesEnd) throw corruption(`block entry at ${at} runs past the entries`);
    if (shared !== 0) throw corruption(`block restart ${mid} shares a key prefix`);
    if (unshared < TRAILER) throw corruption(`block entry at ${at} has a key shorter than its trailer`);
    if (compareInternal(payload, keyAt, keyAt + unshared, target) < 0) low = mid;
    else high = mid - 1;
  }

  let key = scratch;
  let keyLength = 0;
  let at = restart(low);
  while (at < entriesEnd) {
    reader.pos = at;
    const shared = reader.read(what);
    const unshared = reader.read(what);
    const valueLength = reader.read(what);
    const tagAt = reader.pos;
    const deltaAt = tagAt + 1;
    if (deltaAt > entriesEnd || deltaAt + unshared + valueLength > entriesEnd) throw corruption(`block entry at ${at} runs past the entries`);
    if (shared > keyLength) throw corruption(`block entry at ${at} shares ${shared} bytes of a ${keyLength}-byte key`);
    const length = shared + unshared;
    if (key.length < length) {
      const grown = new Uint8Array(Math.max(length, 2 * key.length));
      grown.set(key.subarray(0, shared));
      scratch = key = grown;
    }
    key.set(payload.subarray(deltaAt, deltaAt + unshared), shared);
    keyLength = length;
    if (keyLength < TRAILER) throw corruption(`block entry at ${at} has a key shorter than its trailer`);
    const valueStart = deltaAt + unshared;
    const valueEnd = valueStart + valueLength;
    if (compareInternal(key, 0, keyLength, target) >= 0) {
      const user = keyLength - TRAILER;
      if (compareRanges(key, 0, user, target, 0, target.length - TRAILER) !== 0) return false;
      writeU32(result, 0, valueStart);
      writeU32(result, 4, valueEnd);
      result[8] = payload[tagAt]!;
      result.set(key.subarray(user, keyLength), 12);
      return true;
    }
    at = valueEnd;
  }
  return false;
}
