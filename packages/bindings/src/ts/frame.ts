/**
 * Value-log frames (FORMAT.md §2): K records under one CRC32C, the body LZ4-compressed when that
 * saves at least 12.5 %.
 */
import { constants as bufferConstants } from 'node:buffer';
import type { DecodedFrame, PackedBytes } from '../accelerator.js';
import { copyRange, readU32, writeU32 } from './bytes.js';
import { crc32cRange } from './crc32c.js';
import { corruption, invalidArgument } from './fail.js';
import { compressTransient, decompressRawBlock } from './lz4.js';
import { VarintReader, varintLength, writeVarint } from './varint.js';

const FRAME_MAGIC = [0x53, 0x4c, 0x56, 0x46] as const;
const FRAME_VERSION = 1;
const FRAME_HEADER = 20;
export const FRAME_MAX_RECORDS = 65535;
const FLAG_LZ4 = 1;
/** Bodies shorter than this are never compressed: LZ4 cannot save enough to pay for decoding. */
const MIN_COMPRESS = 64;
const MAX_U32 = 0xffffffff;

/** `keys` and `values` are validated packed batches with the same count, 1..65535. */
export function encodeFrame(keys: PackedBytes, values: PackedBytes, compress: boolean): Buffer {
  const count = keys.offsets.length - 1;
  const keyData = keys.data;
  const keyOffsets = keys.offsets;
  const valueData = values.data;
  const valueOffsets = values.offsets;

  let rawLength = 0;
  for (let i = 0; i < count; i++) {
    const keyLength = keyOffsets[i + 1]! - keyOffsets[i]!;
    rawLength += varintLength(keyLength) + keyLength + (valueOffsets[i + 1]! - valueOffsets[i]!);
  }
  if (rawLength > MAX_U32) throw invalidArgument(`frame body of ${rawLength} bytes exceeds the 32-bit length field`);
  const bodyStart = FRAME_HEADER + 4 * count;
  if (bodyStart + rawLength > bufferConstants.MAX_LENGTH) {
    throw invalidArgument(`frame of ${bodyStart + rawLength} bytes exceeds the largest Buffer`);
  }

  // Written raw first, straight into a buffer sized for the uncompressed case: when compression
  // does not pay off (the common case for small or random values) this is the only allocation.
  let frame = Buffer.allocUnsafe(bodyStart + rawLength);
  let p = bodyStart;
  for (let i = 0; i < count; i++) {
    writeU32(frame, FRAME_HEADER + 4 * i, p - bodyStart);
    const keyStart = keyOffsets[i]!;
    const keyEnd = keyOffsets[i + 1]!;
    p = writeVarint(frame, p, keyEnd - keyStart);
    p = copyRange(keyData, keyStart, keyEnd, frame, p);
    p = copyRange(valueData, valueOffsets[i]!, valueOffsets[i + 1]!, frame, p);
  }

  let storedLength = rawLength;
  let flags = 0;
  if (compress && rawLength >= MIN_COMPRESS) {
    const block = compressTransient(frame.subarray(bodyStart), false);
    if (8 * block.length <= 7 * rawLength) {
      const compressed = Buffer.allocUnsafe(bodyStart + block.length);
      compressed.set(frame.subarray(0, bodyStart));
      compressed.set(block, bodyStart);
      frame = compressed;
      storedLength = block.length;
      flags = FLAG_LZ4;
    }
  }

  frame[0] = FRAME_MAGIC[0];
  frame[1] = FRAME_MAGIC[1];
  frame[2] = FRAME_MAGIC[2];
  frame[3] = FRAME_MAGIC[3];
  frame[4] = FRAME_VERSION;
  frame[5] = flags;
  frame[6] = count & 0xff;
  frame[7] = count >>> 8;
  writeU32(frame, 8, rawLength);
  writeU32(frame, 12, storedLength);
  const crc = crc32cRange(frame, FRAME_HEADER, bodyStart + storedLength, crc32cRange(frame, 0, 16));
  writeU32(frame, 16, crc);
  return frame;
}

