/**
 * The newest entry of many keys at once (a value-log rewrite asks this of every record it scans):
 * the same answer as `readValue` at the newest seq for each key, found in one ordered pass. The
 * memtables are probed per key (a hash probe); each table is read by a `SortedTableSeeker`, which
 * only moves forward through the table's blocks as the ascending keys do, instead of a point
 * lookup from the root per key. L0 tables are visited newest first and the levels top down, as a
 * point read does, and the first entry found for a key decides.
 *
 * Synchronous: the version, memtables and tables are read as they are during the call.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { compareBytes, Kind } from '../keys/internal-key.js';
import { NUM_LEVELS, type TableMeta, type Version } from '../manifest/index.js';
import { memtableKeyHash } from '../memtable/index.js';
import { bloomHash } from '../table/bloom.js';
import { SortedTableSeeker } from '../table/sorted-seeker.js';
import type { MemSlot } from './mem-slot.js';
import { compareUserPart } from './read-path.js';
import type { TableSet } from './table-set.js';

/**
 * Called once per key that has an entry: `keys[index]`'s newest entry is of `kind`, its value
 * (a pointer's raw bytes for `Kind.Pointer`, empty for a tombstone) is `data[from, to)` — a view
 * valid only during the call.
 */
export type NewestEntryVisitor = (index: number, kind: Kind, data: Uint8Array, from: number, to: number) => void;

/** The first index in `[from, keys.length)` whose key is > (`after`) or ≥ the user part of internal key `bound`. */
function firstKeyFrom(keys: readonly Uint8Array[], from: number, bound: Uint8Array, after: boolean): number {
  let low = from;
  let high = keys.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const c = compareUserPart(bound, keys[mid]!);
    // c > 0: bound's user key is above the key; the key belongs below the answer.
    if (c > 0 || (after && c === 0)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** A table and the keys `[from, to)` within its key range, read by one seeker. */
interface TableRun {
  readonly seeker: SortedTableSeeker;
  readonly from: number;
  readonly to: number;
}

/**
 * Visit the newest entry (any seq) of each of `keys`, which must be in ascending order (equal
 * neighbours allowed); keys without any entry are not visited.
 */
export function visitNewestEntries(
  slots: readonly MemSlot[],
  version: Version,
  tables: TableSet,
  keys: readonly Uint8Array[],
  visit: NewestEntryVisitor,
): void {
  const count = keys.length;
  for (let i = 1; i < count; i++) {
    const a = keys[i - 1]!;
    const b = keys[i]!;
    if (compareBytes(a, 0, a.length, b, 0, b.length) > 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'visitNewestEntries: keys must be in ascending order');
  }
  if (count === 0) return;
  const mems = slots.map((slot) => slot.mem).filter((mem) => mem.entryCount > 0);
  // Each table's share of the keys, found once by bisection instead of a range check per key.
  const level0: TableRun[] = [];
  for (const table of version.tables(0)) {
    const from = firstKeyFrom(keys, 0, table.smallest, false);
    const to = firstKeyFrom(keys, from, table.largest, true);
    if (from < to) level0.push({ seeker: new SortedTableSeeker(tables.get(table.fileNumber)), from, to });
  }
  // Per level, its tables in order; `next[l]` is the level's next run to open.
  const levels: TableMeta[][] = [];
  for (let level = 1; level < NUM_LEVELS; level++) {
    const levelTables = version.tables(level);
    if (levelTables.length > 0) levels.push([...levelTables]);
  }
  // The deepest level holds nearly every key a rewrite asks about: its bloom filter would only
  // say "maybe", and the seeker's forward step answers an absent key as cheaply.
  const deepest = levels.length - 1;
  const runs: (TableRun | null)[] = levels.map(() => null);
  const nextTable = levels.map(() => 0);
  try {
    next: for (let i = 0; i < count; i++) {
      const key = keys[i]!;
      if (mems.length > 0) {
        const memHash = memtableKeyHash(key);
        for (const mem of mems) {
          const entry = mem.find(key, undefined, memHash);
          if (entry < 0) continue;
          visit(i, mem.kindAt(entry), mem.chunkAt(entry), mem.keyEndAt(entry), mem.valueEndAt(entry));
          continue next;
        }
      }
      const hash = bloomHash(key);
      for (let t = 0; t < level0.length; t++) {
        const run = level0[t]!;
        if (i < run.from || i >= run.to) continue;
        const seeker = run.seeker;
        if (!seeker.reader.mayContainHash(hash)) continue;
        if (seeker.seek(key)) {
          visit(i, seeker.kind as Kind, seeker.data, seeker.valueFrom, seeker.valueTo);
          continue next;
        }
      }
      for (let l = 0; l < levels.length; l++) {
        let run = runs[l]!;
        if (run === null || i >= run.to) {
          // Open the level's first table whose range ends at or after this key.
          run?.seeker.release();
          runs[l] = null;
          const levelTables = levels[l]!;
          let t = nextTable[l]!;
          while (t < levelTables.length && compareUserPart(levelTables[t]!.largest, key) < 0) t++;
          if (t >= levelTables.length) {
            nextTable[l] = t;
            continue;
          }
          const table = levelTables[t]!;
          nextTable[l] = t + 1;
          const from = firstKeyFrom(keys, i, table.smallest, false);
          run = { seeker: new SortedTableSeeker(tables.get(table.fileNumber)), from, to: firstKeyFrom(keys, from, table.largest, true) };
          runs[l] = run;
        }
        if (i < run.from) continue;
        const seeker = run.seeker;
        if (l !== deepest && !seeker.reader.mayContainHash(hash)) continue;
        if (seeker.seek(key)) {
          visit(i, seeker.kind as Kind, seeker.data, seeker.valueFrom, seeker.valueTo);
          continue next;
        }
      }
    }
  } finally {
    for (const run of level0) run.seeker.release();
    for (const run of runs) run?.seeker.release();
  }
}
