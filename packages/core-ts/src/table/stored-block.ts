/**
 * A data block as the block cache holds it: the block's own payload bytes (FORMAT §3 — entries with
 * prefix-compressed keys, then the restart array), checked once when it is read and then searched
 * in place by `BlockCursor`. Nothing is expanded or copied per entry: a cached block costs its
 * payload's bytes and no more, and a block miss costs one read, one CRC32C and one walk over the
 * entries (no accelerator decode, whose per-entry output arrays cost more than the whole search).
 *
 * The walk performs every check FORMAT §5.2 asks of a reader — entries well-formed and filling the
 * space before the restart array, restart points on entry starts with no shared prefix, keys of at
 * least a trailer and strictly ascending in internal-key order, known kinds, empty tombstone
 * values, first key after the previous block's index key, last key equal to this block's — so a
 * cursor never meets a malformed entry and reads no further checks.
 */
import type { Accelerator } from '@siltdb/bindings';
import { compareBytes, Kind, TRAILER_BYTES } from '../keys/internal-key.js';
import { readU32 } from './bytes.js';
import { BLOCK_TRAILER_BYTES, corruption } from './format.js';
import { compareInternalAt } from './key-search.js';

/** The highest kind the engine defines (FORMAT §5.2); tags above it are corruption. */
const MAX_KIND: number = Kind.Pointer;
const COMPRESSION_NONE = 0;
const COMPRESSION_LZ4 = 1;
/** Per cached block beyond its payload: the object, its fields and the typed-array header. */
const BLOCK_OVERHEAD_BYTES = 80;

export interface StoredBlock {
  /** The (decompressed) payload: entries in `[0, entriesEnd)`, then the restart array and its count. */
  readonly data: Uint8Array;
  readonly entriesEnd: number;
  readonly restartCount: number;
  /** Entries in the block (≥ 1). */
  readonly count: number;
  /** Bytes held: what the block cache charges against its budget. */
  readonly charge: number;
}

/** Byte offset in `block.data` of the entry at restart point `r`. */
export function restartOffset(block: StoredBlock, r: number): number {
  return readU32(block.data, block.entriesEnd + 4 * r);
}

/**
 * Check and take in the stored block `stored` (payload ‖ compression ‖ CRC32C). `stored` must be
 * bytes the caller owns (a fresh read): the block keeps them, as a plain Uint8Array view.
 * `indexKey` is the block's index key, `previousIndexKey` the one before it (null for block 0).
 */
export function loadStoredBlock(
  stored: Uint8Array,
  indexKey: Uint8Array,
  previousIndexKey: Uint8Array | null,
  accelerator: Accelerator,
  where: string,
): StoredBlock {
  return checkPayload(unsealDataBlock(stored, accelerator, where), indexKey, previousIndexKey, where);
}

/** The payload of a stored block (checksum verified, decompressed), as a plain Uint8Array. */
function unsealDataBlock(stored: Uint8Array, accelerator: Accelerator, where: string): Uint8Array {
  const length = stored.length;
  if (length < BLOCK_TRAILER_BYTES + 4) throw corruption(`data block ${where} is shorter than an empty block`);
  const crcAt = length - 4;
  if (accelerator.crc32c(stored.subarray(0, crcAt)) !== readU32(stored, crcAt)) {
    throw corruption(`data block ${where} checksum mismatch`);
  }
  const compression = stored[length - BLOCK_TRAILER_BYTES];
  if (compression !== COMPRESSION_NONE && compression !== COMPRESSION_LZ4) throw corruption(`data block ${where} has unknown compression ${compression}`);
  return payloadOf(stored, accelerator);
}

/** The payload of a stored block whose compression byte is known good, decompressed, as a plain Uint8Array. */
function payloadOf(stored: Uint8Array, accelerator: Accelerator): Uint8Array {
  const body = stored.subarray(0, stored.length - BLOCK_TRAILER_BYTES);
  const payload = stored[stored.length - BLOCK_TRAILER_BYTES] === COMPRESSION_NONE ? body : accelerator.lz4Decompress(body);
  return payload.constructor === Uint8Array ? payload : new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength);
}

/**
 * Take in a stored block that `Accelerator.checkDataBlocks` has checked (every check of
 * `loadStoredBlock`, against the same index keys) and found to hold `count` entries: only its
 * payload is taken out, decompressed when the block is compressed. `stored` must stay unchanged
 * while the block is in use.
 */
export function checkedStoredBlock(stored: Uint8Array, count: number, accelerator: Accelerator): StoredBlock {
  const data = payloadOf(stored, accelerator);
  const size = data.length;
  const restartCount = readU32(data, size - 4);
  return { data, entriesEnd: size - 4 - 4 * restartCount, restartCount, count, charge: data.byteLength + BLOCK_OVERHEAD_BYTES };
}

/** Scratch for the walk: the key being rebuilt, in place over the previous one. */
let walkKey: Uint8Array = new Uint8Array(64);

