/**
 * The options of `open` (docs/ENGINE.md), their defaults and their validation. Bad options are
 * `INVALID_ARGUMENT` before any file is touched.
 */
import { accel, type Accelerator } from '@siltdb/bindings';
import { resolveCompactionOptions, type ResolvedCompactionOptions } from '../compaction/index.js';
import { ErrorCodes, siltError } from '../errors.js';
import { DEFAULT_BLOCK_SIZE } from '../table/index.js';
import { nodeVfs } from '../vfs/node-vfs.js';
import { DEFAULT_VALUE_THRESHOLD } from '../vlog/separation.js';
import type { Vfs } from '../vfs/types.js';

export type Durability = 'sync' | 'relaxed' | 'none';

export interface OpenOptions {
  /** Create the database when the directory holds none. Default `true`. */
  readonly createIfMissing?: boolean;
  /** Fail when a database already exists there. Default `false`. */
  readonly errorIfExists?: boolean;
  /**
   * Open without the lock, beside a writer: reads the tables the manifest lists (not the writer's
   * WAL or memtable), never replays or writes. Writes fail with `READ_ONLY`. Default `false`.
   */
  readonly readOnly?: boolean;
  /** `sync` (fsync per commit, group commit), `relaxed` (fsync on a timer and `db.sync()`), `none` (no WAL). Default `sync`. */
  readonly durability?: Durability;
  /** A memtable this large becomes immutable and is flushed to an L0 table. Default 64 MiB. */
  readonly memtableBytes?: number;
  /** Budget of the block cache shared by every table reader. Default 64 MiB. */
  readonly blockCacheBytes?: number;
  /** Data block size of new tables. Default 4096. */
  readonly blockSize?: number;
  /** `relaxed`: period of the background WAL sync in ms. Default 1000. */
  readonly relaxedSyncMs?: number;
  /** The file system. Default: the real one. */
  readonly vfs?: Vfs;
  /** The accelerator for sorting, blocks and file views. Default: the process-wide `accel`. */
  readonly accelerator?: Accelerator;
  /** L0 compacts into L1 once it holds this many tables. Default 4. */
  readonly l0CompactionTrigger?: number;
  /** Writes are delayed a little while L0 holds at least this many tables. Default 20. */
  readonly l0SlowdownTrigger?: number;
  /** Writes wait for compaction while L0 holds at least this many tables. Default 36. */
  readonly l0StopTrigger?: number;
  /** Target size of L1; level n ≥ 1 targets `baseLevelBytes × levelMultiplier^(n − 1)`. Default 64 MiB. */
  readonly baseLevelBytes?: number;
  /** Growth factor from one level's target to the next. Default 10. */
  readonly levelMultiplier?: number;
  /** Compaction output tables are cut at this size (between user keys). Default 64 MiB. */
  readonly targetFileBytes?: number;
  /**
   * No background compaction, no background value-log maintenance and no write stalls (for tests
   * and bulk loads); `db.compact()` and `db.maintain()` still work. Default `false`.
   */
  readonly disableAutoCompaction?: boolean;
  /**
   * Values of at least this many bytes go to the value log; the WAL, memtable and tables hold a
   * 23-byte pointer instead (DESIGN §3). Default 1024 (bench/results/vlog.md: the break-even of
   * write throughput; below it separation costs reads and scans more than it saves). `Infinity`
   * keeps every value inline.
   */
  readonly valueThreshold?: number;
  /** Value-log segments are sealed at about this size. Default 16 MiB (finer rewrite and GC units). */
  readonly valueLogSegmentBytes?: number;
  /** Foreground value-log lanes (each appends to its own segment). Default 1. */
  readonly valueLogLanes?: number;
  /**
   * Write pacing on value-log debt (docs/ENGINE.md "Write pacing"): once the stale value-log bytes
   * maintenance could reclaim reach this share of the live bytes, writes are slowed in proportion,
   * so background rewrites keep up. Default 0.2. `Infinity` turns pacing off.
   */
  readonly valueLogDebtSoftRatio?: number;
  /** Debt ÷ live at which writes wait for a maintenance pass to reclaim. Default 0.35; at least the soft ratio. */
  readonly valueLogDebtHardRatio?: number;
  /** The longest a write waits for pacing (ms); after it the write proceeds whatever the debt. Default 2000. */
  readonly valueLogDebtMaxStallMs?: number;
}

