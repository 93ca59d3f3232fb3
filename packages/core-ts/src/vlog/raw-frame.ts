/**
 * Uncompressed value-log frames (docs/FORMAT.md §2, flags 0) laid out straight into a buffer the
 * caller owns: the value log writes every frame it does not try to compress this way, many frames
 * into one allocation, so each value is copied exactly once on its way to the file (no packing into
 * a batch, no separate frame buffer per frame). The bytes are exactly what
 * `accelerator.encodeFrame(keys, values, { compress: false })` returns; only the CRC32C goes
 * through the accelerator (two calls per frame, over the bytes in place).
 */
import type { Accelerator } from '@siltdb/bindings';

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
 * Write the uncompressed frame of records `[from, to)` (1 … 65535 of them, body < 4 GiB: the
 * caller's frame limits) at `at` of `out`, which has room for `rawFrameLength(…)` bytes there.
 * Returns the frame's end.
 */
export function writeRawFrame(
  out: Uint8Array,
  at: number,
  keys: readonly Uint8Array[],
  values: readonly Uint8Array[],
  from: number,
  to: number,
  accelerator: Accelerator,
): number {
  const count = to - from;
  const view = new DataView(out.buffer, out.byteOffset + at, HEADER_BYTES + 4 * count);
  const bodyStart = at + HEADER_BYTES + 4 * count;
  let p = bodyStart;
  for (let i = from; i < to; i++) {
    view.setUint32(HEADER_BYTES + 4 * (i - from), p - bodyStart, true);
    const key = keys[i]!;
    let n = key.length;
    while (n >= 0x80) {
      out[p++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[p++] = n;
    out.set(key, p);
    p += key.length;
    out.set(values[i]!, p);
    p += values[i]!.length;
  }
  const raw = p - bodyStart;
  out[at] = 0x53; // "SLVF"
  out[at + 1] = 0x4c;
  out[at + 2] = 0x56;
  out[at + 3] = 0x46;
  out[at + 4] = 1;
  out[at + 5] = 0;
  view.setUint16(6, count, true);
  view.setUint32(8, raw, true);
  view.setUint32(12, raw, true);
  const crc = accelerator.crc32c(out.subarray(at + HEADER_BYTES, p), accelerator.crc32c(out.subarray(at, at + 16)));
  view.setUint32(16, crc, true);
  return p;
}
