/**
 * Little-endian integer fields on plain `Uint8Array`s (the log's buffers are not always Buffers).
 * Indexes are JavaScript safe integers, stored as u64.
 */

export function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

export function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
  bytes[at + 2] = (value >>> 16) & 0xff;
  bytes[at + 3] = (value >>> 24) & 0xff;
}

/** A u64 that must be a safe integer; returns null when it is above 2^53 − 1. */
export function readU64(bytes: Uint8Array, at: number): number | null {
  const low = readU32(bytes, at);
  const high = readU32(bytes, at + 4);
  if (high > 0x1fffff) return null;
  return high * 0x1_0000_0000 + low;
}

export function writeU64(bytes: Uint8Array, at: number, value: number): void {
  writeU32(bytes, at, value >>> 0);
  writeU32(bytes, at + 4, Math.floor(value / 0x1_0000_0000));
}
