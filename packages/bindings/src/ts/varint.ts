/**
 * Unsigned LEB128 of at most 32 bits (FORMAT.md conventions). A 5th byte above 0x0f would carry
 * bits past 2^32 (and one with the continuation bit set would announce a 6th byte), so both are
 * corruption rather than being silently truncated.
 */
import { corruption } from './fail.js';

export function varintLength(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** Write `value` (0 ≤ value < 2^32) at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
  return pos;
}

/**
 * A cursor over `data[pos, end)` for reading varints: decoders read several per entry, and a
 * cursor object avoids allocating a `{ value, pos }` pair for each one.
 */
export class VarintReader {
  pos: number;

  constructor(
    readonly data: Uint8Array,
    pos: number,
    readonly end: number,
  ) {
    this.pos = pos;
  }

  /** Read one varint, throwing `CORRUPTION` if it runs past `end` or exceeds 32 bits. */
  read(what: string): number {
    const data = this.data;
    const end = this.end;
    let pos = this.pos;
    let result = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (pos >= end) throw corruption(`${what}: varint runs past the end`);
      const byte = data[pos++]!;
      result |= (byte & 0x7f) << shift;
      if (byte < 0x80) {
        this.pos = pos;
        return result;
      }
    }
    if (pos >= end) throw corruption(`${what}: varint runs past the end`);
    const last = data[pos++]!;
    if (last > 0x0f) throw corruption(`${what}: varint longer than 32 bits`);
    this.pos = pos;
    // The 5th byte holds bits 28..31; adding rather than OR-ing keeps the result unsigned.
    return (result >>> 0) + last * 0x10000000;
  }
}
