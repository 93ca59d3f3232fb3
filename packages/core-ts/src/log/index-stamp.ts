/**
 * The 20-byte stamp that opens a segment file and makes up the first-index file: a magic number
 * saying which file it is, a format version, an entry index, and a CRC32C over the first 16 bytes
 * (docs/FORMAT.md §4).
 */
import { accel } from '@siltdb/bindings';
import { readU32, readU64, writeU32, writeU64 } from './bytes-le.js';

export const INDEX_STAMP_BYTES = 20;
export const LOG_FORMAT_VERSION = 1;
/**
 * The version of a segment created before its predecessor was synced, by writers that created it
 * only once the segment two before it was synced: the predecessor may have lost a tail in a crash,
 * and recovery verifies it before trusting it. Still read; no longer written.
 * Version 1 segments promise that every segment before them was synced whole (directory entries
 * included) before the stamp was written.
 */
export const LAZY_SEAL_VERSION = 2;
/**
 * The version of a segment created while the seals (syncs) of its predecessor and possibly of
 * earlier segments were still running (`none` durability): recovery verifies predecessors back to
 * the nearest segment whose stamp says version 1. Readers that know only versions 1 and 2 refuse
 * it (their recovery would stop one segment too early).
 */
export const CHAINED_SEAL_VERSION = 3;

/** "SLOG": the header of a segment file. */
export const SEGMENT_MAGIC = 0x474f4c53;
/** "SLFI": the first-index file. */
export const FIRST_INDEX_MAGIC = 0x49464c53;

export function encodeIndexStamp(magic: number, index: number, version: number = LOG_FORMAT_VERSION): Uint8Array {
  const bytes = new Uint8Array(INDEX_STAMP_BYTES);
  writeU32(bytes, 0, magic);
  writeU32(bytes, 4, version);
  writeU64(bytes, 8, index);
  writeU32(bytes, 16, accel.crc32c(bytes.subarray(0, 16)));
  return bytes;
}

/**
 * The index in a well-formed stamp with this magic, or null when the bytes are not one. Segment
 * stamps may have either version; the first-index file has only version 1.
 */
export function decodeIndexStamp(bytes: Uint8Array, magic: number): number | null {
  if (bytes.length < INDEX_STAMP_BYTES) return null;
  if (readU32(bytes, 0) !== magic || !knownVersion(magic, readU32(bytes, 4))) return null;
  if (readU32(bytes, 16) !== accel.crc32c(bytes.subarray(0, 16))) return null;
  return readU64(bytes, 8);
}

/** Whether a segment stamp (already accepted by `decodeIndexStamp`) says its predecessor may be unsynced. */
export function sealsPredecessorLazily(stamp: Uint8Array): boolean {
  const version = readU32(stamp, 4);
  return version === LAZY_SEAL_VERSION || version === CHAINED_SEAL_VERSION;
}

/**
 * Why a stamp with this magic was refused, when the reason is a version this build does not know
 * (a file written by a newer SiltDB), for an error that says so; null for any other defect.
 */
export function unknownStampVersion(bytes: Uint8Array, magic: number): number | null {
  if (bytes.length < INDEX_STAMP_BYTES || readU32(bytes, 0) !== magic) return null;
  if (readU32(bytes, 16) !== accel.crc32c(bytes.subarray(0, 16))) return null;
  const version = readU32(bytes, 4);
  return knownVersion(magic, version) ? null : version;
}

function knownVersion(magic: number, version: number): boolean {
  return version === LOG_FORMAT_VERSION || (magic === SEGMENT_MAGIC && (version === LAZY_SEAL_VERSION || version === CHAINED_SEAL_VERSION));
}
