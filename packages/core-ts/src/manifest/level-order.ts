/**
 * How the tables of a level are ordered, and what makes a level valid.
 *
 * - L0 tables may overlap; they are ordered newest first (highest `maxSeq` first, then highest
 *   file number), the order a read must consult them in.
 * - L1 and deeper levels are sorted by smallest key and disjoint in *user* keys: the last user key
 *   of a table sorts strictly before the first user key of the next. So a user key lives in at
 *   most one table per level, which lets a read binary-search a level and stop at one table — and
 *   means a compaction must not split one user key's entries across two output tables.
 */
import { compareInternalKeys } from '../keys/internal-key.js';
import { compareUserParts, corruptInput, type TableMeta } from './table-meta.js';

export function compareNewestFirst(a: TableMeta, b: TableMeta): number {
  return b.maxSeq - a.maxSeq || b.fileNumber - a.fileNumber;
}

export function compareBySmallest(a: TableMeta, b: TableMeta): number {
  return compareInternalKeys(a.smallest, b.smallest) || a.fileNumber - b.fileNumber;
}

/** Sort a level's tables into its order (in place) and check L1+ disjointness (`CORRUPTION`). */
export function orderLevel(level: number, tables: TableMeta[]): TableMeta[] {
  if (level === 0) return tables.sort(compareNewestFirst);
  tables.sort(compareBySmallest);
  for (let i = 1; i < tables.length; i++) {
    const previous = tables[i - 1]!;
    const next = tables[i]!;
    if (compareUserParts(previous.largest, next.smallest) >= 0) {
      throw corruptInput(`L${level} tables ${previous.fileNumber} and ${next.fileNumber} overlap: a level below L0 must hold disjoint key ranges`);
    }
  }
  return tables;
}
