/**
 * The options of `open` (docs/ENGINE.md), their defaults and their validation. Bad options are
 * `INVALID_ARGUMENT` before any file is touched.
 */
import { accel, type Accelerator } from '@siltdb/bindings';
import { ErrorCodes, siltError } from '../errors.js';
import { DEFAULT_BLOCK_SIZE } from '../table/index.js';
import { nodeVfs } from '../vfs/node-vfs.js';
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
  };
}
