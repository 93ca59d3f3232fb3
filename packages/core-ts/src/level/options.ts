/**
 * From abstract-level's open options to the engine's. abstract-level hands `_open` everything the
 * constructor and `open()` were given (its own options removed); the engine rejects names it does
 * not know, so only the engine's options are forwarded, plus the classic-level names that mean the
 * same thing. classic-level tuning options with no counterpart (`compression`, `maxOpenFiles`,
 * `blockRestartInterval`, `multithreading`) are accepted and ignored, so the same options object
 * works for both.
 */
import type { OpenOptions } from '../db/index.js';

/** SiltLevel's options: the engine's, the classic-level aliases, and what abstract-level adds. */
export interface SiltLevelOpenOptions extends OpenOptions {
  /** classic-level's name for `blockCacheBytes`. */
  readonly cacheSize?: number;
  /** classic-level's name for `memtableBytes`. */
  readonly writeBufferSize?: number;
  /** classic-level's name for `targetFileBytes`. */
  readonly maxFileSize?: number;
}

/** Every engine option, so a new one fails to compile here until it is forwarded. */
const ENGINE_OPTIONS = {
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
} as const satisfies Record<keyof OpenOptions, true>;

const ALIASES = { cacheSize: 'blockCacheBytes', writeBufferSize: 'memtableBytes', maxFileSize: 'targetFileBytes' } as const;

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
  for (const name of Object.keys(ENGINE_OPTIONS)) {
    if (options[name] !== undefined) out[name] = options[name];
  }
  return out as OpenOptions;
}
