/**
 * Uncompressed value-log frames (docs/FORMAT.md §2, flags 0) laid out straight into a buffer the
 * caller owns: the value log writes every frame it does not try to compress this way, many frames
 * into one allocation, so each value is copied exactly once on its way to the file (no packing into
 * a batch, no separate frame buffer per frame). The bytes are exactly what
 * `accelerator.encodeFrame(keys, values, { compress: false })` returns.
 *
 * Laying out and sealing are separate steps so that the checksums of many frames take one
 * accelerator call (`crc32cMany`) instead of two per frame. The checksum covers the 16 header bytes
 * before it and everything after it; a laid-out frame keeps those 16 bytes 4 bytes late, at
 * `[at + 4, at + 20)`, so that checksummed input is one contiguous range `[at + 4, end)`; sealing
 * moves them to `at` and stores the checksum at `at + 16`.
 */
import type { Accelerator } from '@siltdb/bindings';
import { writeU32 } from '../table/bytes.js';

const HEADER_BYTES = 20;

/** Bytes of `n` as an unsigned LEB128 varint (a record's key-length prefix). */
export function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    length++;
  }
  return length;
}

/** The length of the uncompressed frame holding records `[from, to)`. */
export function rawFrameLength(keys: readonly Uint8Array[], values: readonly Uint8Array[], from: number, to: number): number {
  let length = HEADER_BYTES + 4 * (to - from);
  for (let i = from; i < to; i++) length += varintLength(keys[i]!.length) + keys[i]!.length + values[i]!.length;
  return length;
}

/**
 * Lay out the uncompressed frame of records `[from, to)` (1 … 65535 of them, body < 4 GiB: the
 * caller's frame limits) at `at` of `out`, which has room for `rawFrameLength(…)` bytes there, all
 * but its checksum: `sealRawFrames` finishes it. Returns the frame's end.
 */
export function layoutRawFrame(
  out: Uint8Array,
  at: number,
  keys: readonly Uint8Array[],
  values: readonly Uint8Array[],
  from: number,
  to: number,
): number {
  const count = to - from;
  const bodyStart = at + HEADER_BYTES + 4 * count;
  let p = bodyStart;
  for (let i = from; i < to; i++) {
    writeU32(out, at + HEADER_BYTES + 4 * (i - from), p - bodyStart);
    const key = keys[i]!;
    let n = key.length;
    while (n >= 0x80) {
      out[p++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[p++] = n;
    out.set(key, p);
    p += key.length;
    const value = values[i]!;
    out.set(value, p);
    p += value.length;
  }
  const raw = p - bodyStart;
  // The 16 checksummed header bytes, 4 bytes late (see the module comment).
  const h = at + 4;
  out[h] = 0x53; // "SLVF"
  out[h + 1] = 0x4c;
  out[h + 2] = 0x56;
  out[h + 3] = 0x46;
  out[h + 4] = 1;
  out[h + 5] = 0;
  out[h + 6] = count & 0xff;
  out[h + 7] = count >>> 8;
  writeU32(out, h + 8, raw);
  writeU32(out, h + 12, raw);
  return p;
}

/**
 * Seal frames laid out by `layoutRawFrame`: `spans[2k]`, `spans[2k + 1]` are where frame `k`
 * starts and ends in `out`. One accelerator call checksums them all.
 */
export function sealRawFrames(out: Uint8Array, spans: readonly number[], accelerator: Accelerator): void {
  const frames = spans.length / 2;
  if (frames === 0) return;
  // Items [start + 4, end) of each frame, and between them the bytes from one frame's end to the
  // next one's checksummed range (their checksums are not used): offsets s0+4, e0, s1+4, e1, …
  const offsets = new Uint32Array(2 * frames);
  for (let k = 0; k < frames; k++) {
    offsets[2 * k] = spans[2 * k]! + 4;
    offsets[2 * k + 1] = spans[2 * k + 1]!;
  }
  const crcs = accelerator.crc32cMany({ data: out, offsets });
  for (let k = 0; k < frames; k++) {
    const at = spans[2 * k]!;
    out.copyWithin(at, at + 4, at + 20);
    writeU32(out, at + 16, crcs[2 * k]!);
  }
}
