/**
 * From abstract-level's open options to the engine's. abstract-level hands `_open` everything the
 * constructor and `open()` were given, less its own options (encodings, `passive`), and expects an
 * implementation to ignore what it does not know (plugins and hooks pass their own options the
 * same way). So only engine options are forwarded, plus the classic-level names that mean an
 * engine option; classic-level tuning options with no counterpart (`compression`, `maxOpenFiles`,
 * `blockRestartInterval`, `multithreading`) are ignored like any other name.
 */
import type { OpenOptions } from '../db/index.js';

/** SiltLevel's options: the engine's, plus the classic-level names it understands. */
export interface SiltLevelOpenOptions extends OpenOptions {
  /** classic-level's name for `blockCacheBytes`. */
  readonly cacheSize?: number;
  /** classic-level's name for `memtableBytes`. */
  readonly writeBufferSize?: number;
  /** classic-level's name for `targetFileBytes`. */
  readonly maxFileSize?: number;
  /** classic-level tuning options with no SiltDB counterpart: accepted and ignored. */
  readonly compression?: boolean;
  readonly maxOpenFiles?: number;
  readonly blockRestartInterval?: number;
  readonly multithreading?: boolean;
}

/**
 * The engine options SiltLevel forwards: every one (an engine option added later fails to compile
 * here until it is listed).
 */
const FORWARDED = {
  createIfMissing: true,
  errorIfExists: true,
  readOnly: true,
  durability: true,
  memtableBytes: true,
  blockCacheBytes: true,
  blockSize: true,
  relaxedSyncMs: true,
  vfs: true,
  accelerator: true,
  l0CompactionTrigger: true,
  l0SlowdownTrigger: true,
  l0StopTrigger: true,
  baseLevelBytes: true,
  levelMultiplier: true,
  targetFileBytes: true,
  disableAutoCompaction: true,
  valueThreshold: true,
  valueLogSegmentBytes: true,
  valueLogLanes: true,
  valueLogDebtSoftRatio: true,
  valueLogDebtHardRatio: true,
  valueLogDebtMaxStallMs: true,
} as const satisfies Record<keyof OpenOptions, true>;
const ENGINE_OPTIONS = Object.keys(FORWARDED) as (keyof OpenOptions)[];

const ALIASES: Readonly<Record<string, keyof OpenOptions>> = {
  cacheSize: 'blockCacheBytes',
  writeBufferSize: 'memtableBytes',
  maxFileSize: 'targetFileBytes',
};

/**
 * Writes are not fsynced one by one unless asked (`{ sync: true }`), as in classic-level, whose
 * `sync` option defaults to false: `relaxed` writes each batch to the WAL and fsyncs it on a
 * timer, on `sync: true` and before a flush. Pass `durability: 'sync'` for an fsync per commit.
 */
export const DEFAULT_DURABILITY = 'relaxed';

export function engineOpenOptions(options: Readonly<Record<string, unknown>>): OpenOptions {
  const out: Record<string, unknown> = { durability: DEFAULT_DURABILITY };
  for (const [alias, name] of Object.entries(ALIASES)) {
    if (options[alias] !== undefined) out[name] = options[alias];
  }
  // The engine's own names win over the aliases.
  for (const name of ENGINE_OPTIONS) {
    if (options[name] !== undefined) out[name] = options[name];
  }
  return out as OpenOptions;
}
