/** The database: `open` and the types of its API (docs/ENGINE.md). */
export { open } from './open.js';
export { Db, type BatchOp, type CompactOptions, type DbIteratorOptions, type FlushInfo, type ReadOptions, type WriteOptions } from './db.js';
export { DbIterator, type Entry } from './iterator.js';
export { Snapshot } from './snapshot.js';
export type { Durability, OpenOptions } from './options.js';
export type { DbStats, LevelStats, MaintenanceStats, ValueLogDbStats } from './stats.js';
export type { GcResult } from '../maintenance/gc.js';
export type {
  BackoffEvent,
  MaintenanceEvent,
  MaintenanceEventMap,
  MaintenanceEventType,
  MaintenanceListener,
  PassEndEvent,
  PassStartEvent,
  SegmentDeletedEvent,
  SegmentRetiredEvent,
  SegmentRewrittenEvent,
} from '../maintenance/events.js';
export type { MaintainOptions, MaintenanceBudget, MaintenanceMode, MaintenanceProgress, MaintenanceReport } from '../maintenance/maintain.js';
export type { LedgerReport, LedgerSegmentCheck, VerifyLedgerOptions } from '../vlog/index.js';
export type { CompactionCounters, StallCounters } from './compaction-scheduler.js';
