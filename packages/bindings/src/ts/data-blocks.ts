/**
 * Range reads of a table's data blocks (FORMAT.md §3, §5.2): a run of consecutive stored blocks
 * checked and decoded in one call — the twin of the native `decode_data_blocks`, making the same
 * checks with the same outcome: CRC32C and compression byte; restart count and array in bounds,
 * restart 0 at offset 0, restarts strictly ascending and each on an entry start with no shared
 * prefix; 32-bit varints; entries inside the entries area; keys of at least a trailer, strictly
 * ascending in internal-key order (user key, then trailer bytes) within the block and after the
 * previous block's index key; known kinds; empty tombstone values; the last key equal to the
 * block's index key. Anything else is `CORRUPTION`, and nothing decoded is returned.
 */
import type { BlockEntries, PackedBytes } from '../accelerator.js';
import { readU32 } from './bytes.js';
import { crc32cRange } from './crc32c.js';
import { corruption, invalidArgument } from './fail.js';
import { lz4Decompress } from './lz4.js';

/** Bytes of an internal key's trailer (inverted sequence number and kind bits). */
const TRAILER_BYTES = 8;
/** Compression byte and CRC32C after a stored block's payload. */
const BLOCK_TRAILER_BYTES = 5;
const COMPRESSION_NONE = 0;
const COMPRESSION_LZ4 = 1;
const KIND_DELETE = 0;
/** The highest kind the engine defines (a value-log pointer). */
const MAX_KIND = 2;
/** Values up to this length are copied byte by byte (a view per entry costs more than the copy). */
const SMALL_VALUE_BYTES = 64;

/** Output arrays, doubled when full. */
class Output {
  keyData: Uint8Array;
  keyOffsets: Uint32Array;
  valueData: Uint8Array;
  valueOffsets: Uint32Array;
  tags: Uint8Array;
  count = 0;

  constructor(bytes: number) {
    const entries = Math.max(16, bytes >>> 5);
    this.keyData = new Uint8Array(Math.max(64, bytes));
    this.keyOffsets = new Uint32Array(entries + 1);
    this.valueData = new Uint8Array(Math.max(64, bytes));
    this.valueOffsets = new Uint32Array(entries + 1);
    this.tags = new Uint8Array(entries);
  }

  /** Room for one more entry of `keyLength` + `valueLength` bytes. */
  reserve(keyLength: number, valueLength: number): void {
    const at = this.count;
    if (at >= this.tags.length) {
      const entries = 2 * this.tags.length;
      const tags = new Uint8Array(entries);
      tags.set(this.tags);
      this.tags = tags;
      const keyOffsets = new Uint32Array(entries + 1);
      keyOffsets.set(this.keyOffsets);
      this.keyOffsets = keyOffsets;
      const valueOffsets = new Uint32Array(entries + 1);
      valueOffsets.set(this.valueOffsets);
      this.valueOffsets = valueOffsets;
    }
    const keyNeed = this.keyOffsets[at]! + keyLength;
    if (keyNeed > this.keyData.length) {
      if (keyNeed > 0xffffffff) throw corruption('data block keys expand past 4 GiB when decoded');
      const keyData = new Uint8Array(Math.max(keyNeed, 2 * this.keyData.length));
      keyData.set(this.keyData.subarray(0, this.keyOffsets[at]!));
      this.keyData = keyData;
    }
    const valueNeed = this.valueOffsets[at]! + valueLength;
    if (valueNeed > this.valueData.length) {
      if (valueNeed > 0xffffffff) throw corruption('data block values expand past 4 GiB when decoded');
      const valueData = new Uint8Array(Math.max(valueNeed, 2 * this.valueData.length));
      valueData.set(this.valueData.subarray(0, this.valueOffsets[at]!));
      this.valueData = valueData;
    }
  }

  entries(): BlockEntries {
    const n = this.count;
    return {
      keys: { data: this.keyData.subarray(0, this.keyOffsets[n]!), offsets: this.keyOffsets.subarray(0, n + 1) },
      values: { data: this.valueData.subarray(0, this.valueOffsets[n]!), offsets: this.valueOffsets.subarray(0, n + 1) },
      tags: this.tags.subarray(0, n),
    };
  }
}

/**
 * Check and decode the stored blocks `run[spans[2i], spans[2i] + spans[2i + 1])` in order.
 * `indexKeys` holds one more key than there are blocks: the index key of the block before the run
 * (ignored when `hasPrevious` is false), then each block's own. Arguments are validated by the caller.
 */
