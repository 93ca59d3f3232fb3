/**
 * The properties block (FORMAT.md §5.5): what the manifest, the compaction planner and value-log
 * garbage collection need to know about a table without reading its data blocks. A fixed binary
 * layout rather than JSON, so it is compact, exact for 53-bit integers, and checked field by field.
 */
import { compareInternalKeys, MAX_SEQ, TRAILER_BYTES } from '../keys/internal-key.js';
import { copyBytes, readU32, readU64, writeU32, writeU64 } from './bytes.js';
import { corruption } from './format.js';

export interface TableProperties {
  /** The first and last internal keys of the table. */
  readonly smallestKey: Uint8Array;
  readonly largestKey: Uint8Array;
  readonly minSeq: number;
  readonly maxSeq: number;
  readonly entryCount: number;
  /** Entries of kind DELETE. */
  readonly tombstoneCount: number;
  /** Sum of the internal key lengths (user key + 8-byte trailer) of all entries. */
  readonly rawKeyBytes: number;
  /** Sum of the stored value lengths (inline values and encoded pointers) of all entries. */
  readonly rawValueBytes: number;
  readonly dataBlockCount: number;
  /**
   * Value-log segment number → bytes this table's pointers reference in it. Empty until the value
   * log exists; the slot is in the format now so that tables written today need no migration.
   */
  readonly valueLogBytes: ReadonlyMap<number, number>;
}

/** Fixed-width part before the smallest key: 6 × u64 + u32 block count + u32 key length. */
const FIXED_HEAD = 56;

export function encodeProperties(p: TableProperties): Uint8Array {
  const segments = [...p.valueLogBytes.entries()].sort((a, b) => a[0] - b[0]);
  const length = FIXED_HEAD + p.smallestKey.length + 4 + p.largestKey.length + 4 + 16 * segments.length;
  const out = new Uint8Array(length);
  writeU64(out, 0, p.minSeq);
  writeU64(out, 8, p.maxSeq);
  writeU64(out, 16, p.entryCount);
  writeU64(out, 24, p.tombstoneCount);
  writeU64(out, 32, p.rawKeyBytes);
  writeU64(out, 40, p.rawValueBytes);
  writeU32(out, 48, p.dataBlockCount);
  writeU32(out, 52, p.smallestKey.length);
  let at = FIXED_HEAD;
  out.set(p.smallestKey, at);
  at += p.smallestKey.length;
  writeU32(out, at, p.largestKey.length);
  at += 4;
  out.set(p.largestKey, at);
  at += p.largestKey.length;
  writeU32(out, at, segments.length);
  at += 4;
  for (const [segment, bytes] of segments) {
    writeU64(out, at, segment);
    writeU64(out, at + 8, bytes);
    at += 16;
  }
  return out;
}

/**
 * Decode a checked properties payload. Every field must be in range and consistent with the others
 * (seq range, counts, key order, segments strictly increasing, no trailing bytes); anything else is
 * corruption.
 */
export function decodeProperties(payload: Uint8Array): TableProperties {
  const length = payload.length;
  if (length < FIXED_HEAD) throw corruption(`properties block of ${length} bytes is too short`);
  const minSeq = readU64(payload, 0, 'properties minSeq');
  const maxSeq = readU64(payload, 8, 'properties maxSeq');
  const entryCount = readU64(payload, 16, 'properties entryCount');
  const tombstoneCount = readU64(payload, 24, 'properties tombstoneCount');
  const rawKeyBytes = readU64(payload, 32, 'properties rawKeyBytes');
  const rawValueBytes = readU64(payload, 40, 'properties rawValueBytes');
  const dataBlockCount = readU32(payload, 48);
  const smallestLength = readU32(payload, 52);
  let at = FIXED_HEAD;
  if (smallestLength > length - at - 4) throw corruption('properties smallest key runs past the block');
  const smallestKey = copyBytes(payload, at, at + smallestLength);
  at += smallestLength;
  const largestLength = readU32(payload, at);
  at += 4;
  if (largestLength > length - at - 4) throw corruption('properties largest key runs past the block');
  const largestKey = copyBytes(payload, at, at + largestLength);
  at += largestLength;
  const segmentCount = readU32(payload, at);
  at += 4;
  if (segmentCount * 16 !== length - at) throw corruption('properties segment list does not fill the block');
  const valueLogBytes = new Map<number, number>();
  let previous = -1;
  for (let i = 0; i < segmentCount; i++) {
    const segment = readU64(payload, at, 'properties segment number');
    const bytes = readU64(payload, at + 8, 'properties segment bytes');
    if (segment <= previous) throw corruption('properties segments are not strictly increasing');
    valueLogBytes.set(segment, bytes);
    previous = segment;
    at += 16;
  }
  if (
    minSeq < 1 ||
    maxSeq > MAX_SEQ ||
    minSeq > maxSeq ||
    entryCount < 1 ||
    tombstoneCount > entryCount ||
    dataBlockCount < 1 ||
    dataBlockCount > entryCount ||
    smallestKey.length < TRAILER_BYTES ||
    largestKey.length < TRAILER_BYTES ||
    rawKeyBytes < entryCount * TRAILER_BYTES ||
    compareInternalKeys(smallestKey, largestKey) > 0
  ) {
    throw corruption('properties fields are inconsistent');
  }
  return {
    smallestKey,
    largestKey,
    minSeq,
    maxSeq,
    entryCount,
    tombstoneCount,
    rawKeyBytes,
    rawValueBytes,
    dataBlockCount,
    valueLogBytes,
  };
}
