/** What `db.stats()` reports. */
import type { ControllerStats } from '../maintenance/controller.js';
import type { PacingStats } from '../maintenance/pacer.js';
import type { SamplerStats } from '../maintenance/sampler.js';
import type { Ledger } from '../manifest/index.js';
import type { BlockCacheStats } from '../table/index.js';
import type { ValueLog, ValueLogStats } from '../vlog/index.js';
import type { CompactionCounters, StallCounters } from './compaction-scheduler.js';
import type { Durability } from './options.js';

export interface LevelStats {
  readonly level: number;
  readonly files: number;
  readonly bytes: number;
}

export interface DbStats {
  readonly durability: Durability;
  readonly readOnly: boolean;
  /** The seq of the newest write applied (visible to reads). */
  readonly lastSeq: number;
  readonly memtable: { readonly bytes: number; readonly entries: number };
  readonly immutableMemtables: number;
  readonly immutableBytes: number;
  readonly levels: readonly LevelStats[];
  readonly tableFiles: number;
  readonly tableBytes: number;
  readonly blockCache: BlockCacheStats;
  /** WAL indexes, or null without a WAL (`none` durability, or `readOnly`). */
  readonly wal: { readonly firstIndex: number; readonly nextIndex: number; readonly durableIndex: number } | null;
  readonly manifest: { readonly number: number; readonly edits: number; readonly bytes: number } | null;
  readonly operations: {
    readonly puts: number;
    readonly dels: number;
    readonly batches: number;
    readonly gets: number;
    readonly iterators: number;
    readonly flushes: number;
    /** Times a write waited because too many memtables were waiting for their flush. */
    readonly memtableStalls: number;
  };
  readonly openSnapshots: number;
  readonly openIterators: number;
  /** The message of the background failure that stopped writes, or null. */
  readonly backgroundError: string | null;
  /** Compactions run (background and manual), their bytes, and the last failure. */
  readonly compaction: CompactionCounters;
  /**
   * Writes delayed or held because L0 backed up, and (`valueLog`, null when pacing is off) because
   * value-log debt outran maintenance (docs/ENGINE.md "Write pacing").
   */
  readonly stalls: StallCounters & { readonly valueLog: PacingStats | null };
  /** The value log's files and the ledger's totals; null without a value log. */
  readonly valueLog: ValueLogDbStats | null;
  /** Maintenance passes (`db.maintain`) and the rewrite queue the ledger implies; null without a value log. */
  readonly maintenance: MaintenanceStats | null;
}

export interface MaintenanceStats {
  readonly runs: number;
  readonly rewrittenSegments: number;
  /** Records whose pointer a rewrite swapped (the others lost to a newer write). */
  readonly swappedRecords: number;
  readonly copiedBytes: number;
  readonly lastRunMs: number;
  readonly totalRunMs: number;
  /** Segments a `rewrite` pass would take now (stale ratio ≥ 0.5), with their bytes. */
  readonly queue: { readonly segments: number; readonly staleBytes: number; readonly liveBytes: number };
  readonly gc: { readonly passes: number; readonly deletedSegments: number; readonly reclaimedBytes: number };
  /** The background controller (null when it does not run: read-only, or auto compaction off). */
  readonly background: ControllerStats | null;
  /** Exceptions maintenance-event listeners threw (swallowed: see `db.on`). */
  readonly listenerErrors: number;
  /**
   * The staleness sampler (a planner input beside the ledger): segments with a current estimate,
   * segments sampled and records checked so far, and the milliseconds that took.
   */
  readonly sampler: SamplerStats;
}

export interface ValueLogDbStats extends ValueLogStats {
  /**
   * Ledger sums over its segments (record bytes, FORMAT §8.3). `live` is what the tables still
   * reference (total − stale, exact after any crash); `shadowed` is the part of it that points
   * into retired segments (`retiredSegments`, FORMAT §7): superseded entries no read at or above
   * the retirement follows, waiting for the compactions that drop them. `live − shadowed` is the
   * value bytes reads can still reach.
   */
  readonly ledger: {
    readonly segments: number;
    readonly total: number;
    readonly live: number;
    readonly stale: number;
    readonly retiredSegments: number;
    readonly shadowed: number;
  };
  /** Garbage collection since open: passes, segments deleted, file bytes reclaimed. */
  readonly gc: { readonly passes: number; readonly deletedSegments: number; readonly reclaimedBytes: number };
}

export function valueLogStats(
  log: ValueLog | null,
  ledger: Ledger,
  gc: { readonly passes: number; readonly deletedSegments: number; readonly reclaimedBytes: number },
): ValueLogDbStats | null {
  if (log === null) return null;
  let total = 0;
  let stale = 0;
  let retiredSegments = 0;
  let shadowed = 0;
  for (const entry of ledger.values()) {
    total += entry.total;
    stale += entry.stale;
    if (entry.retiredAt > 0) {
      retiredSegments++;
      shadowed += entry.total - entry.stale;
    }
  }
  return { ...log.stats(), ledger: { segments: ledger.size, total, live: total - stale, stale, retiredSegments, shadowed }, gc: { ...gc } };
}
