/**
 * Options of leveled compaction (docs/ENGINE.md, "Compaction"): when L0 compacts and when it stalls
 * writes, how big each level may grow, and how big output tables are.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { NUM_LEVELS } from '../manifest/table-meta.js';

export interface CompactionOptions {
  /** L0 compacts into L1 once it holds this many tables. Default 4. */
  readonly l0CompactionTrigger?: number;
  /** Writes slow down once L0 holds this many tables. Default 20. */
  readonly l0SlowdownTrigger?: number;
  /** Writes stop once L0 holds this many tables, until compaction catches up. Default 36. */
  readonly l0StopTrigger?: number;
  /** The target size of L1; level n ≥ 1 targets `baseLevelBytes × levelMultiplier^(n − 1)`. Default 64 MiB. */
  readonly baseLevelBytes?: number;
  /** Growth factor from one level's target to the next. Default 10. */
  readonly levelMultiplier?: number;
  /** Levels in use, L0 … L(maxLevels − 1); 2..7. Default 7. */
  readonly maxLevels?: number;
  /** Compaction output tables are cut once they reach this size (only between user keys). Default 64 MiB. */
  readonly targetFileBytes?: number;
}

export type ResolvedCompactionOptions = { readonly [K in keyof CompactionOptions]-?: number };

export const DEFAULT_COMPACTION_OPTIONS: ResolvedCompactionOptions = Object.freeze({
  l0CompactionTrigger: 4,
  l0SlowdownTrigger: 20,
  l0StopTrigger: 36,
  baseLevelBytes: 64 * 1024 * 1024,
  levelMultiplier: 10,
  maxLevels: NUM_LEVELS,
  targetFileBytes: 64 * 1024 * 1024,
});

function integer(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, `${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Fill in defaults and validate (`INVALID_ARGUMENT`): triggers must satisfy compaction ≤ slowdown ≤ stop. */
export function resolveCompactionOptions(options: CompactionOptions = {}): ResolvedCompactionOptions {
  if (options === null || typeof options !== 'object') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'compaction options must be an object');
  const d = DEFAULT_COMPACTION_OPTIONS;
  const big = Number.MAX_SAFE_INTEGER;
  const resolved: ResolvedCompactionOptions = Object.freeze({
    l0CompactionTrigger: integer(options.l0CompactionTrigger, 'l0CompactionTrigger', d.l0CompactionTrigger, 1, 1 << 20),
    l0SlowdownTrigger: integer(options.l0SlowdownTrigger, 'l0SlowdownTrigger', d.l0SlowdownTrigger, 1, 1 << 20),
    l0StopTrigger: integer(options.l0StopTrigger, 'l0StopTrigger', d.l0StopTrigger, 1, 1 << 20),
    baseLevelBytes: integer(options.baseLevelBytes, 'baseLevelBytes', d.baseLevelBytes, 1, big),
    levelMultiplier: integer(options.levelMultiplier, 'levelMultiplier', d.levelMultiplier, 2, 1000),
    maxLevels: integer(options.maxLevels, 'maxLevels', d.maxLevels, 2, NUM_LEVELS),
    targetFileBytes: integer(options.targetFileBytes, 'targetFileBytes', d.targetFileBytes, 1, big),
  });
  if (resolved.l0CompactionTrigger > resolved.l0SlowdownTrigger || resolved.l0SlowdownTrigger > resolved.l0StopTrigger) {
    throw siltError(
      ErrorCodes.INVALID_ARGUMENT,
      `L0 triggers must satisfy l0CompactionTrigger ≤ l0SlowdownTrigger ≤ l0StopTrigger, got ${resolved.l0CompactionTrigger}, ${resolved.l0SlowdownTrigger}, ${resolved.l0StopTrigger}`,
    );
  }
  return resolved;
}
