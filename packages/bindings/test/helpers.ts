/**
 * Shared test helpers: deterministic inputs, a literal transcription of FORMAT.md's compressor and
 * CRC (slow, obviously correct, independent of either accelerator), and error-code assertions.
 */
import assert from 'node:assert/strict';
import type { PackedBytes } from '../src/index.js';

export const enc = new TextEncoder();

/** A seeded xorshift32 generator, so failures reproduce. */
export function rng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
}

export function randomBytes(length: number, seed: number): Uint8Array {
  const next = rng(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = next() & 0xff;
  return out;
}

/** Text shaped like a JSON log: repetitive structure with varying numbers and names. */
export function jsonLike(length: number, seed = 1): Uint8Array {
  const next = rng(seed);
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf'];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < length; i++) {
    const part =
      `{"id":${i},"user":"${names[next() % names.length]}-${next() % 1000}",` +
      `"score":${(next() % 100000) / 100},"active":${next() % 2 === 0},"tags":["x","y${next() % 10}"]}\n`;
    parts.push(part);
    size += part.length;
  }
  return enc.encode(parts.join('')).subarray(0, length);
}

/** Bytes `i * 31 + 7` mod 256: the pattern both accelerators' CRC known answers use. */
export function crcPattern(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

/** Bitwise CRC32C, a reference for the table-driven implementations. */
export function referenceCrc32c(data: Uint8Array, seed = 0): number {
  let crc = ~seed >>> 0;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

/**
 * FORMAT.md §1 transcribed line by line into plain arrays, without the speed tricks of the real
 * compressors. Both accelerators must produce exactly these bytes (the raw block, no size prefix).
 */
export function referenceCompressBlock(input: Uint8Array): Uint8Array {
  const out: number[] = [];
  const n = input.length;
  const pushLength = (rest: number): void => {
    while (rest >= 255) {
      out.push(255);
      rest -= 255;
    }
    out.push(rest);
  };
  const emit = (anchor: number, end: number, offset: number, length: number): void => {
    const literals = end - anchor;
    const hasMatch = length > 0;
    const matchCode = hasMatch ? length - 4 : 0;
    out.push((Math.min(literals, 15) << 4) | Math.min(matchCode, 15));
    if (literals >= 15) pushLength(literals - 15);
    for (let i = anchor; i < end; i++) out.push(input[i]!);
    if (!hasMatch) return;
    out.push(offset & 0xff, offset >> 8);
    if (matchCode >= 15) pushLength(matchCode - 15);
  };
  const u32 = (p: number): number =>
    (input[p]! + input[p + 1]! * 256 + input[p + 2]! * 65536 + input[p + 3]! * 16777216) >>> 0;
  const hash = (p: number): number => Number((BigInt(u32(p)) * 2654435761n) % 2n ** 32n) >>> 18;
  let anchor = 0;
  if (n >= 13) {
    const slot = new Array<number>(1 << 14).fill(0);
    const limit = n - 13;
    let p = 0;
    while (p <= limit) {
      const h = hash(p);
      const was = slot[h]!;
      let c = was - 1;
      slot[h] = p + 1;
      if (was !== 0 && p - c <= 65535 && u32(c) === u32(p)) {
        while (p > anchor && c > 0 && input[p - 1] === input[c - 1]) {
          p--;
          c--;
        }
        let len = 4;
        while (p + len < n - 5 && input[c + len] === input[p + len]) len++;
        emit(anchor, p, p - c, len);
        p += len;
        anchor = p;
      } else {
        p += 1 + ((p - anchor) >> 6);
      }
    }
  }
  emit(anchor, n, 0, 0);
  return Uint8Array.from(out);
}

export function withSizePrefix(size: number, block: Uint8Array): Buffer {
  const out = Buffer.alloc(4 + block.length);
  out.writeUInt32LE(size, 0);
  out.set(block, 4);
  return out;
}

/** Assert that `fn` throws an error whose `code` is `code`. */
export function throwsCode(fn: () => unknown, code: string, context?: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  const where = context === undefined ? '' : ` (${context})`;
  assert.ok(thrown !== undefined, `expected ${code}${where}, but nothing was thrown`);
  assert.equal((thrown as { code?: unknown }).code, code, `expected ${code}${where}, got ${String(thrown)}`);
}

export function pack(items: readonly (string | Uint8Array)[]): PackedBytes {
  const bytes = items.map((item) => (typeof item === 'string' ? enc.encode(item) : item));
  let total = 0;
  for (const item of bytes) total += item.length;
  const data = new Uint8Array(total);
  const offsets = new Uint32Array(bytes.length + 1);
  let at = 0;
  bytes.forEach((item, i) => {
    data.set(item, at);
    at += item.length;
    offsets[i + 1] = at;
  });
  return { data, offsets };
}

export function unpack(packed: PackedBytes): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i + 1 < packed.offsets.length; i++) {
    out.push(Buffer.from(packed.data.subarray(packed.offsets[i]!, packed.offsets[i + 1]!)));
  }
  return out;
}

/** Recompute a frame's CRC after a test edits its header or body, so other checks are reached. */
export function refreshFrameCrc(frame: Uint8Array, count: number, storedLength: number): void {
  const view = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const end = 20 + 4 * count + storedLength;
  const crc = referenceCrc32c(view.subarray(20, end), referenceCrc32c(view.subarray(0, 16)));
  view.writeUInt32LE(crc, 16);
}

/** Assemble a table block around a hand-made payload, with a valid CRC. */
export function blockFromPayload(payload: Uint8Array, compression = 0): Buffer {
  const out = Buffer.alloc(payload.length + 5);
  out.set(payload, 0);
  out[payload.length] = compression;
  out.writeUInt32LE(referenceCrc32c(out.subarray(0, payload.length + 1)), payload.length + 1);
  return out;
}
