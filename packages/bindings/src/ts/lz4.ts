/**
 * LZ4 blocks: SiltDB's deterministic compressor (FORMAT.md §1), which must emit exactly the bytes
 * the Rust accelerator emits, and a bounds-checked decoder for any valid LZ4 block.
 */
import { constants as bufferConstants } from 'node:buffer';
import { copyRange, readU32, writeU32 } from './bytes.js';
import { corruption, invalidArgument } from './fail.js';

const HASH_SLOTS = 1 << 14;
const MIN_MATCH = 4;
/** Matches may not start in the last 13 bytes (LZ4's MFLIMIT of 12, plus one). */
const MATCH_START_MARGIN = 13;
/** Nor cover any of the last 5 bytes, which are always literals. */
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
/** Below this length a match copy is faster byte by byte than via copyWithin. */
const SHORT_MATCH = 32;
/** Scratch outputs up to this size are kept between calls; larger ones are left to the GC. */
const SCRATCH_KEEP_LIMIT = 4 << 20;
const MAX_U32 = 0xffffffff;

/**
 * The hash table persists across calls so small inputs don't pay for clearing 64 KiB each time.
 * A slot written during the current call holds `base + position + 1`; anything at or below `base`
 * was written by an earlier call and counts as empty, exactly as the format's all-zero table would.
 */
const hashTable = new Uint32Array(HASH_SLOTS);
let hashBase = 0;

let scratch = new Uint8Array(0);

/** The largest LZ4 block the compressor can produce for `n` input bytes. */
function compressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function writeLength(out: Uint8Array, op: number, rest: number): number {
  while (rest >= 255) {
    out[op++] = 255;
    rest -= 255;
  }
  out[op++] = rest;
  return op;
}

function writeSequence(
  src: Uint8Array,
  literalStart: number,
  literalEnd: number,
  offset: number,
  matchLength: number,
  out: Uint8Array,
  op: number,
): number {
  const literals = literalEnd - literalStart;
  const matchCode = matchLength - MIN_MATCH;
  out[op++] = ((literals >= 15 ? 15 : literals) << 4) | (matchCode >= 15 ? 15 : matchCode);
  if (literals >= 15) op = writeLength(out, op, literals - 15);
  op = copyRange(src, literalStart, literalEnd, out, op);
  out[op++] = offset & 0xff;
  out[op++] = offset >>> 8;
  if (matchCode >= 15) op = writeLength(out, op, matchCode - 15);
  return op;
}

function writeLastLiterals(src: Uint8Array, start: number, end: number, out: Uint8Array, op: number): number {
  const literals = end - start;
  out[op++] = (literals >= 15 ? 15 : literals) << 4;
  if (literals >= 15) op = writeLength(out, op, literals - 15);
  return copyRange(src, start, end, out, op);
}

/**
 * Compress `src` as one LZ4 block into `out` at `op`, which must have `compressBound(src.length)`
 * bytes free. Returns the position after the block. The matcher is FORMAT.md §1 step by step:
 * any change here changes the bytes on disk and breaks parity with the Rust accelerator.
 */
function compressBlockInto(src: Uint8Array, out: Uint8Array, op: number): number {
  const n = src.length;
  let anchor = 0;
  if (n >= MATCH_START_MARGIN) {
    if (hashBase > MAX_U32 - n - 1) {
      hashTable.fill(0);
      hashBase = 0;
    }
    const base = hashBase;
    hashBase += n + 1;
    const table = hashTable;
    const limit = n - MATCH_START_MARGIN;
    const matchEnd = n - LAST_LITERALS;
    let p = 0;
    while (p <= limit) {
      const sequence = src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16) | (src[p + 3]! << 24);
      // 2654435761 = 0x9E3779B1; Math.imul keeps the product modulo 2^32 as the format requires.
      const h = Math.imul(sequence, 0x9e3779b1) >>> 18;
      const stored = table[h]!;
      table[h] = base + p + 1;
      if (stored > base) {
        let c = stored - base - 1;
        if (
          p - c <= MAX_OFFSET &&
          (src[c]! | (src[c + 1]! << 8) | (src[c + 2]! << 16) | (src[c + 3]! << 24)) === sequence
        ) {
          while (p > anchor && c > 0 && src[p - 1] === src[c - 1]) {
            p--;
            c--;
          }
          let length = MIN_MATCH;
          while (p + length < matchEnd && src[c + length] === src[p + length]) length++;
          op = writeSequence(src, anchor, p, p - c, length, out, op);
          p += length;
          anchor = p;
          continue;
        }
      }
      // Skip faster the longer nothing has matched, so incompressible data costs little.
      p += 1 + ((p - anchor) >> 6);
    }
  }
  return writeLastLiterals(src, anchor, n, out, op);
}

/**
 * Compress `src` into a shared scratch area, optionally behind a 4-byte size prefix. The returned
 * view is only valid until the next call into this module: callers copy it into their own output
 * at once, which saves allocating a worst-case buffer per call.
 */
