/**
 * LtHash in TypeScript, the twin of `lthash.rs`: a state is 1024 u16 lanes kept as 2048
 * little-endian bytes; the element of a pair is the first 2048 bytes of the BLAKE3 extendable
 * output of `u32le(len key) ‖ key ‖ u32le(len value) ‖ value`; mixing adds (or subtracts) it lane by
 * lane mod 2^16. A pair with an empty key or an empty value is no element.
 */
import type { PackedBytes } from '../accelerator.js';
import { Blake3 } from './blake3.js';

export const LT_HASH_BYTES = 2048;

const element = new Uint8Array(LT_HASH_BYTES);
const element16 = new Uint16Array(element.buffer);
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
const lengthPrefix = new Uint8Array(4);

function writeLength(length: number): Uint8Array {
  lengthPrefix[0] = length & 0xff;
  lengthPrefix[1] = (length >>> 8) & 0xff;
  lengthPrefix[2] = (length >>> 16) & 0xff;
  lengthPrefix[3] = (length >>> 24) & 0xff;
  return lengthPrefix;
}

/** Mix the pairs into (or, with `subtract`, out of) a copy of `lanes`; the inputs are validated. */
export function ltHashMix(lanes: Uint8Array, keys: PackedBytes, values: PackedBytes, subtract: boolean): Uint8Array {
  const out = Uint8Array.from(lanes);
  const count = keys.offsets.length - 1;
  for (let i = 0; i < count; i++) {
    const key = keys.data.subarray(keys.offsets[i]!, keys.offsets[i + 1]!);
    const value = values.data.subarray(values.offsets[i]!, values.offsets[i + 1]!);
    if (key.length === 0 || value.length === 0) continue;
    const hasher = new Blake3();
    hasher.update(writeLength(key.length)).update(key);
    hasher.update(writeLength(value.length)).update(value);
    hasher.finalizeInto(element);
    if (LITTLE_ENDIAN) {
      // Lanes are little-endian u16, which a Uint16Array view reads directly on this platform.
      const lanes16 = new Uint16Array(out.buffer, out.byteOffset, LT_HASH_BYTES / 2);
      if (subtract) for (let j = 0; j < lanes16.length; j++) lanes16[j] = lanes16[j]! - element16[j]!;
      else for (let j = 0; j < lanes16.length; j++) lanes16[j] = lanes16[j]! + element16[j]!;
      continue;
    }
    for (let j = 0; j < LT_HASH_BYTES; j += 2) {
      const lane = out[j]! | (out[j + 1]! << 8);
      const e = element[j]! | (element[j + 1]! << 8);
      const mixed = (subtract ? lane - e : lane + e) & 0xffff;
      out[j] = mixed & 0xff;
      out[j + 1] = mixed >>> 8;
    }
  }
  return out;
}
