/**
 * Applying an edit to the tables of a version: the pure core of `Version.apply`. Every failure is
 * `CORRUPTION` — an edit that removes a table the version does not hold, adds a table twice, or
 * breaks a level's order can only come from damaged state or a bug, and applying it would make
 * the engine lose or resurrect data.
 */
import { orderLevel } from './level-order.js';
import { corruptInput, NUM_LEVELS, type TableMeta } from './table-meta.js';
import type { CheckedEdit } from './version-edit.js';

export type Levels = readonly (readonly TableMeta[])[];

/**
 * The levels after `edit`: removals first, then additions. Levels the edit does not touch are the
 * same arrays as before (versions share them).
 */
export function applyToLevels(levels: Levels, levelOf: ReadonlyMap<number, number>, edit: CheckedEdit): Levels {
  if (edit.snapshot && levelOf.size > 0) throw corruptInput('a snapshot edit can only be applied to the empty version');
  const removedByLevel = new Map<number, Set<number>>();
  for (const { level, fileNumber } of edit.removed) {
    if (levelOf.get(fileNumber) !== level) throw corruptInput(`an edit removes table ${fileNumber} from L${level}, which does not hold it`);
    const removed = removedByLevel.get(level) ?? new Set<number>();
    if (removed.has(fileNumber)) throw corruptInput(`an edit removes table ${fileNumber} twice`);
    removedByLevel.set(level, removed.add(fileNumber));
  }
  const addedByLevel = new Map<number, TableMeta[]>();
  const addedNumbers = new Set<number>();
  for (const { level, table } of edit.added) {
    const { fileNumber } = table;
    const stillLive = levelOf.has(fileNumber) && !removedByLevel.get(levelOf.get(fileNumber)!)?.has(fileNumber);
    if (stillLive || addedNumbers.has(fileNumber)) throw corruptInput(`an edit adds table ${fileNumber}, which is already in the version`);
    addedNumbers.add(fileNumber);
    const added = addedByLevel.get(level) ?? [];
    added.push(table);
    addedByLevel.set(level, added);
  }
  const next: (readonly TableMeta[])[] = [];
  for (let level = 0; level < NUM_LEVELS; level++) {
    const removed = removedByLevel.get(level);
    const added = addedByLevel.get(level);
    const before = levels[level] ?? [];
    if (removed === undefined && added === undefined) {
      next.push(before);
      continue;
    }
    const kept = removed === undefined ? [...before] : before.filter((table) => !removed.has(table.fileNumber));
    if (added !== undefined) kept.push(...added);
    next.push(Object.freeze(orderLevel(level, kept)));
  }
  return next;
}