export function decodeDataBlocks(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes, hasPrevious: boolean): BlockEntries {
  const out = new Output(checkSpans(run, spans, indexKeys));
  decodeAll(run, spans, indexKeys, hasPrevious, out, null);
  return out.entries();
}

/**
 * `decodeDataBlocks`' checks, its output dropped: block `i`'s entry count goes to `counts[i]`.
 * (The twin decodes the run to check it; the native accelerator reuses one block's scratch.)
 */
export function checkDataBlocks(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes, hasPrevious: boolean, counts: Uint32Array): void {
  const total = checkSpans(run, spans, indexKeys);
  const blocks = spans.length / 2;
  if (counts.length < blocks) throw invalidArgument(`${blocks} blocks need ${blocks} counts, got room for ${counts.length}`);
  decodeAll(run, spans, indexKeys, hasPrevious, new Output(total), counts);
}

/** The spans in pairs, inside the run, with one index key more than blocks; their stored bytes. */
function checkSpans(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes): number {
  if (spans.length % 2 !== 0) throw invalidArgument('block spans must come in (offset, length) pairs');
  const blocks = spans.length / 2;
  const keyCount = indexKeys.offsets.length - 1;
  if (keyCount !== blocks + 1) throw invalidArgument(`${blocks} blocks need ${blocks + 1} index keys (the previous block's first), got ${keyCount}`);
  let total = 0;
  for (let b = 0; b < blocks; b++) {
    const at = spans[2 * b]!;
    const length = spans[2 * b + 1]!;
    if (at + length > run.length) throw invalidArgument(`block span ${b} (${at} + ${length}) runs past the ${run.length}-byte run`);
    total += length;
  }
  return total;
}

/** Decode every block of the run into `out`, each block's entry count into `counts` when given. */
function decodeAll(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes, hasPrevious: boolean, out: Output, counts: Uint32Array | null): void {
  const { data: keys, offsets } = indexKeys;
  for (let b = 0; b < spans.length / 2; b++) {
    const at = spans[2 * b]!;
    const previous = b > 0 || hasPrevious ? keys.subarray(offsets[b]!, offsets[b + 1]!) : null;
    const before = out.count;
    decodeOne(run.subarray(at, at + spans[2 * b + 1]!), keys.subarray(offsets[b + 1]!, offsets[b + 2]!), previous, out, b);
    if (counts !== null) counts[b] = out.count - before;
  }
}

