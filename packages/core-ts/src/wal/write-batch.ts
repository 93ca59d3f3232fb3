/**
 * Write batches: what callers hand to `db.batch` (checked and coerced here, synchronously, before
 * anything changes), and their binary form as one WAL entry (docs/FORMAT.md §6):
 *
 * ```
 * batch = u32 seqLow ‖ u32 seqHigh ‖ u32 count ‖ op × count        (integers little-endian)
 * op    = u8 kind ‖ varint keyLength ‖ key ‖ varint valueLength ‖ value
 * ```
 *
 * The batch's ops take the consecutive seqs firstSeq, firstSeq + 1, …; the record around the entry
 * (length, CRC32C) is the IndexedLog's (FORMAT §4), so decoding here only has to reject bytes that
 * passed the checksum yet are not a batch — which means a bug or a forged file: `CORRUPTION`.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { Kind, MAX_KEY_BYTES, MAX_SEQ, toUserKey, toValue } from '../keys/internal-key.js';

/** One operation of a batch, in engine form. */
export interface WriteOp {
  readonly kind: Kind;
  readonly key: Uint8Array;
  /** Empty for a delete. For a pointer, the encoded value-log pointer. */
  readonly value: Uint8Array;
}

/** A batch as the WAL stores it: the ops and the seq of the first (the others follow it). */
export interface WriteBatch {
  readonly firstSeq: number;
  readonly ops: readonly WriteOp[];
}

/** What callers pass to `db.batch`, abstract-level style; keys and values may be strings (UTF-8). */
export type BatchOperation =
  | { readonly type: 'put'; readonly key: Uint8Array | string; readonly value: Uint8Array | string }
  | { readonly type: 'del'; readonly key: Uint8Array | string };

/** The fixed part of an encoded batch: first seq (two u32) and op count (u32). */
export const BATCH_HEADER_BYTES = 12;
/** The smallest encoded op: a kind byte and two one-byte varints. */
const MIN_OP_BYTES = 3;
const EMPTY = new Uint8Array(0);

function invalid(message: string) {
  return siltError(ErrorCodes.INVALID_ARGUMENT, message);
}

function corrupt(message: string) {
  return siltError(ErrorCodes.CORRUPTION, `WAL batch is corrupt: ${message}`);
}

/** A put op from caller input (strings as UTF-8); throws `INVALID_ARGUMENT`. */
export function putOp(key: unknown, value: unknown): WriteOp {
  return { kind: Kind.Put, key: toUserKey(key), value: toValue(value) };
}

/** A delete op from caller input; throws `INVALID_ARGUMENT`. */
export function delOp(key: unknown): WriteOp {
  return { kind: Kind.Delete, key: toUserKey(key), value: EMPTY };
}

/** One caller operation (`{ type: 'put', key, value }` or `{ type: 'del', key }`) as a `WriteOp`. */
export function toWriteOp(operation: unknown, what = 'operation'): WriteOp {
  if (operation === null || typeof operation !== 'object') throw invalid(`${what} must be an object, got ${operation === null ? 'null' : typeof operation}`);
  const { type, key, value } = operation as { type?: unknown; key?: unknown; value?: unknown };
  if (type === 'put') return { kind: Kind.Put, key: toUserKey(key, `${what}.key`), value: toValue(value, `${what}.value`) };
  if (type === 'del') return { kind: Kind.Delete, key: toUserKey(key, `${what}.key`), value: EMPTY };
  throw invalid(`${what}.type must be "put" or "del", got ${typeof type === 'string' ? JSON.stringify(type) : String(type)}`);
}

/**
 * Caller operations as `WriteOp`s: all are checked before any is returned, so a bad one anywhere
 * in the list throws `INVALID_ARGUMENT` and nothing is applied.
 */
export function toWriteOps(operations: unknown): WriteOp[] {
  if (!Array.isArray(operations)) throw invalid(`a batch must be an array of operations, got ${operations === null ? 'null' : typeof operations}`);
  const ops: WriteOp[] = [];
  for (let i = 0; i < operations.length; i++) ops.push(toWriteOp(operations[i], `operations[${i}]`));
  return ops;
}

/** Check a batch in engine form (what the WAL is given); throws `INVALID_ARGUMENT`. */
export function checkWriteBatch(batch: unknown): asserts batch is WriteBatch {
  if (batch === null || typeof batch !== 'object') throw invalid('a write batch must be an object');
  const { firstSeq, ops } = batch as { firstSeq?: unknown; ops?: unknown };
  if (typeof firstSeq !== 'number' || !Number.isInteger(firstSeq) || firstSeq < 1 || firstSeq > MAX_SEQ) {
    throw invalid(`batch.firstSeq must be an integer in [1, ${MAX_SEQ}], got ${String(firstSeq)}`);
  }
  if (!Array.isArray(ops)) throw invalid('batch.ops must be an array');
  // Written as a difference: `firstSeq + n − 1` can round back below 2^53 in a double.
  if (ops.length - 1 > MAX_SEQ - firstSeq) throw invalid(`the batch's seqs would pass ${MAX_SEQ}`);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as { kind?: unknown; key?: unknown; value?: unknown } | null;
    if (op === null || typeof op !== 'object') throw invalid(`batch.ops[${i}] must be an object`);
    const { kind, key, value } = op;
    if (kind !== Kind.Put && kind !== Kind.Delete && kind !== Kind.Pointer) throw invalid(`batch.ops[${i}].kind ${String(kind)} is not an entry kind`);
    if (!(key instanceof Uint8Array)) throw invalid(`batch.ops[${i}].key must be a Uint8Array, got ${key === null ? 'null' : typeof key}`);
    if (key.length > MAX_KEY_BYTES) throw invalid(`batch.ops[${i}].key is ${key.length} bytes; the limit is ${MAX_KEY_BYTES}`);
    if (!(value instanceof Uint8Array)) throw invalid(`batch.ops[${i}].value must be a Uint8Array, got ${value === null ? 'null' : typeof value}`);
    if (kind === Kind.Delete && value.length !== 0) throw invalid(`batch.ops[${i}] is a delete with a non-empty value`);
  }
}