/** Decode the frame at `data[offset]`; `offset` is a validated integer in [0, data.length]. */
export function decodeFrame(data: Uint8Array, offset: number): DecodedFrame {
  const available = data.length - offset;
  if (available < FRAME_HEADER) throw corruption(`frame header needs ${FRAME_HEADER} bytes, ${available} available`);
  const o = offset;
  if (
    data[o] !== FRAME_MAGIC[0] ||
    data[o + 1] !== FRAME_MAGIC[1] ||
    data[o + 2] !== FRAME_MAGIC[2] ||
    data[o + 3] !== FRAME_MAGIC[3]
  ) {
    throw corruption('bad frame magic');
  }
  if (data[o + 4] !== FRAME_VERSION) throw corruption(`unknown frame version ${data[o + 4]!}`);
  const flags = data[o + 5]!;
  if ((flags & ~FLAG_LZ4) !== 0) throw corruption(`unknown frame flags 0x${flags.toString(16)}`);
  const compressed = flags === FLAG_LZ4;
  const count = data[o + 6]! | (data[o + 7]! << 8);
  if (count === 0) throw corruption('frame holds no records');
  const rawLength = readU32(data, o + 8);
  const storedLength = readU32(data, o + 12);
  if (!compressed && storedLength !== rawLength) {
    throw corruption(`uncompressed frame stores ${storedLength} bytes but declares ${rawLength}`);
  }
  const bodyStart = FRAME_HEADER + 4 * count;
  const frameLength = bodyStart + storedLength;
  if (frameLength > available) throw corruption(`frame of ${frameLength} bytes is truncated to ${available}`);
  const crc = crc32cRange(data, o + FRAME_HEADER, o + frameLength, crc32cRange(data, o, o + 16));
  if (crc !== readU32(data, o + 16)) throw corruption('frame checksum mismatch');

  const recordStarts = new Uint32Array(count + 1);
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const start = readU32(data, o + FRAME_HEADER + 4 * i);
    if (i === 0 ? start !== 0 : start <= previous) throw corruption(`frame record offset ${i} is out of order`);
    if (start >= rawLength) throw corruption(`frame record offset ${i} is past the body`);
    recordStarts[i] = start;
    previous = start;
  }
  recordStarts[count] = rawLength;

  let body: Uint8Array = data;
  let base = o + bodyStart;
  if (compressed) {
    body = decompressRawBlock(data, o + bodyStart, o + frameLength, rawLength);
    base = 0;
  }

  // First pass: check every record and size the outputs, so no output is allocated for a bad frame.
  // Key positions are remembered rather than recomputed from the length, because a varint may be
  // encoded in more bytes than the minimum and still be valid.
  const keyStarts = new Float64Array(count);
  const keyLengths = new Uint32Array(count);
  const reader = new VarintReader(body, 0, base + rawLength);
  let keyTotal = 0;
  let valueTotal = 0;
  for (let i = 0; i < count; i++) {
    const end = base + recordStarts[i + 1]!;
    reader.pos = base + recordStarts[i]!;
    const keyLength = reader.read('frame key length');
    if (reader.pos > end || keyLength > end - reader.pos) {
      throw corruption(`frame record ${i} key runs past the record`);
    }
    keyStarts[i] = reader.pos;
    keyLengths[i] = keyLength;
    keyTotal += keyLength;
    valueTotal += end - reader.pos - keyLength;
  }

  const keyData = Buffer.allocUnsafe(keyTotal);
  const valueData = Buffer.allocUnsafe(valueTotal);
  const keyOffsets = new Uint32Array(count + 1);
  const valueOffsets = new Uint32Array(count + 1);
  let kp = 0;
  let vp = 0;
  for (let i = 0; i < count; i++) {
    const keyStart = keyStarts[i]!;
    const keyEnd = keyStart + keyLengths[i]!;
    kp = copyRange(body, keyStart, keyEnd, keyData, kp);
    vp = copyRange(body, keyEnd, base + recordStarts[i + 1]!, valueData, vp);
    keyOffsets[i + 1] = kp;
    valueOffsets[i + 1] = vp;
  }
  return {
    keys: { data: keyData, offsets: keyOffsets },
    values: { data: valueData, offsets: valueOffsets },
    byteLength: frameLength,
    compressed,
  };
}

