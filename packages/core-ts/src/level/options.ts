/**
 * From abstract-level's open options to the engine's. abstract-level hands `_open` everything the
 * constructor and `open()` were given, less its own options (encodings, `passive`). The
 * classic-level names that mean an engine option become that option; classic-level tuning options
 * with no counterpart (`compression`, `maxOpenFiles`, `blockRestartInterval`, `multithreading`)
 * are dropped, so the options object a classic-level project passes works unchanged; everything
 * else goes to the engine, which rejects names it does not know (a typo fails the open instead of
 * being ignored).
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

const ALIASES: Readonly<Record<string, keyof OpenOptions>> = {
  cacheSize: 'blockCacheBytes',
  writeBufferSize: 'memtableBytes',
  maxFileSize: 'targetFileBytes',
};

const IGNORED = new Set(['compression', 'maxOpenFiles', 'blockRestartInterval', 'multithreading', 'passive']);

/**
 * Writes are not fsynced one by one unless asked (`{ sync: true }`), as in classic-level, whose
 * `sync` option defaults to false: `relaxed` writes each batch to the WAL and fsyncs it on a
 * timer, on `sync: true` and before a flush. Pass `durability: 'sync'` for an fsync per commit.
 */
export const DEFAULT_DURABILITY = 'relaxed';

export function engineOpenOptions(options: Readonly<Record<string, unknown>>): OpenOptions {
  const out: Record<string, unknown> = { durability: DEFAULT_DURABILITY };
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || IGNORED.has(name)) continue;
    const engineName = ALIASES[name];
    if (engineName === undefined) out[name] = value;
    // The engine's own name wins over the alias when both are given.
    else if (options[engineName] === undefined) out[engineName] = value;
  }
  return out as OpenOptions;
}
