/**
 * Value-log segment files (docs/FORMAT.md §8.1): `vlog/<lane>-<seq>.vlog` in the database
 * directory, a 20-byte header naming the segment, then frames back to back. Segments are
 * append-only and never rewritten or truncated below a length anything trusted.
 */
import { join } from 'node:path';
import type { Accelerator } from '@siltdb/bindings';
import { ErrorCodes, siltError } from '../errors.js';

export const VLOG_DIR = 'vlog';
export const SEGMENT_HEADER_BYTES = 20;
const SEGMENT_MAGIC = [0x53, 0x4c, 0x56, 0x53] as const; // "SLVS"
const SEGMENT_VERSION = 1;
/** The lane rewrite output goes to; foreground lanes are numbered from 0. */
export const COLD_LANE = 255;
export const MAX_LANE = 255;

const NAME = /^(\d{3})-(\d{6,16})\.vlog$/;

export function segmentFileName(lane: number, segment: number): string {
  return `${String(lane).padStart(3, '0')}-${String(segment).padStart(6, '0')}.vlog`;
}

export function segmentPath(dbDir: string, lane: number, segment: number): string {
  return join(dbDir, VLOG_DIR, segmentFileName(lane, segment));
}

/** `{ lane, segment }` for a canonical segment file name, null for anything else. */
export function parseSegmentFileName(name: string): { lane: number; segment: number } | null {
  const match = NAME.exec(name);
  if (match === null) return null;
  const lane = Number(match[1]);
  const segment = Number(match[2]);
  if (lane > MAX_LANE || !Number.isSafeInteger(segment) || segment < 1 || segmentFileName(lane, segment) !== name) return null;
  return { lane, segment };
}

export function encodeSegmentHeader(lane: number, segment: number, accelerator: Accelerator): Uint8Array {
  const out = new Uint8Array(SEGMENT_HEADER_BYTES);
  out.set(SEGMENT_MAGIC, 0);
  out[4] = SEGMENT_VERSION;
  out[5] = lane;
  const view = new DataView(out.buffer);
  view.setUint32(8, segment >>> 0, true);
  view.setUint32(12, Math.floor(segment / 2 ** 32), true);
  view.setUint32(16, accelerator.crc32c(out.subarray(0, 16)), true);
  return out;
}

/** Check a header against the lane and segment its file name gives; mismatch is `CORRUPTION`. */
export function checkSegmentHeader(bytes: Uint8Array, lane: number, segment: number, accelerator: Accelerator, path: string): void {
  const bad = (why: string) => siltError(ErrorCodes.CORRUPTION, `value-log segment ${path}: ${why}`);
  if (bytes.length < SEGMENT_HEADER_BYTES) throw bad('header is truncated');
  const view = new DataView(bytes.buffer, bytes.byteOffset, SEGMENT_HEADER_BYTES);
  if (view.getUint32(16, true) !== accelerator.crc32c(bytes.subarray(0, 16))) throw bad('header checksum mismatch');
  for (let i = 0; i < 4; i++) if (bytes[i] !== SEGMENT_MAGIC[i]) throw bad('bad magic');
  if (bytes[4] !== SEGMENT_VERSION) throw bad(`unknown version ${bytes[4]!}`);
  if (bytes[6] !== 0 || bytes[7] !== 0) throw bad('reserved header bytes are not zero');
  const number = view.getUint32(12, true) * 2 ** 32 + view.getUint32(8, true);
  if (bytes[5] !== lane || number !== segment) throw bad(`header names lane ${bytes[5]!} segment ${number}`);
}

/** The frame length `20 + 4K + S` from a frame header's first 16 bytes (FORMAT §2), or -1 if not a frame start. */
export function frameLengthAt(header: Uint8Array): number {
  if (header.length < 20 || header[0] !== 0x53 || header[1] !== 0x4c || header[2] !== 0x56 || header[3] !== 0x46) return -1;
  const view = new DataView(header.buffer, header.byteOffset, 20);
  const count = view.getUint16(6, true);
  if (count === 0) return -1;
  return 20 + 4 * count + view.getUint32(12, true);
}
