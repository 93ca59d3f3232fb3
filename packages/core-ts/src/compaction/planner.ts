/**
 * The compaction planner (docs/ENGINE.md, "Compaction"): given a `Version`, which tables to compact
 * next and into which level. It reads the version only; its one piece of state is the round-robin
 * compact pointer per level, which callers may persist (`compactPointers`) and restore (constructor).
 *
 * - L0 → L1 once L0 holds `l0CompactionTrigger` tables: every L0 table plus the L1 tables their
 *   key range meets.
 * - Otherwise the level n ≥ 1 with the highest score `levelBytes(n) / target(n)` ≥ 1, where
 *   `target(n) = baseLevelBytes × levelMultiplier^(n − 1)`: one table of level n, taken round-robin
 *   after the level's compact pointer, plus the tables of level n + 1 its key range meets. The last
 *   level (`maxLevels − 1`) is never scored: there is nowhere to push it.
 * - `compactRange(start, end)`: manual jobs, level by level, pushing the tables that meet the range
 *   down until they reach the deepest level holding data in the range.
 *
 * Inputs are always expanded so that no user key is split: every table of the input level whose
 * user-key range meets the inputs' range is included, repeated until stable (in L0, overlapping
 * tables chain; in L1+, where tables are disjoint in user keys, this adds nothing but guards the
 * invariant). A job's outputs therefore cover whole user keys, and replacing inputs by outputs keeps
 * every level below L0 disjoint.
 *
 * One job runs at a time: the planner does not track tables that are being compacted.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { compareInternalKeys, compareUserKeys, TRAILER_BYTES } from '../keys/internal-key.js';
import { compareUserPartToKey, type TableMeta } from '../manifest/table-meta.js';
import type { Version } from '../manifest/version.js';
import { resolveCompactionOptions, type CompactionOptions, type ResolvedCompactionOptions } from './options.js';

export type CompactionReason = 'l0' | 'size' | 'manual';
export type WriteStall = 'none' | 'slowdown' | 'stop';

export interface CompactionJob {
  readonly reason: CompactionReason;
  /** The input level. */
  readonly level: number;
  /** Where the outputs go: `level + 1`. */
  readonly outputLevel: number;
  /** Input tables of `level`, in the level's order (L0 newest first, L1+ by key). */
  readonly inputs: readonly TableMeta[];
  /** Input tables of `outputLevel`, by key (disjoint). */
  readonly nextInputs: readonly TableMeta[];
  /** The smallest and largest user keys over all inputs (copies). */
  readonly smallestUserKey: Uint8Array;
  readonly largestUserKey: Uint8Array;
  /**
   * One table and nothing below it to merge with: the table can move to `outputLevel` by a manifest
   * edit alone, without being rewritten (never for manual jobs, which are asked to rewrite).
   */
  readonly trivialMove: boolean;
  /** Output tables are cut once they reach this size, only between user keys. */
  readonly targetFileBytes: number;
  /** What made the job due: the L0 count over its trigger, the level's bytes over its target, or 0 (manual). */
  readonly score: number;
}

export interface LevelScore {
  readonly level: number;
  readonly score: number;
}

function userPart(internalKey: Uint8Array): Uint8Array {
  return internalKey.subarray(0, internalKey.length - TRAILER_BYTES);
}

/** The user-key range [smallest, largest] of `tables` (views into their keys). */
function userRange(tables: readonly TableMeta[]): [Uint8Array, Uint8Array] {
  let smallest = userPart(tables[0]!.smallest);
  let largest = userPart(tables[0]!.largest);
  for (let i = 1; i < tables.length; i++) {
    const s = userPart(tables[i]!.smallest);
    const l = userPart(tables[i]!.largest);
    if (compareUserKeys(s, smallest) < 0) smallest = s;
    if (compareUserKeys(l, largest) > 0) largest = l;
  }
  return [smallest, largest];
}

/**
 * `tables` of `level` grown until no other table of the level meets their user-key range, so no
 * user key has versions both inside and outside the set. Returned in the level's order.
 */
