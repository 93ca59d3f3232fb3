/**
 * Unsigned byte-order comparison of slices of packed buffers. Keys are ordered the way the Rust
 * accelerator orders `[u8]` (memcmp, then length), which differs from JS string comparison: UTF-16
 * code units put U+1F600 (a surrogate pair, 0xD83D…) before U+FF61, while its UTF-8 bytes sort after.
 */

/** Negative, zero or positive as `a[aStart, aEnd)` sorts before, equal to or after `b[bStart, bEnd)`. */
export function compareRanges(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const common = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < common; i++) {
    const x = a[aStart + i]!;
    const y = b[bStart + i]!;
    if (x !== y) return x - y;
  }
  return aLength - bLength;
}

/** Length of the common prefix of `a[aStart, aEnd)` and `b[bStart, bEnd)`. */
export function commonPrefix(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const common = aLength < bLength ? aLength : bLength;
  let i = 0;
  while (i < common && a[aStart + i] === b[bStart + i]) i++;
  return i;
}

/** Below this length a byte loop beats creating a subarray view for `set`. */
const SHORT_COPY = 32;

/** Copy `src[start, end)` to `dst` at `pos`; returns the position after the copy. */
export function copyRange(src: Uint8Array, start: number, end: number, dst: Uint8Array, pos: number): number {
  const length = end - start;
  if (length > SHORT_COPY) {
    dst.set(src.subarray(start, end), pos);
    return pos + length;
  }
  while (start < end) dst[pos++] = src[start++]!;
  return pos;
}

export function readU32(data: Uint8Array, pos: number): number {
  return (data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16) | (data[pos + 3]! << 24)) >>> 0;
}

export function writeU32(data: Uint8Array, pos: number, value: number): void {
  data[pos] = value & 0xff;
  data[pos + 1] = (value >>> 8) & 0xff;
  data[pos + 2] = (value >>> 16) & 0xff;
  data[pos + 3] = value >>> 24;
}
