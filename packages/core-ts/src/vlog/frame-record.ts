/**
 * One record out of a stored frame without decoding the others (FORMAT §2): a point read needs
 * one value, and decoding a whole frame copies every key and value of it. The frame's CRC32C is
 * still checked over all of it (one accelerator call, two with the header), so a damaged frame is
 * `CORRUPTION` here exactly as in `decodeFrame`. Compressed frames are not handled here (null):
 * their body must be decompressed as a whole, so the caller decodes and caches them.
 */
import type { Accelerator } from '@siltdb/bindings';
import { ErrorCodes, siltError } from '../errors.js';

export interface FrameRecord {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly count: number;
}

function corrupt(why: string) {
  return siltError(ErrorCodes.CORRUPTION, `value-log frame: ${why}`);
}

/** Record `index` of the uncompressed frame `bytes` (exactly one frame), or null when it is compressed. */
export function frameRecord(bytes: Uint8Array, index: number, accelerator: Accelerator): FrameRecord | null {
  if (bytes.length < 20) throw corrupt(`header needs 20 bytes, ${bytes.length} available`);
  if (bytes[0] !== 0x53 || bytes[1] !== 0x4c || bytes[2] !== 0x56 || bytes[3] !== 0x46) throw corrupt('bad magic');
  if (bytes[4] !== 1) throw corrupt(`unknown version ${bytes[4]!}`);
  const flags = bytes[5]!;
  if ((flags & ~1) !== 0) throw corrupt(`unknown flags 0x${flags.toString(16)}`);
  if (flags !== 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const count = view.getUint16(6, true);
  const raw = view.getUint32(8, true);
  const stored = view.getUint32(12, true);
  if (count === 0) throw corrupt('no records');
  if (stored !== raw) throw corrupt(`uncompressed frame stores ${stored} bytes but declares ${raw}`);
  const bodyStart = 20 + 4 * count;
  if (bodyStart + stored !== bytes.length) throw corrupt(`frame of ${bodyStart + stored} bytes in ${bytes.length}`);
  const crc = accelerator.crc32c(bytes.subarray(20), accelerator.crc32c(bytes.subarray(0, 16)));
  if (crc !== view.getUint32(16, true)) throw corrupt('checksum mismatch');
  if (index >= count) throw corrupt(`record ${index} of ${count}`);
  const start = view.getUint32(20 + 4 * index, true);
  const end = index + 1 < count ? view.getUint32(24 + 4 * index, true) : raw;
  if ((index === 0 && start !== 0) || start >= end || end > raw) throw corrupt(`record ${index} offsets out of order`);
  // varint key length (at most 5 bytes, 32 bits)
  let at = bodyStart + start;
  const recordEnd = bodyStart + end;
  let keyLength = 0;
  for (let shift = 0; ; shift += 7) {
    if (at >= recordEnd || shift > 28) throw corrupt(`record ${index} key length is malformed`);
    const byte = bytes[at++]!;
    if (shift === 28 && byte > 0x0f) throw corrupt(`record ${index} key length is malformed`);
    keyLength += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  if (keyLength > recordEnd - at) throw corrupt(`record ${index} key runs past the record`);
  return { key: bytes.subarray(at, at + keyLength), value: bytes.subarray(at + keyLength, recordEnd), count };
}
