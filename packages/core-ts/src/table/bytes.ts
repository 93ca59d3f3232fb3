/**
 * Little-endian integers and LEB128 varints for the table layer's own structures (footer, block
 * handles, properties), also used for the value log's pointers and raw frames. The accelerator
 * keeps its byte helpers private, and these few lines are cheaper to own than to export across
 * packages.
 */
import { ErrorCodes, SiltError } from '../errors.js';

/** The largest integer a u64 field may hold: every count and seq is a JS safe integer. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export function writeU32(target: Uint8Array, at: number, value: number): void {
  target[at] = value & 0xff;
  target[at + 1] = (value >>> 8) & 0xff;
  target[at + 2] = (value >>> 16) & 0xff;
  target[at + 3] = (value >>> 24) & 0xff;
}

export function readU32(source: Uint8Array, at: number): number {
  return (source[at]! | (source[at + 1]! << 8) | (source[at + 2]! << 16) | (source[at + 3]! << 24)) >>> 0;
}

/** Write a safe integer as a u64 (two u32 halves: doubles have no 64-bit integer view). */
export function writeU64(target: Uint8Array, at: number, value: number): void {
  writeU32(target, at, value >>> 0);
  writeU32(target, at + 4, Math.floor(value / 2 ** 32));
}

/**
 * Read a u64 that must be a safe integer. A larger value cannot have been written by SiltDB, so it
 * is corruption rather than a number silently rounded to a different one.
 */
export function readU64(source: Uint8Array, at: number, what: string): number {
  const low = readU32(source, at);
  const high = readU32(source, at + 4);
  const value = high * 2 ** 32 + low;
  if (value > MAX_SAFE) throw new SiltError(ErrorCodes.CORRUPTION, `${what} is larger than 2^53 - 1`);
  return value;
}

// FORMAT's 32-bit varints: the accelerator's own reader and writer, so tables and blocks agree on
// every corruption rule.
export { varintLength, writeVarint, VarintReader as VarintCursor } from '@siltdb/bindings';

/** Ranges up to this long are appended by a byte loop (see `GrowableBytes.appendRange`). */
const SHORT_COPY_BYTES = 64;

/**
 * An append-only byte buffer that doubles when full. The builder packs each block's keys and values
 * into two of these and reuses them for every block, so building a table does not allocate per entry.
 */
export class GrowableBytes {
  bytes: Uint8Array;
  length = 0;

  constructor(initialCapacity = 4096) {
    this.bytes = new Uint8Array(initialCapacity);
  }

  append(source: Uint8Array): void {
    this.appendRange(source, 0, source.length);
  }

  /**
   * Append `source[from, to)`. Short ranges (table keys, value pointers) are copied byte by byte:
   * a `set` call from a view costs more than the copy itself for a few dozen bytes.
   */
  appendRange(source: Uint8Array, from: number, to: number): void {
    const need = this.length + (to - from);
    if (need > this.bytes.length) this.grow(need);
    const bytes = this.bytes;
    if (to - from <= SHORT_COPY_BYTES) {
      let at = this.length;
      for (let i = from; i < to; i++) bytes[at++] = source[i]!;
    } else {
      bytes.set(source.subarray(from, to), this.length);
    }
    this.length = need;
  }

  pushByte(value: number): void {
    if (this.length === this.bytes.length) this.grow(this.length + 1);
    this.bytes[this.length++] = value;
  }

  reset(): void {
    this.length = 0;
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private grow(need: number): void {
    let capacity = this.bytes.length * 2;
    while (capacity < need) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }
}

/** A growable Uint32Array (packed-bytes offsets, filter hashes). */
export class GrowableU32 {
  values: Uint32Array;
  length = 0;

  constructor(initialCapacity = 64) {
    this.values = new Uint32Array(initialCapacity);
  }

  push(value: number): void {
    if (this.length === this.values.length) {
      const next = new Uint32Array(this.values.length * 2);
      next.set(this.values);
      this.values = next;
    }
    this.values[this.length++] = value;
  }

  reset(): void {
    this.length = 0;
  }

  view(): Uint32Array {
    return this.values.subarray(0, this.length);
  }
}

/**
 * A copy of `source[from, to)` as a plain Uint8Array. `Buffer#slice` returns a view, not a copy, and
 * the accelerator hands out Buffers, so `.slice()` cannot be trusted to detach bytes.
 */
export function copyBytes(source: Uint8Array, from = 0, to = source.length): Uint8Array {
  const length = to - from;
  const out = new Uint8Array(length);
  // A plain Uint8Array view: `Buffer#subarray` would build a Buffer through the species
  // constructor, which costs more than copying a short value.
  out.set(new Uint8Array(source.buffer, source.byteOffset + from, length));
  return out;
}

/**
 * Small values are copied into views of a shared slab, as Node pools small Buffers: a typed array
 * of more than 64 bytes otherwise gets its own off-heap backing store, which costs more than the
 * rest of a cached point read or an iterator step. The bytes of each view are the caller's alone;
 * only `.buffer` is shared (as with `Buffer.allocUnsafe`).
 */
const VALUE_SLAB_BYTES = 16 * 1024;
const MAX_POOLED_VALUE = 512;
let valueSlab = new ArrayBuffer(VALUE_SLAB_BYTES);
let valueSlabBytes = new Uint8Array(valueSlab);
let valueSlabUsed = 0;

/** A copy of `data[from, to)` as a plain Uint8Array, small ones carved from a shared slab. */
export function copyValue(data: Uint8Array, from: number, to: number): Uint8Array {
  const length = to - from;
  if (length > MAX_POOLED_VALUE || data.constructor !== Uint8Array) return copyBytes(data, from, to);
  if (valueSlabUsed + length > VALUE_SLAB_BYTES) {
    valueSlab = new ArrayBuffer(VALUE_SLAB_BYTES);
    valueSlabBytes = new Uint8Array(valueSlab);
    valueSlabUsed = 0;
  }
  const at = valueSlabUsed;
  // Keep views 8-byte aligned, so a caller may still lay wider typed arrays over its value.
  valueSlabUsed = (at + length + 7) & ~7;
  valueSlabBytes.set(data.subarray(from, to), at);
  return new Uint8Array(valueSlab, at, length);
}

/**
 * `bytes` as a plain Uint8Array over the same memory. The accelerator hands out Buffers; searches
 * over plain arrays stay monomorphic (search targets are plain arrays), and `Uint8Array#slice` on a
 * plain array copies where a Buffer's would return a view.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
