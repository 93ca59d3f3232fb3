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
  const view = new DataView(out.buffer, out.byteOffset + at, POINTER_BYTES);
  view.setUint8(0, POINTER_VERSION);
  view.setUint32(1, p.segment >>> 0, true);
  view.setUint32(5, Math.floor(p.segment / 2 ** 32), true);
  view.setUint32(9, p.frameOffset, true);
  view.setUint32(13, p.frameLength, true);
  view.setUint16(17, p.subIndex, true);
  view.setUint32(19, p.recordBytes, true);
}

/** Decode and check a pointer; anything malformed is `CORRUPTION` (pointers come from disk). */
export function decodePointer(bytes: Uint8Array): ValuePointer {
  if (bytes.length !== POINTER_BYTES) throw siltError(ErrorCodes.CORRUPTION, `a value pointer is ${POINTER_BYTES} bytes, got ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, POINTER_BYTES);
  if (view.getUint8(0) !== POINTER_VERSION) throw siltError(ErrorCodes.CORRUPTION, `unknown value pointer version ${view.getUint8(0)}`);
  const high = view.getUint32(5, true);
  if (high > 0x1fffff) throw siltError(ErrorCodes.CORRUPTION, 'value pointer segment number above 2^53 − 1');
  const segment = high * 2 ** 32 + view.getUint32(1, true);
  const frameOffset = view.getUint32(9, true);
  const frameLength = view.getUint32(13, true);
  const subIndex = view.getUint16(17, true);
  const recordBytes = view.getUint32(19, true);
  if (segment === 0 || frameLength < 24 || recordBytes === 0 || frameOffset > MAX_U32 - frameLength) {
    throw siltError(ErrorCodes.CORRUPTION, 'malformed value pointer');
  }
  return { segment, frameOffset, frameLength, subIndex, recordBytes };
}

/** Just the segment and record length (the ledger's question), without building an object. */
export function pointerCharge(bytes: Uint8Array): { segment: number; recordBytes: number } {
  const p = decodePointer(bytes);
  return { segment: p.segment, recordBytes: p.recordBytes };
}

/** The record bytes of an encoded pointer (FORMAT §8.3, offset 19), read without decoding the rest. */
export function pointerRecordBytes(bytes: Uint8Array): number {
  return (bytes[19]! | (bytes[20]! << 8) | (bytes[21]! << 16)) + bytes[22]! * 0x1000000;
}