export function expandToWholeUserKeys(version: Version, level: number, tables: readonly TableMeta[]): TableMeta[] {
  if (tables.length === 0) return [];
  let current: TableMeta[] = [...tables];
  for (;;) {
    const [start, end] = userRange(current);
    const grown = version.overlapping(level, start, end);
    // `overlapping` returns a superset of `current` (each table meets its own range).
    if (grown.length === current.length) return grown;
    current = grown;
  }
}

/** The write stall state from the L0 table count: `stop` at `l0StopTrigger`, `slowdown` at `l0SlowdownTrigger`. */
export function writeStall(version: Version, options: CompactionOptions | ResolvedCompactionOptions = {}): WriteStall {
  const resolved = resolveCompactionOptions(options);
  const count = version.tableCountAt(0);
  if (count >= resolved.l0StopTrigger) return 'stop';
  if (count >= resolved.l0SlowdownTrigger) return 'slowdown';
  return 'none';
}

export class CompactionPlanner {
  readonly options: ResolvedCompactionOptions;
  /** Per level: the largest internal key of the last table picked there by size. */
  private readonly pointers: (Uint8Array | undefined)[];

  constructor(options: CompactionOptions = {}, compactPointers?: ReadonlyMap<number, Uint8Array>) {
    this.options = resolveCompactionOptions(options);
    this.pointers = Array.from({ length: this.options.maxLevels }, () => undefined);
    for (const [level, key] of compactPointers ?? []) {
      if (!Number.isSafeInteger(level) || level < 1 || level >= this.options.maxLevels || !(key instanceof Uint8Array) || key.length < TRAILER_BYTES) {
        throw siltError(ErrorCodes.INVALID_ARGUMENT, `bad compact pointer for level ${String(level)}`);
      }
      this.pointers[level] = key.slice();
    }
  }

