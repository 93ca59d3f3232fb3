/**
 * Table blocks (FORMAT.md §3): prefix-compressed keys with restart points, a tag byte per entry,
 * optional LZ4, and a CRC32C trailer.
 */
import { constants as bufferConstants } from 'node:buffer';
import type { BlockEntries } from '../accelerator.js';
import { commonPrefix, copyRange, readU32, writeU32 } from './bytes.js';
import { crc32cRange } from './crc32c.js';
import { corruption, invalidArgument } from './fail.js';
import { compressTransient, lz4Decompress } from './lz4.js';
import { VarintReader, varintLength, writeVarint } from './varint.js';

export const DEFAULT_RESTART_INTERVAL = 16;
export const MAX_RESTART_INTERVAL = 65535;
const COMPRESSION_NONE = 0;
const COMPRESSION_LZ4 = 1;
/** Compression byte plus CRC. */
const TRAILER = 5;
const MIN_COMPRESS = 64;
const MAX_U32 = 0xffffffff;

/** `entries` is validated: keys, values and tags have the same count. */
export function encodeBlock(entries: BlockEntries, restartInterval: number, compress: boolean): Buffer {
  const { data: keyData, offsets: keyOffsets } = entries.keys;
  const { data: valueData, offsets: valueOffsets } = entries.values;
  const tags = entries.tags;
  const count = tags.length;

  // Sizing pass: the shared prefix of each key is computed once and reused when writing.
  const shared = new Uint32Array(count);
  let entriesLength = 0;
  for (let i = 0; i < count; i++) {
    const keyStart = keyOffsets[i]!;
    const keyEnd = keyOffsets[i + 1]!;
    const s =
      i % restartInterval === 0 ? 0 : commonPrefix(keyData, keyOffsets[i - 1]!, keyStart, keyData, keyStart, keyEnd);
    shared[i] = s;
    const unshared = keyEnd - keyStart - s;
    const valueLength = valueOffsets[i + 1]! - valueOffsets[i]!;
    entriesLength += varintLength(s) + varintLength(unshared) + varintLength(valueLength) + 1 + unshared + valueLength;
  }
  const restarts = Math.ceil(count / restartInterval);
  const payloadLength = entriesLength + 4 * restarts + 4;
  if (payloadLength > MAX_U32 || payloadLength + TRAILER > bufferConstants.MAX_LENGTH) {
    throw invalidArgument(`block payload of ${payloadLength} bytes is too large for 32-bit restart offsets`);
  }

  let block = Buffer.allocUnsafe(payloadLength + TRAILER);
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (i % restartInterval === 0) writeU32(block, entriesLength + 4 * (i / restartInterval), p);
    const s = shared[i]!;
    const keyStart = keyOffsets[i]!;
    const keyEnd = keyOffsets[i + 1]!;
    const valueStart = valueOffsets[i]!;
    const valueEnd = valueOffsets[i + 1]!;
    p = writeVarint(block, p, s);
    p = writeVarint(block, p, keyEnd - keyStart - s);
    p = writeVarint(block, p, valueEnd - valueStart);
    block[p++] = tags[i]!;
    p = copyRange(keyData, keyStart + s, keyEnd, block, p);
    p = copyRange(valueData, valueStart, valueEnd, block, p);
  }
  writeU32(block, payloadLength - 4, restarts);

  let storedLength = payloadLength;
  let compression = COMPRESSION_NONE;
  if (compress && payloadLength >= MIN_COMPRESS) {
    // C is the stored payload, i.e. the size-prefixed LZ4 block including its 4-byte prefix.
    const packed = compressTransient(block.subarray(0, payloadLength), true);
    if (8 * packed.length <= 7 * payloadLength) {
      block = Buffer.allocUnsafe(packed.length + TRAILER);
      block.set(packed);
      storedLength = packed.length;
      compression = COMPRESSION_LZ4;
    }
  }
  block[storedLength] = compression;
  writeU32(block, storedLength + 1, crc32cRange(block, 0, storedLength + 1));
  return block;
}

/**
 * Verify and decode a block. Checks, all `CORRUPTION`: CRC; compression byte 0 or 1; a payload of
 * at least 4 bytes whose restart array fits; restart offsets strictly increasing from 0, each the
 * start of an entry, and present exactly when there are entries; entries that tile the bytes before
 * the restart array, with in-bounds varints, keys and values, `shared` at most the previous key's
 * length, and `shared` = 0 at every restart point.
 */