export interface ResolvedOptions {
  readonly createIfMissing: boolean;
  readonly errorIfExists: boolean;
  readonly readOnly: boolean;
  readonly durability: Durability;
  readonly memtableBytes: number;
  readonly blockCacheBytes: number;
  readonly blockSize: number;
  readonly relaxedSyncMs: number;
  readonly vfs: Vfs;
  readonly accelerator: Accelerator;
  readonly compaction: ResolvedCompactionOptions;
  readonly disableAutoCompaction: boolean;
  readonly valueThreshold: number;
  readonly valueLogSegmentBytes: number;
  readonly valueLogLanes: number;
  readonly valueLogPacing: { readonly softRatio: number; readonly hardRatio: number; readonly maxStallMs: number };
}

const MiB = 1024 * 1024;
const KNOWN = new Set([
  'createIfMissing',
  'errorIfExists',
  'readOnly',
  'durability',
  'memtableBytes',
  'blockCacheBytes',
  'blockSize',
  'relaxedSyncMs',
  'vfs',
  'accelerator',
  'l0CompactionTrigger',
  'l0SlowdownTrigger',
  'l0StopTrigger',
  'baseLevelBytes',
  'levelMultiplier',
  'targetFileBytes',
  'disableAutoCompaction',
  'valueThreshold',
  'valueLogSegmentBytes',
  'valueLogLanes',
  'valueLogDebtSoftRatio',
  'valueLogDebtHardRatio',
  'valueLogDebtMaxStallMs',
]);

function invalid(message: string) {
  return siltError(ErrorCodes.INVALID_ARGUMENT, message);
}

function bool(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalid(`options.${name} must be a boolean`);
  return value;
}

