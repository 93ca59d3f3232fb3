/**
 * A data block decoded whole by the accelerator: restart-free arrays (every key expanded, one
 * packed buffer each for keys and values). Compaction reads tables this way (one coarse call per
 * block, every entry needed); reads and iterators use stored blocks instead (stored-block.ts).
 */
import type { Accelerator, PackedBytes } from '@siltdb/bindings';
import { compareBytes } from '../keys/internal-key.js';
import { corruption } from './format.js';
import { compareInternalAt, isStrictlyAscending } from './key-search.js';

/** The highest kind (POINTER): FORMAT §3 tags are engine-defined, and the engine defines 0..2. */
const MAX_KIND = 2;
const KIND_DELETE = 0;

export interface DataBlock {
  readonly keys: PackedBytes;
  readonly values: PackedBytes;
  readonly tags: Uint8Array;
  readonly count: number;
  /** Decoded bytes held: what the block cache charges against its budget. */
  readonly charge: number;
}

/**
 * Verify and decode the stored block `bytes`. Beyond the accelerator's checks: at least one entry,
 * keys strictly ascending in internal-key order, known kinds with empty tombstone values, a first
 * key after the previous block's index key and a last key equal to this block's index key — so a
 * block handle that points at another (valid) block is caught too.
 */
export function decodeDataBlock(
  bytes: Uint8Array,
  indexKey: Uint8Array,
  previousIndexKey: Uint8Array | null,
  accelerator: Accelerator,
  where: string,
): DataBlock {
  const entries = accelerator.decodeBlock(bytes);
  const keys = plainPacked(entries.keys);
  const values = plainPacked(entries.values);
  const tags = entries.tags;
  const count = tags.length;
  if (count === 0) throw corruption(`data block ${where} is empty`);
  if (!isStrictlyAscending(keys, count)) throw corruption(`data block ${where} keys are out of order`);
  for (let i = 0; i < count; i++) {
    const tag = tags[i]!;
    if (tag > MAX_KIND) throw corruption(`data block ${where} entry ${i} has unknown kind ${tag}`);
    if (tag === KIND_DELETE && values.offsets[i + 1] !== values.offsets[i]) {
      throw corruption(`data block ${where} entry ${i} is a tombstone with a value`);
    }
  }
  // Blocks must not overlap: the first key sorts after the previous block's last (index) key.
  if (previousIndexKey !== null && compareInternalAt(keys.data, keys.offsets[0]!, keys.offsets[1]!, previousIndexKey) <= 0) {
    throw corruption(`data block ${where} starts at or before the end of the previous block`);
  }
  const lastFrom = keys.offsets[count - 1]!;
  const lastTo = keys.offsets[count]!;
  if (compareBytes(keys.data, lastFrom, lastTo, indexKey, 0, indexKey.length) !== 0) {
    throw corruption(`data block ${where} does not end with its index key`);
  }
  const charge =
    keys.data.byteLength + values.data.byteLength + keys.offsets.byteLength + values.offsets.byteLength + count;
  return { keys, values, tags, count, charge };
}

/**
 * `bytes` as a plain Uint8Array over the same memory. The accelerator hands out Buffers; searches
 * and value copies over plain arrays stay monomorphic (the search target is a plain array) and can
 * copy with `Uint8Array#slice`, which on a Buffer would return a view instead.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function plainPacked(packed: PackedBytes): PackedBytes {
  return packed.data.constructor === Uint8Array ? packed : { data: plainBytes(packed.data), offsets: packed.offsets };
}
