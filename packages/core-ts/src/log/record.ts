/**
 * One log record on disk (docs/FORMAT.md §4):
 *
 *   u32 length N ‖ u32 ~N ‖ u32 CRC32C(payload) ‖ payload (N bytes)
 *
 * The length is stored twice, the second time inverted (as DEFLATE stores LEN and NLEN), so a
 * damaged length is recognised on its own. Without that, a flipped bit that made a length point
 * past the end of the file would look exactly like a torn final write, and recovery would cut away
 * every good record after it. A header of zeros (a hole, or space the file system allocated but
 * never wrote) fails the check too.
 */
import { payloadCrc32c } from './checksum.js';
import { readU32, writeU32 } from './bytes-le.js';

export const RECORD_HEADER_BYTES = 12;

/** Write the 12-byte header of a record whose payload has this length and CRC. */
export function writeRecordHeader(target: Uint8Array, at: number, length: number, crc: number): void {
  writeU32(target, at, length);
  writeU32(target, at + 4, ~length >>> 0);
  writeU32(target, at + 8, crc);
}

/**
 * Why a scan stopped before the end of its bytes:
 * - `short-header`: fewer than 12 bytes remain;
 * - `bad-header`: the length and its inverse disagree;
 * - `short-payload`: the header is sound but the payload runs past the end;
 * - `bad-checksum`: the whole record is there but its CRC does not match.
 */
export type RecordDefect = 'short-header' | 'bad-header' | 'short-payload' | 'bad-checksum';

export interface RecordScan {
  /** Start offsets of the sound records found, in order. */
  readonly offsets: number[];
  /** The offset after the last sound record. */
  readonly end: number;
  /** Why the scan stopped early, or null when it reached `limit` or `maxRecords`. */
  readonly defect: RecordDefect | null;
}

/**
 * Walk the records of `bytes[from, limit)`, verifying each header and checksum, and stop at the
 * first defect or after `maxRecords` records.
 */
export function scanRecords(bytes: Uint8Array, from: number, limit: number, maxRecords = Infinity): RecordScan {
  const offsets: number[] = [];
  let at = from;
  while (at < limit && offsets.length < maxRecords) {
    const defect = recordDefect(bytes, at, limit);
    if (defect !== null) return { offsets, end: at, defect };
    offsets.push(at);
    at += RECORD_HEADER_BYTES + readU32(bytes, at);
  }
  return { offsets, end: at, defect: null };
}

/** The defect of the record at `bytes[at…]` (which must end by `limit`), or null when it is sound. */
export function recordDefect(bytes: Uint8Array, at: number, limit: number): RecordDefect | null {
  if (limit - at < RECORD_HEADER_BYTES) return 'short-header';
  const length = readU32(bytes, at);
  // (XOR of int32s is signed: a length and its exact inverse XOR to -1.)
  if ((length ^ readU32(bytes, at + 4)) !== -1) return 'bad-header';
  const payloadStart = at + RECORD_HEADER_BYTES;
  if (limit - payloadStart < length) return 'short-payload';
  const payload = bytes.subarray(payloadStart, payloadStart + length);
  return payloadCrc32c(payload) === readU32(bytes, at + 8) ? null : 'bad-checksum';
}

/** The payload length stored in a record header that `recordDefect` accepted. */
export function recordPayloadLength(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at);
}
