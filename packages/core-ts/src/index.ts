/**
 * SiltDB — an embedded, versioned key-value storage engine for Node.js: `open` a database, the
 * accelerator every part of the engine runs on, and the error vocabulary they share.
 */
export {
  accel,
  acceleratorSelection,
  ErrorCodes,
  SiltError,
  isSiltError,
  type Accelerator,
  type AcceleratorKind,
  type ErrorCode,
} from '@siltdb/bindings';

/** The version of this package. */
export const VERSION = '0.1.0';

export {
  open,
  Db,
  DbIterator,
  Snapshot,
  type BatchOp,
  type CompactionCounters,
  type CompactOptions,
  type DbIteratorOptions,
  type DbStats,
  type Durability,
  type Entry,
  type FlushInfo,
  type GcResult,
  type BackoffEvent,
  type MaintenanceEvent,
  type MaintenanceEventMap,
  type MaintenanceEventType,
  type MaintenanceListener,
  type PassEndEvent,
  type PassStartEvent,
  type SegmentDeletedEvent,
  type SegmentRetiredEvent,
  type SegmentRewrittenEvent,
  type LedgerReport,
  type LedgerSegmentCheck,
  type LevelStats,
  type MaintainOptions,
  type MaintenanceBudget,
  type MaintenanceMode,
  type MaintenanceProgress,
  type MaintenanceReport,
  type MaintenanceStats,
  type ValueLogDbStats,
  type VerifyLedgerOptions,
  type OpenOptions,
  type ReadOptions,
  type StallCounters,
  type WriteOptions,
} from './db/index.js';
