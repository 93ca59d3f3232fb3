/**
 * Point reads (docs/ENGINE.md): the memtable, the immutable memtables newest first, the L0 tables
 * newest first, then one table per deeper level (binary search by key range) — the first version
 * found at or below the read's seq decides, a tombstone meaning "absent". Values are copies.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { compareBytes, Kind, TRAILER_BYTES } from '../keys/internal-key.js';
import { bloomHash } from '../table/bloom.js';
import { memtableKeyHash, type SeparatedValues } from '../memtable/index.js';
import { NUM_LEVELS, type TableMeta, type Version } from '../manifest/index.js';
import type { MemSlot } from './mem-slot.js';
import type { TableSet } from './table-set.js';

/** Order of the user part of internal key `internal` against user key `key`. */
export function compareUserPart(internal: Uint8Array, key: Uint8Array): number {
  return compareBytes(internal, 0, internal.length - TRAILER_BYTES, key, 0, key.length);
}

function inRange(table: TableMeta, key: Uint8Array): boolean {
  return compareUserPart(table.smallest, key) <= 0 && compareUserPart(table.largest, key) >= 0;
}

/** The table of a sorted, disjoint level (L1+) whose range may hold `key`, or undefined. */
export function findInLevel(tables: readonly TableMeta[], key: Uint8Array): TableMeta | undefined {
  let low = 0;
  let high = tables.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareUserPart(tables[middle]!.largest, key) < 0) low = middle + 1;
    else high = middle;
  }
  const table = tables[low];
  return table !== undefined && compareUserPart(table.smallest, key) <= 0 ? table : undefined;
}

/**
 * Reads separated values: the value-log pointer at `bytes[from, to)` → the value (a copy). The
 * pointer is passed where it lies (a memtable's arena, a block), so a read makes no view of it. The
 * database passes its value log itself: the read calls `ValueLog.readAt` with no layer between.
 */
export type PointerResolver = SeparatedValues;

/** The resolver of a database without a value log, where a pointer is corrupt data. */
export const NO_SEPARATED_VALUES: PointerResolver = {
  readAt(): never {
    throw siltError(ErrorCodes.CORRUPTION, 'a value-log pointer was found but the database has no value log');
  },
};

/**
 * The value of `key` visible at `seq` (a copy), or undefined when absent or deleted.
 *
 * One function on purpose: at ~550 bytes of bytecode it is above TurboFan's inlining limit (460),
 * so it is compiled once, on its own, and never again inside `getSync` or inside the caller's loop
 * that calls `getSync`. Split so that the memtable probe fit the limit, the probe was compiled
 * three times over (alone, in `getSync`, in the caller) while a process warmed up: 12 alternating
 * runs of the large-values read pass (bench/engines/vlog.mjs) spent a median 60 ms in TurboFan
 * against 44 ms for this shape, and read 11 % slower.
 */
export function readValue(
  slots: readonly MemSlot[],
  version: Version,
  tables: TableSet,
  key: Uint8Array,
  seq: number,
  resolve: PointerResolver = NO_SEPARATED_VALUES,
): Uint8Array | undefined {
  // The key-table hash, computed once for every memtable the read probes.
  let memHash = 0;
  let memHashed = false;
  for (let i = 0; i < slots.length; i++) {
    const mem = slots[i]!.mem;
    if (mem.entryCount === 0) continue;
    if (!memHashed) {
      memHash = memtableKeyHash(key);
      memHashed = true;
    }
    const entry = mem.find(key, seq, memHash);
    if (entry >= 0) return mem.entryValue(entry, key, resolve);
  }
  // The bloom hash of the key, computed once for every table the read visits (-1: not yet).
  let hash = -1;
  const level0 = version.tables(0);
  for (let i = 0; i < level0.length; i++) {
    const table = level0[i]!;
    if (table.minSeq > seq || !inRange(table, key)) continue;
    if (hash < 0) hash = bloomHash(key);
    const found = tables.get(table.fileNumber).get(key, seq, hash);
    if (found !== undefined) return found.kind === Kind.Delete ? undefined : found.kind === Kind.Pointer ? resolve.readAt(found.value, 0, found.value.length, key) : found.value;
  }
  for (let level = 1; level < NUM_LEVELS; level++) {
    const levelTables = version.tables(level);
    if (levelTables.length === 0) continue;
    const table = findInLevel(levelTables, key);
    if (table === undefined) continue;
    if (hash < 0) hash = bloomHash(key);
    const found = tables.get(table.fileNumber).get(key, seq, hash);
    if (found !== undefined) return found.kind === Kind.Delete ? undefined : found.kind === Kind.Pointer ? resolve.readAt(found.value, 0, found.value.length, key) : found.value;
  }
  return undefined;
}
