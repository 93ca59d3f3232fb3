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
import { payloadChecksums } from './checksum.js';
import { readU32 } from './bytes-le.js';
import { RECORD_HEADER_BYTES } from './record-layout.js';

export { RECORD_HEADER_BYTES };

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
 * first defect or after `maxRecords` records. The headers are walked first and the checksums of the
 * records they delimit verified afterwards in one batch; the result is the same as verifying record
 * by record (the first defect in file order wins).
 */
export function scanRecords(bytes: Uint8Array, from: number, limit: number, maxRecords = Infinity): RecordScan {
  const offsets: number[] = [];
  let at = from;
  let defect: RecordDefect | null = null;
  while (at < limit && offsets.length < maxRecords) {
    defect = headerDefect(bytes, at, limit);
    if (defect !== null) break;
    offsets.push(at);
    at += RECORD_HEADER_BYTES + readU32(bytes, at);
  }
  const bad = firstBadChecksum(bytes, from, offsets.length);
  if (bad >= 0) return { offsets: offsets.slice(0, bad), end: offsets[bad]!, defect: 'bad-checksum' };
  return { offsets, end: at, defect };
}

/**
 * The defect of the header of the record at `bytes[at…]` (which must end by `limit`): everything
 * `RecordDefect` names but the checksum, which `firstBadChecksum` verifies for many records at once.
 */
export function headerDefect(bytes: Uint8Array, at: number, limit: number): Exclude<RecordDefect, 'bad-checksum'> | null {
  if (limit - at < RECORD_HEADER_BYTES) return 'short-header';
  const length = readU32(bytes, at);
  // (XOR of int32s is signed: a length and its exact inverse XOR to -1.)
  if ((length ^ readU32(bytes, at + 4)) !== -1) return 'bad-header';
  if (limit - (at + RECORD_HEADER_BYTES) < length) return 'short-payload';
  return null;
}

/**
 * Of the `count` consecutive records from `from`, whose headers `headerDefect` accepted, the
 * position of the first whose payload fails its checksum, or -1.
 */
export function firstBadChecksum(bytes: Uint8Array, from: number, count: number): number {
  if (count === 0) return -1;
  const crcs = payloadChecksums(bytes, from, count);
  let at = from;
  for (let i = 0; i < count; i++) {
    if (crcs[2 * i] !== readU32(bytes, at + 8)) return i;
    at += RECORD_HEADER_BYTES + readU32(bytes, at);
  }
  return -1;
}

/** The payload length stored in a record header that `headerDefect` accepted. */
export function recordPayloadLength(bytes: Uint8Array, at: number): number {
  return readU32(bytes, at);
}
