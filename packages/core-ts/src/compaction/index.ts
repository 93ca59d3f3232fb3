/**
 * Leveled compaction (docs/ENGINE.md, "Compaction"): the planner picks a job from a `Version`, the
 * executor runs it (one accelerator merge, new tables) and returns the version edit to install.
 */
export { DEFAULT_COMPACTION_OPTIONS, resolveCompactionOptions, type CompactionOptions, type ResolvedCompactionOptions } from './options.js';
export {
  bottommostChecker,
  CompactionPlanner,
  expandToWholeUserKeys,
  writeStall,
  type CompactionJob,
  type CompactionReason,
  type LevelScore,
  type WriteStall,
} from './planner.js';
export {
  concatEntries,
  runCompaction,
  type CompactionEnv,
  type CompactionProgress,
  type CompactionResult,
  type CompactionStats,
} from './executor.js';