function decodeOne(stored: Uint8Array, indexKey: Uint8Array, previousIndexKey: Uint8Array | null, out: Output, block: number): void {
  const where = `data block ${block} of the run`;
  const length = stored.length;
  if (length < BLOCK_TRAILER_BYTES + 4) throw corruption(`${where} is shorter than an empty block`);
  const crcAt = length - 4;
  if (crc32cRange(stored, 0, crcAt) !== readU32(stored, crcAt)) throw corruption(`${where} checksum mismatch`);
  const compression = stored[length - BLOCK_TRAILER_BYTES];
  let data: Uint8Array;
  if (compression === COMPRESSION_NONE) data = stored.subarray(0, length - BLOCK_TRAILER_BYTES);
  else if (compression === COMPRESSION_LZ4) data = lz4Decompress(stored.subarray(0, length - BLOCK_TRAILER_BYTES));
  else throw corruption(`${where} has unknown compression ${compression}`);
  const size = data.length;
  if (size < 4) throw corruption(`${where} payload is shorter than its restart count`);
  const restartCount = readU32(data, size - 4);
  if (restartCount === 0) throw corruption(`${where} is empty`);
  if (restartCount > (size - 4) / 4) throw corruption(`${where} restart array runs past the payload`);
  const entriesEnd = size - 4 - 4 * restartCount;
  let previousRestart = -1;
  for (let r = 0; r < restartCount; r++) {
    const at = readU32(data, entriesEnd + 4 * r);
    if ((r === 0 && at !== 0) || at <= previousRestart || at >= entriesEnd) throw corruption(`${where} restart ${r} is out of place`);
    previousRestart = at;
  }
  // Each key is rebuilt straight in the output after the previous one, whose prefix it shares.
  let keyBase = out.keyOffsets[out.count]!;
  let keyLength = 0;
  let count = 0;
  let nextRestart = 1;
  let nextRestartAt = restartCount > 1 ? readU32(data, entriesEnd + 4) : entriesEnd;
  let pos = 0;
  while (pos < entriesEnd) {
    if (pos > nextRestartAt) throw corruption(`${where} restart ${nextRestart} is not at an entry`);
    const atRestart = pos === 0 || pos === nextRestartAt;
    if (atRestart && pos !== 0) {
      nextRestart++;
      nextRestartAt = nextRestart < restartCount ? readU32(data, entriesEnd + 4 * nextRestart) : entriesEnd;
    }
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
          if (pos >= entriesEnd) throw corruption(`${where} entry ${count} runs past the entries`);
          const byte = data[pos++]!;
          if (shift === 28 && byte > 0x0f) throw corruption(`${where} entry ${count} has a varint over 32 bits`);
          result += (byte & 0x7f) * 2 ** shift;
          if (byte < 0x80) break;
          shift += 7;
        }
        if (field === 0) shared = result;
        else if (field === 1) unshared = result;
        else valueLength = result;
      }
    }
    if (pos >= entriesEnd) throw corruption(`${where} entry ${count} runs past the entries`);
    const tag = data[pos++]!;
    if (atRestart ? shared !== 0 : shared > keyLength) throw corruption(`${where} entry ${count} shares more than the previous key`);
    const nextLength = shared + unshared;
    if (nextLength < TRAILER_BYTES) throw corruption(`${where} entry ${count} key is shorter than its trailer`);
    if (pos + unshared + valueLength > entriesEnd) throw corruption(`${where} entry ${count} runs past the entries`);
    if (tag > MAX_KIND) throw corruption(`${where} entry ${count} has unknown kind ${tag}`);
    if (tag === KIND_DELETE && valueLength !== 0) throw corruption(`${where} entry ${count} is a tombstone with a value`);
    out.reserve(nextLength, valueLength);
    const key = out.keyData;
    const at = out.keyOffsets[out.count]!;
    for (let i = 0; i < shared; i++) key[at + i] = key[keyBase + i]!;
    for (let i = 0; i < unshared; i++) key[at + shared + i] = data[pos + i]!;
    pos += unshared;
    if (count > 0 && compareInternal(key, keyBase, keyBase + keyLength, key, at, at + nextLength) >= 0) {
      throw corruption(`${where} keys are out of order`);
    }
    if (count === 0 && previousIndexKey !== null) {
      if (previousIndexKey.length < TRAILER_BYTES || compareInternal(key, at, at + nextLength, previousIndexKey, 0, previousIndexKey.length) <= 0) {
        throw corruption(`${where} starts at or before the end of the previous block`);
      }
    }
    keyBase = at;
    keyLength = nextLength;
    const valueAt = out.valueOffsets[out.count]!;
    const values = out.valueData;
    if (valueLength <= SMALL_VALUE_BYTES) for (let i = 0; i < valueLength; i++) values[valueAt + i] = data[pos + i]!;
    else values.set(data.subarray(pos, pos + valueLength), valueAt);
    pos += valueLength;
    out.keyOffsets[out.count + 1] = at + nextLength;
    out.valueOffsets[out.count + 1] = valueAt + valueLength;
    out.tags[out.count] = tag;
    out.count++;
    count++;
  }
  if (nextRestart < restartCount) throw corruption(`${where} restart ${nextRestart} is not at an entry`);
  if (keyLength !== indexKey.length) throw corruption(`${where} does not end with its index key`);
  for (let i = 0; i < keyLength; i++) if (out.keyData[keyBase + i] !== indexKey[i]) throw corruption(`${where} does not end with its index key`);
}

/** Internal-key order of `a[aFrom, aTo)` against `b[bFrom, bTo)`: user keys, then trailers, bytewise. */
function compareInternal(a: Uint8Array, aFrom: number, aTo: number, b: Uint8Array, bFrom: number, bTo: number): number {
  const aUser = aTo - TRAILER_BYTES - aFrom;
  const bUser = bTo - TRAILER_BYTES - bFrom;
  const common = aUser < bUser ? aUser : bUser;
  for (let i = 0; i < common; i++) {
    const d = a[aFrom + i]! - b[bFrom + i]!;
    if (d !== 0) return d;
  }
  if (aUser !== bUser) return aUser - bUser;
  for (let i = 0; i < TRAILER_BYTES; i++) {
    const d = a[aTo - TRAILER_BYTES + i]! - b[bTo - TRAILER_BYTES + i]!;
    if (d !== 0) return d;
  }
  return 0;
}