/**
 * The value of record `index` of `frame` (exactly one stored frame, as long as its pointer says)
 * copied into `out`, after the checks `decodeFrame` makes and after checking that the record holds
 * `key` and a value of exactly `out.length` bytes — the native `copy_record_value`. False, `out`
 * untouched, for a compressed frame (the caller decodes it whole).
 */
export function copyRecordValue(frame: Uint8Array, index: number, key: Uint8Array, out: Uint8Array): boolean {
  if (frame.length < FRAME_HEADER) throw corruption(`frame header needs ${FRAME_HEADER} bytes, ${frame.length} available`);
  if (frame[0] !== FRAME_MAGIC[0] || frame[1] !== FRAME_MAGIC[1] || frame[2] !== FRAME_MAGIC[2] || frame[3] !== FRAME_MAGIC[3]) {
    throw corruption('bad frame magic');
  }
  if (frame[4] !== FRAME_VERSION) throw corruption(`unknown frame version ${frame[4]!}`);
  const flags = frame[5]!;
  if ((flags & ~FLAG_LZ4) !== 0) throw corruption(`unknown frame flags 0x${flags.toString(16)}`);
  if (flags === FLAG_LZ4) return false;
  const count = frame[6]! | (frame[7]! << 8);
  if (count === 0) throw corruption('frame holds no records');
  const rawLength = readU32(frame, 8);
  const storedLength = readU32(frame, 12);
  if (storedLength !== rawLength) throw corruption(`uncompressed frame stores ${storedLength} bytes but declares ${rawLength}`);
  const bodyStart = FRAME_HEADER + 4 * count;
  if (bodyStart + storedLength !== frame.length) {
    throw corruption(`a frame of ${bodyStart + storedLength} bytes where its pointer says ${frame.length}`);
  }
  if (index >= count) throw corruption(`record ${index} of a frame of ${count}`);
  const start = readU32(frame, FRAME_HEADER + 4 * index);
  const end = index + 1 < count ? readU32(frame, FRAME_HEADER + 4 * (index + 1)) : rawLength;
  if ((index === 0 && start !== 0) || start >= end || end > rawLength) throw corruption(`frame record offset ${index} is out of order`);
  const recordEnd = bodyStart + end;
  const reader = new VarintReader(frame, bodyStart + start, recordEnd);
  const keyLength = reader.read('frame key length');
  const keyStart = reader.pos;
  if (keyLength > recordEnd - keyStart) throw corruption(`frame record ${index} key runs past the record`);
  const valueStart = keyStart + keyLength;
  if (recordEnd - valueStart !== out.length) {
    throw corruption(`frame record ${index} holds a ${recordEnd - valueStart}-byte value, its pointer says ${out.length}`);
  }
  out.set(frame.subarray(valueStart, recordEnd));
  let crc = crc32cRange(frame, FRAME_HEADER, valueStart, crc32cRange(frame, 0, 16));
  crc = crc32cRange(out, 0, out.length, crc);
  crc = crc32cRange(frame, recordEnd, frame.length, crc);
  if (crc !== readU32(frame, 16)) throw corruption('frame checksum mismatch');
  if (keyLength !== key.length) throw corruption(`frame record ${index} holds another key`);
  for (let i = 0; i < keyLength; i++) if (frame[keyStart + i] !== key[i]) throw corruption(`frame record ${index} holds another key`);
  return true;
}