export function decodeBlock(data: Uint8Array): BlockEntries {
  const length = data.length;
  if (length < TRAILER) throw corruption(`block of ${length} bytes is shorter than its trailer`);
  const storedLength = length - TRAILER;
  if (crc32cRange(data, 0, storedLength + 1) !== readU32(data, storedLength + 1)) {
    throw corruption('block checksum mismatch');
  }
  const compression = data[storedLength]!;
  let payload: Uint8Array;
  if (compression === COMPRESSION_NONE) payload = data;
  else if (compression === COMPRESSION_LZ4) payload = lz4Decompress(data.subarray(0, storedLength));
  else throw corruption(`unknown block compression ${compression}`);
  const payloadLength = compression === COMPRESSION_NONE ? storedLength : payload.length;

  if (payloadLength < 4) throw corruption(`block payload of ${payloadLength} bytes has no restart count`);
  const restarts = readU32(payload, payloadLength - 4);
  if (restarts > (payloadLength - 4) / 4) throw corruption(`block restart count ${restarts} overruns the payload`);
  const entriesEnd = payloadLength - 4 - 4 * restarts;
  let previousRestart = -1;
  for (let r = 0; r < restarts; r++) {
    const at = readU32(payload, entriesEnd + 4 * r);
    if (r === 0 ? at !== 0 : at <= previousRestart) throw corruption(`block restart offset ${r} is out of order`);
    if (at >= entriesEnd) throw corruption(`block restart offset ${r} is past the entries`);
    previousRestart = at;
  }

  // First pass: check every entry and size the outputs, so no output is allocated for a bad block;
  // the second pass can then decode without re-checking.
  const reader = new VarintReader(payload, 0, entriesEnd);
  let count = 0;
  let keyTotal = 0;
  let valueTotal = 0;
  let previousKeyLength = 0;
  let nextRestart = 0;
  while (reader.pos < entriesEnd) {
    const entryStart = reader.pos;
    const isRestart = nextRestart < restarts && readU32(payload, entriesEnd + 4 * nextRestart) === entryStart;
    if (isRestart) nextRestart++;
    else if (count === 0) throw corruption('block has entries but no restart at offset 0');
    const s = reader.read('block shared length');
    const unshared = reader.read('block unshared length');
    const valueLength = reader.read('block value length');
    if (isRestart && s !== 0) throw corruption(`block entry ${count} at a restart point shares ${s} bytes`);
    if (s > previousKeyLength) {
      throw corruption(`block entry ${count} shares ${s} bytes of a ${previousKeyLength}-byte key`);
    }
    // Tag, key suffix and value must fit before the restart array.
    if (1 + unshared + valueLength > entriesEnd - reader.pos) {
      throw corruption(`block entry ${count} runs past the entries`);
    }
    reader.pos += 1 + unshared + valueLength;
    if (nextRestart < restarts && readU32(payload, entriesEnd + 4 * nextRestart) < reader.pos) {
      throw corruption(`block restart offset ${nextRestart} is not at an entry boundary`);
    }
    previousKeyLength = s + unshared;
    keyTotal += previousKeyLength;
    valueTotal += valueLength;
    count++;
  }
  if (nextRestart !== restarts) throw corruption('block restart offsets do not match its entries');
  // A valid writer held every key in one packed buffer with 32-bit offsets, so expanded keys that
  // could not fit in one mean the shared lengths were forged.
  if (keyTotal > MAX_U32 || keyTotal > bufferConstants.MAX_LENGTH) {
    throw corruption(`block keys expand to ${keyTotal} bytes`);
  }

  const keyData = Buffer.allocUnsafe(keyTotal);
  const keyOffsets = new Uint32Array(count + 1);
  const valueData = Buffer.allocUnsafe(valueTotal);
  const valueOffsets = new Uint32Array(count + 1);
  const tags = new Uint8Array(count);
  reader.pos = 0;
  let kp = 0;
  let vp = 0;
  let previousKeyStart = 0;
  for (let i = 0; i < count; i++) {
    const s = reader.read('block shared length');
    const unshared = reader.read('block unshared length');
    const valueLength = reader.read('block value length');
    tags[i] = payload[reader.pos++]!;
    const keyStart = kp;
    if (s > 0) keyData.copyWithin(kp, previousKeyStart, previousKeyStart + s);
    kp = copyRange(payload, reader.pos, reader.pos + unshared, keyData, kp + s);
    reader.pos += unshared;
    vp = copyRange(payload, reader.pos, reader.pos + valueLength, valueData, vp);
    reader.pos += valueLength;
    keyOffsets[i + 1] = kp;
    valueOffsets[i + 1] = vp;
    previousKeyStart = keyStart;
  }
  return {
    keys: { data: keyData, offsets: keyOffsets },
    values: { data: valueData, offsets: valueOffsets },
    tags,
  };
}
