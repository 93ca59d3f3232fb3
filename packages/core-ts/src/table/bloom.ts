/**
 * The bloom filter over a table's user keys (FORMAT.md §5.4). One 32-bit hash per key (MurmurHash3
 * x86_32, seed 0xbc9f1d34) drives all k probes by double hashing, as in LevelDB: probe i tests bit
 * `(h + i·delta) mod 2^32 mod m`, with `delta = h rotated right by 17`. Hashing in TypeScript
 * costs tens of nanoseconds per short key, less than one crossing into native code would.
 */
import { ErrorCodes, SiltError } from '../errors.js';
import { GrowableU32 } from './bytes.js';
import { corruption } from './format.js';

export const BLOOM_SEED = 0xbc9f1d34;
export const DEFAULT_BITS_PER_KEY = 10;
export const MAX_BITS_PER_KEY = 64;
/** More probes than this cost time without lowering the false-positive rate at ≤ 64 bits per key. */
export const MAX_PROBES = 30;
/** The smallest bit array, so a table with a handful of keys still has a useful filter. */
const MIN_FILTER_BYTES = 8;

/** MurmurHash3 x86_32 of `data[from, to)`. */
export function murmur3(data: Uint8Array, from: number, to: number, seed: number): number {
  let h = seed | 0;
  const length = to - from;
  const blocksEnd = from + (length & ~3);
  let i = from;
  for (; i < blocksEnd; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = length & 3;
  if (rest !== 0) {
    let k = 0;
    if (rest === 3) k ^= data[i + 2]! << 16;
    if (rest >= 2) k ^= data[i + 1]! << 8;
    k ^= data[i]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The filter hash of a user key (the same for every table). */
export function bloomHash(userKey: Uint8Array): number {
  return murmur3(userKey, 0, userKey.length, BLOOM_SEED);
}

/** k = round(bitsPerKey · ln 2), the count that minimises the false-positive rate, within [1, 30]. */
export function probesFor(bitsPerKey: number): number {
  return Math.min(MAX_PROBES, Math.max(1, Math.round(bitsPerKey * Math.LN2)));
}

export function validateBitsPerKey(bitsPerKey: unknown): number {
  if (typeof bitsPerKey !== 'number' || !Number.isInteger(bitsPerKey) || bitsPerKey < 1 || bitsPerKey > MAX_BITS_PER_KEY) {
    throw new SiltError(ErrorCodes.INVALID_ARGUMENT, `bitsPerKey must be an integer in [1, ${MAX_BITS_PER_KEY}]`);
  }
  return bitsPerKey;
}

/** Collects one hash per distinct user key while a table is built; `finish` lays out the bits. */
export class BloomFilterBuilder {
  private readonly hashes = new GrowableU32(1024);

  constructor(private readonly bitsPerKey: number) {}

  /** Add a user key (`data[from, to)`); the builder calls this once per distinct user key. */
  addKey(data: Uint8Array, from: number, to: number): void {
    this.hashes.push(murmur3(data, from, to, BLOOM_SEED));
  }

  get keyCount(): number {
    return this.hashes.length;
  }

  /** The filter payload: the bit array, then the probe count k (one byte). */
  finish(): Uint8Array {
    const count = this.hashes.length;
    const bytes = Math.max(MIN_FILTER_BYTES, Math.ceil((count * this.bitsPerKey) / 8));
    // (Kept an unsigned 32-bit integer, as every `h` is: the remainder below is then an integer
    // division, where a double's remainder cost ~4× as much per key — a tenth of a compaction.)
    const bitCount = (bytes * 8) >>> 0;
    const k = probesFor(this.bitsPerKey);
    const out = new Uint8Array(bytes + 1);
    const hashes = this.hashes.values;
    for (let i = 0; i < count; i++) {
      let h = hashes[i]!;
      const delta = ((h >>> 17) | (h << 15)) >>> 0;
      for (let j = 0; j < k; j++) {
        const bit = (h >>> 0) % bitCount >>> 0;
        out[bit >>> 3]! |= 1 << (bit & 7);
        h = (h + delta) >>> 0;
      }
    }
    out[bytes] = k;
    return out;
  }
}

/** A loaded filter: answers "maybe present" or "certainly absent" for a user key. */
export class BloomFilter {
  private readonly bits: Uint8Array;
  private readonly bitCount: number;
  private readonly probes: number;

  /** `payload` is the checked filter payload (FORMAT §5.4); a malformed one is corruption. */
  constructor(payload: Uint8Array) {
    if (payload.length < MIN_FILTER_BYTES + 1) throw corruption(`bloom filter of ${payload.length} bytes is too short`);
    const k = payload[payload.length - 1]!;
    if (k < 1 || k > MAX_PROBES) throw corruption(`bloom filter probe count ${k} is outside [1, ${MAX_PROBES}]`);
    this.bits = payload.subarray(0, payload.length - 1);
    this.bitCount = this.bits.length * 8;
    this.probes = k;
  }

  get byteLength(): number {
    return this.bits.length + 1;
  }

  mayContain(userKey: Uint8Array): boolean {
    return this.mayContainHash(bloomHash(userKey));
  }

  /** `mayContain` for a key whose `bloomHash` is `hash`: one hash serves every table a read visits. */
  mayContainHash(hash: number): boolean {
    let h = hash >>> 0;
    const delta = ((h >>> 17) | (h << 15)) >>> 0;
    const bits = this.bits;
    // (An unsigned 32-bit divisor, so the remainder is an integer division: see `finish`.)
    const bitCount = this.bitCount >>> 0;
    for (let j = 0; j < this.probes; j++) {
      const bit = (h >>> 0) % bitCount >>> 0;
      if ((bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
      h = (h + delta) >>> 0;
    }
    return true;
  }
}