function checkPayload(
  data: Uint8Array,
  indexKey: Uint8Array,
  previousIndexKey: Uint8Array | null,
  where: string,
): StoredBlock {
  const size = data.length;
  if (size < 4) throw corruption(`data block ${where} payload is shorter than its restart count`);
  const restartCount = readU32(data, size - 4);
  if (restartCount === 0) throw corruption(`data block ${where} is empty`);
  if (restartCount > (size - 4) / 4) throw corruption(`data block ${where} restart array runs past the payload`);
  const entriesEnd = size - 4 - 4 * restartCount;
  let previousRestart = -1;
  for (let r = 0; r < restartCount; r++) {
    const at = readU32(data, entriesEnd + 4 * r);
    if ((r === 0 && at !== 0) || at <= previousRestart || at >= entriesEnd) {
      throw corruption(`data block ${where} restart ${r} is out of place`);
    }
    previousRestart = at;
  }
  // The key being rebuilt, in place over the previous one, is `key[keyBase, keyBase + keyLength)`.
  let key = walkKey;
  const keyBase = 0;
  let keyLength = 0;
  let count = 0;
  let nextRestart = 1;
  let nextRestartAt = restartCount > 1 ? readU32(data, entriesEnd + 4) : entriesEnd;
  let pos = 0;
  while (pos < entriesEnd) {
    if (pos > nextRestartAt) throw corruption(`data block ${where} restart ${nextRestart} is not at an entry`);
    const atRestart = pos === 0 || pos === nextRestartAt;
    if (atRestart && pos !== 0) {
      nextRestart++;
      nextRestartAt = nextRestart < restartCount ? readU32(data, entriesEnd + 4 * nextRestart) : entriesEnd;
    }
    // Three varints (shared, unshared, value length), each 32-bit LEB128, then the tag.
    let shared = 0;
    let unshared = 0;
    let valueLength = 0;
    if (pos + 3 < entriesEnd && data[pos]! < 0x80 && data[pos + 1]! < 0x80 && data[pos + 2]! < 0x80) {
      // The usual entry: three one-byte varints.
      shared = data[pos]!;
      unshared = data[pos + 1]!;
      valueLength = data[pos + 2]!;
      pos += 3;
    } else {
      for (let field = 0; field < 3; field++) {
        let result = 0;
        let shift = 0;
        for (;;) {
          if (pos >= entriesEnd) throw corruption(`data block ${where} entry ${count} runs past the entries`);
          const byte = data[pos++]!;
          if (shift === 28 && byte > 0x0f) throw corruption(`data block ${where} entry ${count} has a varint over 32 bits`);
          result += (byte & 0x7f) * 2 ** shift;
          if (byte < 0x80) break;
          shift += 7;
        }
        if (field === 0) shared = result;
        else if (field === 1) unshared = result;
        else valueLength = result;
      }
    }
    if (pos >= entriesEnd) throw corruption(`data block ${where} entry ${count} runs past the entries`);
    const tag = data[pos++]!;
    if (atRestart ? shared !== 0 : shared > keyLength) {
      throw corruption(`data block ${where} entry ${count} shares more than the previous key`);
    }
    const length = shared + unshared;
    if (length < TRAILER_BYTES) throw corruption(`data block ${where} entry ${count} key is shorter than its trailer`);
    if (pos + unshared + valueLength > entriesEnd) throw corruption(`data block ${where} entry ${count} runs past the entries`);
    if (tag > MAX_KIND) throw corruption(`data block ${where} entry ${count} has unknown kind ${tag}`);
    if (tag === Kind.Delete && valueLength !== 0) throw corruption(`data block ${where} entry ${count} is a tombstone with a value`);
    if (count > 0 && compareWithPrevious(key, keyBase, keyLength, data, pos, shared, length) <= 0) {
      throw corruption(`data block ${where} keys are out of order`);
    }
    if (key.length < length) {
      const grown = new Uint8Array(Math.max(length, 2 * key.length));
      for (let i = 0; i < shared; i++) grown[i] = key[i]!;
      key = grown;
    }
    for (let i = 0; i < unshared; i++) key[keyBase + shared + i] = data[pos + i]!;
    keyLength = length;
    pos += unshared;
    pos += valueLength;
    if (count === 0 && previousIndexKey !== null && compareInternalAt(key, keyBase, keyBase + keyLength, previousIndexKey) <= 0) {
      throw corruption(`data block ${where} starts at or before the end of the previous block`);
    }
    count++;
  }
  if (nextRestart < restartCount) throw corruption(`data block ${where} restart ${nextRestart} is not at an entry`);
  walkKey = key;
  if (compareBytes(key, keyBase, keyBase + keyLength, indexKey, 0, indexKey.length) !== 0) {
    throw corruption(`data block ${where} does not end with its index key`);
  }
  return { data, entriesEnd, restartCount, count, charge: data.byteLength + BLOCK_OVERHEAD_BYTES };
}

/**
 * Internal-key order of the entry being read against the previous key
 * `previous[base, base + previousLength)`, before the entry is written: the entry's key is
 * `previous[base, base + shared)` followed by `data[pos, pos + length − shared)`.
 */
function compareWithPrevious(previous: Uint8Array, base: number, previousLength: number, data: Uint8Array, pos: number, shared: number, length: number): number {
  const previousUser = previousLength - TRAILER_BYTES;
  const user = length - TRAILER_BYTES;
  const common = user < previousUser ? user : previousUser;
  // The first `shared` bytes are the previous key's own.
  for (let j = shared; j < common; j++) {
    const d = data[pos + j - shared]! - previous[base + j]!;
    if (d !== 0) return d;
  }
  if (user !== previousUser) return user - previousUser;
  for (let t = 0; t < TRAILER_BYTES; t++) {
    const j = user + t;
    const d = (j < shared ? previous[base + j]! : data[pos + j - shared]!) - previous[base + previousUser + t]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Internal-key order of `a[0, aLength)` against `b[0, bLength)` (both at least a trailer long). */
export function compareInternalRanges(a: Uint8Array, aLength: number, b: Uint8Array, bLength: number): number {
  const aUser = aLength - TRAILER_BYTES;
  const bUser = bLength - TRAILER_BYTES;
  const byUser = compareBytes(a, 0, aUser, b, 0, bUser);
  if (byUser !== 0) return byUser;
  return compareBytes(a, aUser, aLength, b, bUser, bLength);
}