  /** The byte target of level ≥ 1: `baseLevelBytes × levelMultiplier^(level − 1)`. */
  maxBytesForLevel(level: number): number {
    if (!Number.isSafeInteger(level) || level < 1 || level >= this.options.maxLevels) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `level must be in [1, ${this.options.maxLevels - 1}], got ${String(level)}`);
    }
    return this.options.baseLevelBytes * this.options.levelMultiplier ** (level - 1);
  }

  /**
   * The score of every level that can compact: L0 is its table count over `l0CompactionTrigger`,
   * level n in [1, maxLevels − 2] its bytes over its target. A score ≥ 1 means the level is due.
   */
  scores(version: Version): LevelScore[] {
    const out: LevelScore[] = [{ level: 0, score: version.tableCountAt(0) / this.options.l0CompactionTrigger }];
    for (let level = 1; level < this.options.maxLevels - 1; level++) {
      out.push({ level, score: version.levelBytes(level) / this.maxBytesForLevel(level) });
    }
    return out;
  }

  writeStall(version: Version): WriteStall {
    return writeStall(version, this.options);
  }

  /** The round-robin position of `level` (an internal key), if any. */
  compactPointer(level: number): Uint8Array | undefined {
    return this.pointers[level]?.slice();
  }

  /** Every level's compact pointer, to persist and hand back to the constructor after a reopen. */
  get compactPointers(): ReadonlyMap<number, Uint8Array> {
    const out = new Map<number, Uint8Array>();
    this.pointers.forEach((key, level) => {
      if (key !== undefined) out.set(level, key.slice());
    });
    return out;
  }

  /**
   * The next job, or null when nothing is due. Picking a size job advances the level's compact
   * pointer to the largest key of its inputs, so the next pick at that level starts after them.
   */
  pick(version: Version): CompactionJob | null {
    const l0 = version.tables(0);
    if (l0.length >= this.options.l0CompactionTrigger) {
      return this.job(version, 'l0', 0, l0, l0.length / this.options.l0CompactionTrigger);
    }
    let best: LevelScore | null = null;
    for (const entry of this.scores(version)) {
      if (entry.level === 0 || entry.score < 1) continue;
      if (best === null || entry.score > best.score) best = entry;
    }
    if (best === null) return null;
    const tables = version.tables(best.level);
    const pointer = this.pointers[best.level];
    let chosen = tables[0]!;
    if (pointer !== undefined) {
      const after = tables.find((table) => compareInternalKeys(table.largest, pointer) > 0);
      if (after !== undefined) chosen = after;
    }
    const job = this.job(version, 'size', best.level, [chosen], best.score);
    this.pointers[best.level] = job.inputs[job.inputs.length - 1]!.largest.slice();
    return job;
  }

  /**
   * The next manual job for the user-key range [start, end] (either bound may be omitted), at the
   * first level ≥ `fromLevel` holding tables that meet the range, or null when no level from
   * `fromLevel` on needs one. Data is pushed down to the deepest level below L0 holding data in the
   * range (at least L1); tables already there stay. A caller compacts the range fully with:
   *
   *     for (let job = planner.compactRange(v, s, e); job; job = planner.compactRange(v, s, e, job.level + 1)) {
   *       v = await install(await runCompaction(job, env));
   *     }
   */
  compactRange(version: Version, start?: Uint8Array, end?: Uint8Array, fromLevel = 0): CompactionJob | null {
    if (start !== undefined && !(start instanceof Uint8Array)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'start must be a Uint8Array');
    if (end !== undefined && !(end instanceof Uint8Array)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'end must be a Uint8Array');
    if (!Number.isSafeInteger(fromLevel) || fromLevel < 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'fromLevel must be a non-negative integer');
    if (start !== undefined && end !== undefined && compareUserKeys(start, end) > 0) return null;
    const maxLevels = this.options.maxLevels;
    let deepest = -1;
    for (let level = 0; level < maxLevels; level++) {
      if (version.overlapping(level, start, end).length > 0) deepest = level;
    }
    if (deepest < 0) return null;
    const last = Math.max(deepest, 1);
    for (let level = fromLevel; level < last; level++) {
      const tables = version.overlapping(level, start, end);
      if (tables.length > 0) return this.job(version, 'manual', level, tables, 0);
    }
    return null;
  }

  private job(version: Version, reason: CompactionReason, level: number, picked: readonly TableMeta[], score: number): CompactionJob {
    const inputs = expandToWholeUserKeys(version, level, picked);
    const outputLevel = level + 1;
    const [inStart, inEnd] = userRange(inputs);
    const nextInputs = version.overlapping(outputLevel, inStart, inEnd);
    const [smallest, largest] = userRange(nextInputs.length > 0 ? [...inputs, ...nextInputs] : inputs);
    return Object.freeze({
      reason,
      level,
      outputLevel,
      inputs: Object.freeze(inputs),
      nextInputs: Object.freeze(nextInputs),
      smallestUserKey: smallest.slice(),
      largestUserKey: largest.slice(),
      trivialMove: reason !== 'manual' && inputs.length === 1 && nextInputs.length === 0,
      targetFileBytes: this.options.targetFileBytes,
      score,
    });
  }
}

/**
 * A predicate for the executor's `isBottommost`: whether no level below `outputLevel` holds a table
 * whose user-key range contains the key, so a tombstone written to `outputLevel` shadows nothing.
 * Calls are cheapest in ascending key order (one cursor per level moves forward); any order works.
 */
export function bottommostChecker(version: Version, outputLevel: number, maxLevels = 7): (userKey: Uint8Array) => boolean {
  const levels: (readonly TableMeta[])[] = [];
  for (let level = outputLevel + 1; level < Math.min(maxLevels, 7); level++) {
    const tables = version.tables(level);
    if (tables.length > 0) levels.push(tables);
  }
  const cursors = new Array<number>(levels.length).fill(0);
  let previous: Uint8Array | undefined;
  return (userKey) => {
    if (previous !== undefined && compareUserKeys(userKey, previous) < 0) cursors.fill(0);
    previous = userKey;
    for (let l = 0; l < levels.length; l++) {
      const tables = levels[l]!;
      let c = cursors[l]!;
      while (c < tables.length && compareUserPartToKey(tables[c]!.largest, userKey) < 0) c++;
      cursors[l] = c;
      if (c < tables.length && compareUserPartToKey(tables[c]!.smallest, userKey) <= 0) return false;
    }
    return true;
  };
}
