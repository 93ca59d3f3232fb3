/**
 * Value pointers (docs/FORMAT.md §8.3): where a separated value lives. The memtable, the WAL and
 * table entries of kind POINTER hold these 23 bytes instead of the value.
 *
 * The sub-index is explicit: a frame holds several records, and a pointer that lost its sub-index
 * would alias record 0 of the frame (the TreeDB leaf-ref bug). The frame length lets a reader fetch
 * the whole frame with one positional read; the record length is what the ledger charges the
 * segment for this record, so live + stale bytes add up exactly without reading the frame.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { writeU32 } from '../table/bytes.js';

export const POINTER_BYTES = 23;
export const POINTER_VERSION = 1;

export interface ValuePointer {
  /** The segment number (the `<seq>` of `vlog/<lane>-<seq>.vlog`). */
  readonly segment: number;
  /** Where the frame starts in the segment file. */
  readonly frameOffset: number;
  /** The frame's length in bytes, header included. */
  readonly frameLength: number;
  /** The record's position within the frame, 0-based. */
  readonly subIndex: number;
  /** The record's raw length in the frame body: varint key length ‖ key ‖ value. */
  readonly recordBytes: number;
}

const MAX_U32 = 0xffffffff;

export function encodePointer(pointer: ValuePointer): Uint8Array {
  const out = new Uint8Array(POINTER_BYTES);
  writePointer(out, 0, pointer);
  return out;
}

export function writePointer(out: Uint8Array, at: number, p: ValuePointer): void {
  writePointerFields(out, at, p.segment, p.frameOffset, p.frameLength, p.subIndex, p.recordBytes);
}

/** `writePointer` from the fields themselves (an append writes one per record: no object each). */
export function writePointerFields(
  out: Uint8Array,
  at: number,
  segment: number,
  frameOffset: number,
  frameLength: number,
  subIndex: number,
  recordBytes: number,
): void {
  // Byte stores, not a DataView: a view per pointer was ~1 s of a 200k-key churn (flushes,
  // compactions and rewrites encode and decode a pointer per separated value).
  out[at] = POINTER_VERSION;
  writeU32(out, at + 1, segment >>> 0);
  writeU32(out, at + 5, Math.floor(segment / 2 ** 32));
  writeU32(out, at + 9, frameOffset);
  writeU32(out, at + 13, frameLength);
  out[at + 17] = subIndex & 0xff;
  out[at + 18] = (subIndex >>> 8) & 0xff;
  writeU32(out, at + 19, recordBytes);
}

function getU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x1000000;
}

/**
 * Whether `bytes[at, at + length)` passes every check `decodePointer` makes, read in place: a point
 * read resolves the pointer its memtable or block holds without a view or an object (the `…At`
 * readers below then take its fields). `decodePointer` on the same bytes throws the reason.
 */
export function isPointerAt(bytes: Uint8Array, at: number, length: number): boolean {
  if (length !== POINTER_BYTES || bytes[at] !== POINTER_VERSION) return false;
  // Byte tests rather than `getU32` calls: this runs on every point read, unoptimised at first.
  // Segment high word ≤ 0x1fffff (the segment number stays below 2^53) and segment ≠ 0:
  if (bytes[at + 8] !== 0 || bytes[at + 7]! > 0x1f) return false;
  if ((bytes[at + 1]! | bytes[at + 2]! | bytes[at + 3]! | bytes[at + 4]! | bytes[at + 5]! | bytes[at + 6]! | bytes[at + 7]!) === 0) return false;
  // Record bytes ≠ 0, frame length ≥ 24, and the frame ends within 2^32:
  if ((bytes[at + 19]! | bytes[at + 20]! | bytes[at + 21]! | bytes[at + 22]!) === 0) return false;
  const frameLength = getU32(bytes, at + 13);
  return frameLength >= 24 && getU32(bytes, at + 9) <= MAX_U32 - frameLength;
}

/** The fields of the pointer at `bytes[at]` (FORMAT §8.3), for a pointer `isPointerAt` accepted. */
export function pointerSegmentAt(bytes: Uint8Array, at: number): number {
  return getU32(bytes, at + 5) * 2 ** 32 + getU32(bytes, at + 1);
}

export function pointerFrameOffsetAt(bytes: Uint8Array, at: number): number {
  return getU32(bytes, at + 9);
}

export function pointerFrameLengthAt(bytes: Uint8Array, at: number): number {
  return getU32(bytes, at + 13);
}

export function pointerSubIndexAt(bytes: Uint8Array, at: number): number {
  return bytes[at + 17]! | (bytes[at + 18]! << 8);
}

/** Decode and check a pointer; anything malformed is `CORRUPTION` (pointers come from disk). */
export function decodePointer(bytes: Uint8Array): ValuePointer {
  if (bytes.length !== POINTER_BYTES) throw siltError(ErrorCodes.CORRUPTION, `a value pointer is ${POINTER_BYTES} bytes, got ${bytes.length}`);
  if (bytes[0] !== POINTER_VERSION) throw siltError(ErrorCodes.CORRUPTION, `unknown value pointer version ${bytes[0]}`);
  if (getU32(bytes, 5) > 0x1fffff) throw siltError(ErrorCodes.CORRUPTION, 'value pointer segment number above 2^53 − 1');
  if (!isPointerAt(bytes, 0, POINTER_BYTES)) throw siltError(ErrorCodes.CORRUPTION, 'malformed value pointer');
  return {
    segment: pointerSegmentAt(bytes, 0),
    frameOffset: pointerFrameOffsetAt(bytes, 0),
    frameLength: pointerFrameLengthAt(bytes, 0),
    subIndex: pointerSubIndexAt(bytes, 0),
    recordBytes: pointerRecordBytesAt(bytes, 0),
  };
}

/** The record bytes of an encoded pointer (FORMAT §8.3, offset 19), read without decoding the rest. */
export function pointerRecordBytes(bytes: Uint8Array): number {
  return getU32(bytes, 19);
}

/** `pointerRecordBytes` of the pointer at `bytes[at]`. */
export function pointerRecordBytesAt(bytes: Uint8Array, at: number): number {
  return getU32(bytes, at + 19);
}