export function compressTransient(src: Uint8Array, sizePrefix: boolean): Uint8Array {
  if (src.length > MAX_U32) throw invalidArgument(`cannot compress ${src.length} bytes: the size must fit in 32 bits`);
  const header = sizePrefix ? 4 : 0;
  const need = header + compressBound(src.length);
  let out = scratch;
  if (out.length < need) {
    out = new Uint8Array(need);
    if (need <= SCRATCH_KEEP_LIMIT) scratch = out;
  }
  if (sizePrefix) writeU32(out, 0, src.length);
  const end = compressBlockInto(src, out, header);
  return out.subarray(0, end);
}

/** Size-prefixed LZ4 block, the lz4-napi `compressSync` format. */
export function lz4Compress(src: Uint8Array): Buffer {
  const view = compressTransient(src, true);
  const result = Buffer.allocUnsafe(view.length);
  result.set(view);
  return result;
}

/**
 * A block of `inputLength` bytes expands at most ~255-fold (a match-length byte of 255 is the
 * densest encoding), so a larger declared size is corrupt, and rejecting it up front keeps a
 * forged header from making us allocate gigabytes.
 */
function checkDeclaredSize(declared: number, inputLength: number): void {
  if (declared > 255 * inputLength + 64) {
    throw corruption(`LZ4 declared size ${declared} is impossible for ${inputLength} input bytes`);
  }
  if (declared > bufferConstants.MAX_LENGTH) {
    throw invalidArgument(`LZ4 declared size ${declared} exceeds the largest Buffer`);
  }
}

/**
 * Decode the LZ4 block `src[start, end)` into `out[0, outLength)`, which it must fill exactly.
 * Every read and write is checked against its bound before it happens, so malformed input ends in
 * `CORRUPTION` and never in an out-of-bounds typed-array access or a partial result.
 */
function decompressBlockInto(
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outLength: number,
): void {
  let sp = start;
  let op = 0;
  // A bare size prefix of 0 (no block at all) is how some writers encode empty input.
  if (sp === end) {
    if (outLength === 0) return;
    throw corruption('LZ4 block is empty but declares output');
  }
  for (;;) {
    if (sp >= end) throw corruption('LZ4 block ends after a match (the last sequence must be literals)');
    const token = src[sp++]!;
    let literals = token >>> 4;
    if (literals === 15) {
      let byte: number;
      do {
        if (sp >= end) throw corruption('LZ4 literal length runs past the input');
        byte = src[sp++]!;
        literals += byte;
      } while (byte === 255);
    }
    if (literals > end - sp) throw corruption('LZ4 literals run past the input');
    if (literals > outLength - op) throw corruption('LZ4 literals run past the declared size');
    op = copyRange(src, sp, sp + literals, out, op);
    sp += literals;
    if (sp === end) break;

    if (end - sp < 2) throw corruption('LZ4 match offset runs past the input');
    const offset = src[sp]! | (src[sp + 1]! << 8);
    sp += 2;
    if (offset === 0) throw corruption('LZ4 match offset is 0');
    if (offset > op) throw corruption('LZ4 match reaches before the start of the output');
    let length = token & 15;
    if (length === 15) {
      let byte: number;
      do {
        if (sp >= end) throw corruption('LZ4 match length runs past the input');
        byte = src[sp++]!;
        length += byte;
      } while (byte === 255);
    }
    length += MIN_MATCH;
    if (length > outLength - op) throw corruption('LZ4 match runs past the declared size');
    op = copyMatch(out, op, offset, length);
  }
  if (op !== outLength) throw corruption(`LZ4 block decodes to ${op} bytes, not the declared ${outLength}`);
}

/**
 * LZ4 matches may overlap their own output (offset < length repeats a pattern), which memmove
 * semantics would get wrong; copying in chunks that double from the pattern's start stays correct
 * because everything written so far is periodic with the offset.
 */
function copyMatch(out: Uint8Array, op: number, offset: number, length: number): number {
  let from = op - offset;
  if (length <= SHORT_MATCH) {
    const end = op + length;
    while (op < end) out[op++] = out[from++]!;
    return op;
  }
  if (offset >= length) {
    out.copyWithin(op, from, from + length);
    return op + length;
  }
  let remaining = length;
  let chunk = offset;
  while (remaining > 0) {
    const n = chunk < remaining ? chunk : remaining;
    out.copyWithin(op, from, from + n);
    op += n;
    remaining -= n;
    chunk += n;
  }
  return op;
}

/** Inverse of `lz4Compress`: a 4-byte little-endian size, then one LZ4 block. */
export function lz4Decompress(data: Uint8Array): Buffer {
  if (data.length < 4) throw corruption(`LZ4 input of ${data.length} bytes has no size prefix`);
  const declared = readU32(data, 0);
  checkDeclaredSize(declared, data.length);
  const out = Buffer.allocUnsafe(declared);
  decompressBlockInto(data, 4, data.length, out, declared);
  return out;
}

/** Decode a raw (unprefixed) LZ4 block whose decoded size is known from elsewhere. */
export function decompressRawBlock(src: Uint8Array, start: number, end: number, outLength: number): Buffer {
  checkDeclaredSize(outLength, end - start);
  const out = Buffer.allocUnsafe(outLength);
  decompressBlockInto(src, start, end, out, outLength);
  return out;
}