function int(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`options.${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** A ratio ≥ 0, or `Infinity` (off). */
function ratio(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) throw invalid(`options.${name} must be a number ≥ 0 (or Infinity), got ${String(value)}`);
  return value;
}

/**
 * Defaults: bench/results/vlog.md (churn at 1M keys, peak and final disk against wall time). At
 * 0.2 / 0.35 the disk at the end of an overwrite round sat at 1.30–1.32× live (final ÷ floor
 * 1.23–1.28 in five runs); at 0.15 / 0.3, 1.24–1.29× (final ÷ floor 1.15–1.23 over seven runs,
 * too close to the 1.25 target); at 0.1 / 0.25, 1.21× (1.146 and 1.149 in two runs alternating
 * with two at 0.15 / 0.3: 1.197, 1.185), for ~10 % more wall time (152–164 s against 141–146,
 * classic-level's ~205).
 */
const DEFAULT_DEBT_SOFT_RATIO = 0.1;
const DEFAULT_DEBT_HARD_RATIO = 0.25;

function pacingOptions(o: Record<string, unknown>): ResolvedOptions['valueLogPacing'] {
  const softRatio = ratio(o.valueLogDebtSoftRatio, 'valueLogDebtSoftRatio', DEFAULT_DEBT_SOFT_RATIO);
  // A soft line given alone above the default hard one moves the hard line with it.
  const hardRatio = ratio(o.valueLogDebtHardRatio, 'valueLogDebtHardRatio', Math.max(softRatio, DEFAULT_DEBT_HARD_RATIO));
  if (hardRatio < softRatio) throw invalid(`options.valueLogDebtHardRatio (${hardRatio}) must be at least valueLogDebtSoftRatio (${softRatio})`);
  return { softRatio, hardRatio, maxStallMs: int(o.valueLogDebtMaxStallMs, 'valueLogDebtMaxStallMs', 2000, 0, 3_600_000) };
}

export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN.has(key) && o[key] !== undefined) throw invalid(`unknown option ${JSON.stringify(key)}`);
  const durability = o.durability ?? 'sync';
  if (durability !== 'sync' && durability !== 'relaxed' && durability !== 'none') {
    throw invalid(`options.durability must be "sync", "relaxed" or "none", got ${String(durability)}`);
  }
  const vfs = (o.vfs ?? nodeVfs) as Vfs;
  if (vfs === null || typeof vfs !== 'object' || typeof vfs.open !== 'function') throw invalid('options.vfs is not a Vfs');
  const accelerator = (o.accelerator ?? accel) as Accelerator;
  if (accelerator === null || typeof accelerator !== 'object' || typeof accelerator.sortKeys !== 'function') {
    throw invalid('options.accelerator is not an Accelerator');
  }
  return {
    createIfMissing: bool(o.createIfMissing, 'createIfMissing', true),
    errorIfExists: bool(o.errorIfExists, 'errorIfExists', false),
    readOnly: bool(o.readOnly, 'readOnly', false),
    durability,
    memtableBytes: int(o.memtableBytes, 'memtableBytes', 64 * MiB, 1, 2 ** 40),
    blockCacheBytes: int(o.blockCacheBytes, 'blockCacheBytes', 64 * MiB, 0, 2 ** 46),
    blockSize: int(o.blockSize, 'blockSize', DEFAULT_BLOCK_SIZE, 64, 1 << 28),
    relaxedSyncMs: int(o.relaxedSyncMs, 'relaxedSyncMs', 1000, 1, 3_600_000),
    vfs,
    accelerator,
    compaction: compactionOptions(o),
    disableAutoCompaction: bool(o.disableAutoCompaction, 'disableAutoCompaction', false),
    valueThreshold: o.valueThreshold === Infinity ? Infinity : int(o.valueThreshold, 'valueThreshold', DEFAULT_VALUE_THRESHOLD, 1, 2 ** 32),
    valueLogSegmentBytes: int(o.valueLogSegmentBytes, 'valueLogSegmentBytes', 16 * MiB, 4096, 1024 * MiB),
    valueLogLanes: int(o.valueLogLanes, 'valueLogLanes', 1, 1, 254),
    valueLogPacing: pacingOptions(o),
  };
}

function compactionOptions(o: Record<string, unknown>): ResolvedCompactionOptions {
  const pick = (name: string): number | undefined => {
    const value = o[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'number') throw invalid(`options.${name} must be an integer, got ${String(value)}`);
    return value;
  };
  const given = {
    l0CompactionTrigger: pick('l0CompactionTrigger'),
    l0SlowdownTrigger: pick('l0SlowdownTrigger'),
    l0StopTrigger: pick('l0StopTrigger'),
    baseLevelBytes: pick('baseLevelBytes'),
    levelMultiplier: pick('levelMultiplier'),
    targetFileBytes: pick('targetFileBytes'),
  };
  // Triggers given partly: keep the defaults ordered around them (compaction ≤ slowdown ≤ stop).
  const d = resolveCompactionOptions();
  let { l0CompactionTrigger, l0SlowdownTrigger, l0StopTrigger } = given;
  if (l0CompactionTrigger !== undefined) {
    if (l0SlowdownTrigger === undefined && l0CompactionTrigger > d.l0SlowdownTrigger) l0SlowdownTrigger = l0CompactionTrigger;
  }
  const slowdown = l0SlowdownTrigger ?? d.l0SlowdownTrigger;
  if (l0StopTrigger === undefined && Number.isInteger(slowdown) && slowdown > d.l0StopTrigger) l0StopTrigger = slowdown;
  const resolved: Record<string, number> = {};
  for (const [name, value] of Object.entries({ ...given, l0SlowdownTrigger, l0StopTrigger })) if (value !== undefined) resolved[name] = value;
  try {
    return resolveCompactionOptions(resolved);
  } catch (error) {
    throw invalid(`options: ${(error as Error).message}`);
  }
}
