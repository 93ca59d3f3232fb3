/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), slice-by-16. The seed is a previous
 * finished CRC, so `crc32c(b, crc32c(a)) === crc32c(a ‖ b)`.
 */

import type { PackedBytes } from '../accelerator.js';

const SLICES = 16;

/**
 * `TABLE[k * 256 + n]` is the CRC register after byte `n` followed by `k` zero bytes, which lets the
 * loop fold 16 input bytes with 16 independent lookups instead of 16 dependent ones. Int32Array
 * keeps the entries small integers for V8 (a Uint32Array above 2^31 would box to doubles).
 */
const TABLE = buildTable();

function buildTable(): Int32Array {
  const table = new Int32Array(SLICES * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = table[n]!;
    for (let k = 1; k < SLICES; k++) {
      c = table[c & 0xff]! ^ (c >>> 8);
      table[k * 256 + n] = c;
    }
  }
  return table;
}

/** Extend the unfinished register `crc` (already inverted) over `data[start, end)`. */
function crc32cUpdate(crc: number, data: Uint8Array, start: number, end: number): number {
  const t = TABLE;
  let i = start;
  const fastEnd = end - SLICES;
  while (i <= fastEnd) {
    const a = crc ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    crc =
      t[0xf00 + (a & 0xff)]! ^
      t[0xe00 + ((a >>> 8) & 0xff)]! ^
      t[0xd00 + ((a >>> 16) & 0xff)]! ^
      t[0xc00 + (a >>> 24)]! ^
      t[0xb00 + data[i + 4]!]! ^
      t[0xa00 + data[i + 5]!]! ^
      t[0x900 + data[i + 6]!]! ^
      t[0x800 + data[i + 7]!]! ^
      t[0x700 + data[i + 8]!]! ^
      t[0x600 + data[i + 9]!]! ^
      t[0x500 + data[i + 10]!]! ^
      t[0x400 + data[i + 11]!]! ^
      t[0x300 + data[i + 12]!]! ^
      t[0x200 + data[i + 13]!]! ^
      t[0x100 + data[i + 14]!]! ^
      t[data[i + 15]!]!;
    i += SLICES;
  }
  while (i < end) crc = t[(crc ^ data[i++]!) & 0xff]! ^ (crc >>> 8);
  return crc;
}

/** CRC32C of `data[start, end)` continuing from the finished CRC `seed` (0 for a fresh one). */
export function crc32cRange(data: Uint8Array, start: number, end: number, seed = 0): number {
  return ~crc32cUpdate(~seed, data, start, end) >>> 0;
}

export function crc32c(data: Uint8Array, seed = 0): number {
  return crc32cRange(data, 0, data.length, seed);
}

/**
 * The CRC32C of each item of a packed batch, whose offsets the caller has validated. Each item is
 * checksummed in place (no subarray per item).
 */
export function crc32cMany(items: PackedBytes): Uint32Array {
  const { data, offsets } = items;
  const count = offsets.length - 1;
  const out = new Uint32Array(count);
  let start = offsets[0]!;
  for (let i = 0; i < count; i++) {
    const end = offsets[i + 1]!;
    out[i] = ~crc32cUpdate(-1, data, start, end);
    start = end;
  }
  return out;
}