function varintLength(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(out: Uint8Array, at: number, n: number): number {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
  return at;
}

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n & 0xff;
  out[at + 1] = (n >>> 8) & 0xff;
  out[at + 2] = (n >>> 16) & 0xff;
  out[at + 3] = n >>> 24;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** The batch's bytes (FORMAT §6), after `checkWriteBatch`. */
export function encodeWriteBatch(batch: WriteBatch): Uint8Array {
  checkWriteBatch(batch);
  const { ops } = batch;
  let size = BATCH_HEADER_BYTES;
  for (const op of ops) size += 1 + varintLength(op.key.length) + op.key.length + varintLength(op.value.length) + op.value.length;
  const out = new Uint8Array(size);
  writeU32(out, 0, batch.firstSeq >>> 0);
  writeU32(out, 4, Math.floor(batch.firstSeq / 2 ** 32));
  writeU32(out, 8, ops.length);
  let at = BATCH_HEADER_BYTES;
  for (const op of ops) {
    out[at++] = op.kind;
    at = writeVarint(out, at, op.key.length);
    out.set(op.key, at);
    at += op.key.length;
    at = writeVarint(out, at, op.value.length);
    out.set(op.value, at);
    at += op.value.length;
  }
  return out;
}

/**
 * The batch in `bytes`; keys and values are views into `bytes`. Anything that is not exactly one
 * well-formed batch is `CORRUPTION`.
 */
export function decodeWriteBatch(bytes: Uint8Array): WriteBatch {
  if (bytes.length < BATCH_HEADER_BYTES) throw corrupt(`${bytes.length} bytes is shorter than the ${BATCH_HEADER_BYTES}-byte header`);
  const low = readU32(bytes, 0);
  const high = readU32(bytes, 4);
  if (high > 0x1fffff) throw corrupt('the first seq exceeds 2^53 − 1');
  const firstSeq = high * 2 ** 32 + low;
  const count = readU32(bytes, 8);
  if (firstSeq < 1) throw corrupt('the first seq is 0');
  if (count - 1 > MAX_SEQ - firstSeq) throw corrupt(`the batch's seqs pass ${MAX_SEQ}`);
  if (count > (bytes.length - BATCH_HEADER_BYTES) / MIN_OP_BYTES) throw corrupt(`${count} ops cannot fit in ${bytes.length} bytes`);
  const ops: WriteOp[] = [];
  const cursor = { at: BATCH_HEADER_BYTES };
  for (let i = 0; i < count; i++) {
    if (cursor.at >= bytes.length) throw corrupt(`op ${i} starts past the end`);
    const kind = bytes[cursor.at++]!;
    if (kind !== Kind.Put && kind !== Kind.Delete && kind !== Kind.Pointer) throw corrupt(`op ${i} has unknown kind ${kind}`);
    const keyLength = readVarint(bytes, cursor, i);
    if (keyLength > MAX_KEY_BYTES) throw corrupt(`op ${i} has a ${keyLength}-byte key`);
    const key = take(bytes, cursor, keyLength, i);
    const valueLength = readVarint(bytes, cursor, i);
    if (kind === Kind.Delete && valueLength !== 0) throw corrupt(`op ${i} is a delete with a value`);
    const value = take(bytes, cursor, valueLength, i);
    ops.push({ kind: kind as Kind, key, value });
  }
  if (cursor.at !== bytes.length) throw corrupt(`${bytes.length - cursor.at} bytes follow the last op`);
  return { firstSeq, ops };
}

/** The seq of the batch's last op (`firstSeq − 1` for an empty batch). */
export function lastSeqOf(batch: WriteBatch): number {
  return batch.firstSeq + batch.ops.length - 1;
}

/** An unsigned LEB128 varint of at most 5 bytes that fits 32 bits. */
function readVarint(bytes: Uint8Array, cursor: { at: number }, op: number): number {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (cursor.at >= bytes.length) throw corrupt(`op ${op} is cut off inside a length`);
    const byte = bytes[cursor.at++]!;
    if (shift === 28 && byte > 0x0f) throw corrupt(`op ${op} has a length over 32 bits`);
    result += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return result;
  }
  throw corrupt(`op ${op} has a length over 5 bytes`);
}

function take(bytes: Uint8Array, cursor: { at: number }, length: number, op: number): Uint8Array {
  const start = cursor.at;
  if (length > bytes.length - start) throw corrupt(`op ${op} runs past the end`);
  cursor.at = start + length;
  return bytes.subarray(start, start + length);
}
