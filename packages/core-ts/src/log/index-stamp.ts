/**
 * The 20-byte stamp that opens a segment file and makes up the first-index file: a magic number
 * saying which file it is, a format version, an entry index, and a CRC32C over the first 16 bytes
 * (docs/FORMAT.md §4).
 */
import { accel } from '@siltdb/bindings';
import { readU32, readU64, writeU32, writeU64 } from './bytes-le.js';

export const INDEX_STAMP_BYTES = 20;
export const LOG_FORMAT_VERSION = 1;

/** "SLOG": the header of a segment file. */
export const SEGMENT_MAGIC = 0x474f4c53;
/** "SLFI": the first-index file. */
export const FIRST_INDEX_MAGIC = 0x49464c53;

export function encodeIndexStamp(magic: number, index: number): Uint8Array {
  const bytes = new Uint8Array(INDEX_STAMP_BYTES);
  writeU32(bytes, 0, magic);
  writeU32(bytes, 4, LOG_FORMAT_VERSION);
  writeU64(bytes, 8, index);
  writeU32(bytes, 16, accel.crc32c(bytes.subarray(0, 16)));
  return bytes;
}

/** The index in a well-formed stamp with this magic, or null when the bytes are not one. */
export function decodeIndexStamp(bytes: Uint8Array, magic: number): number | null {
  if (bytes.length < INDEX_STAMP_BYTES) return null;
  if (readU32(bytes, 0) !== magic || readU32(bytes, 4) !== LOG_FORMAT_VERSION) return null;
  if (readU32(bytes, 16) !== accel.crc32c(bytes.subarray(0, 16))) return null;
  return readU64(bytes, 8);
}
