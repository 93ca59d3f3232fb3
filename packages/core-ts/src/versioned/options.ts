/** The options of `openCommitStore`, their defaults and their validation (`INVALID_ARGUMENT`). */
import { accel, type Accelerator } from '@siltdb/bindings';
import type { OpenOptions as EngineOpenOptions } from '../db/options.js';
import { ErrorCodes, siltError } from '../errors.js';
import { nodeVfs } from '../vfs/node-vfs.js';
import type { Vfs } from '../vfs/types.js';
import type { LongOperationOptions, ReplayProgress } from './base-snapshot.js';

export interface CommitStoreOptions {
  /** Take a snapshot at every version divisible by this. 0 disables automatic snapshots. Default 10000. */
  readonly snapshotInterval?: number;
  /** Snapshots kept below `current`. Default 2. */
  readonly snapshotKeepRecent?: number;
  /**
   * `true`: a commit resolves once its changelog record is fsynced (durable across power loss).
   * `false`: written to the OS only — survives a crash of the process, not of the machine. Default true.
   */
  readonly fsync?: boolean;
  /** The file system. Default: the real one. It must support symlinks (NodeVfs and FaultVfs do). */
  readonly vfs?: Vfs;
  /** The accelerator (LtHash, and the engine's blocks). Default: the process-wide `accel`. */
  readonly accelerator?: Accelerator;
  /** Engine: memtable size before a flush to L0. Default 64 MiB. */
  readonly memtableBytes?: number;
  /** Engine: block cache budget. Default 64 MiB. */
  readonly blockCacheBytes?: number;
  /** Engine: no background compaction (tests, bulk loads). Default false. */
  readonly disableAutoCompaction?: boolean;
  /** Abort the open (its catch-up replay): it rejects with an `AbortError`; the next open resumes. */
  readonly signal?: AbortSignal;
  /** Progress of the catch-up replay. */
  onProgress?(progress: ReplayProgress): void;
}

export interface ResolvedStoreOptions {
  readonly snapshotInterval: number;
  readonly snapshotKeepRecent: number;
  readonly fsync: boolean;
  readonly vfs: Vfs;
  readonly accelerator: Accelerator;
  readonly engine: EngineOpenOptions;
  readonly open: LongOperationOptions;
}

const KNOWN = new Set([
  'snapshotInterval',
  'snapshotKeepRecent',
  'fsync',
  'vfs',
  'accelerator',
  'memtableBytes',
  'blockCacheBytes',
  'disableAutoCompaction',
  'signal',
  'onProgress',
]);

/** `{ signal, onProgress }` of a long operation, checked. */
export function longOperationOptions(value: unknown, what: string): LongOperationOptions {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object') throw invalid(`${what} must be an object`);
  const { signal, onProgress } = value as { signal?: unknown; onProgress?: unknown };
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalid(`${what}.signal must be an AbortSignal`);
  if (onProgress !== undefined && typeof onProgress !== 'function') throw invalid(`${what}.onProgress must be a function`);
  return {
    ...(signal === undefined ? {} : { signal }),
    ...(onProgress === undefined ? {} : { onProgress: onProgress as LongOperationOptions['onProgress'] }),
  } as LongOperationOptions;
}

function invalid(message: string): Error {
  return siltError(ErrorCodes.INVALID_ARGUMENT, message);
}

function integer(value: unknown, name: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(`options.${name} must be an integer in [0, ${max}], got ${String(value)}`);
  }
  return value;
}

export function resolveStoreOptions(options: unknown): ResolvedStoreOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw invalid('options must be an object');
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KNOWN.has(key) && o[key] !== undefined) throw invalid(`unknown option ${JSON.stringify(key)}`);
  if (o.fsync !== undefined && typeof o.fsync !== 'boolean') throw invalid('options.fsync must be a boolean');
  const vfs = (o.vfs ?? nodeVfs) as Vfs;
  if (vfs === null || typeof vfs !== 'object' || typeof vfs.open !== 'function') throw invalid('options.vfs is not a Vfs');
  if (typeof vfs.symlink !== 'function' || typeof vfs.readlink !== 'function') throw invalid('options.vfs must support symlink and readlink');
  const accelerator = (o.accelerator ?? accel) as Accelerator;
  if (accelerator === null || typeof accelerator !== 'object' || typeof accelerator.ltHashMix !== 'function') {
    throw invalid('options.accelerator is not an Accelerator');
  }
  const engine: Record<string, unknown> = { vfs, accelerator, durability: 'none' };
  for (const name of ['memtableBytes', 'blockCacheBytes', 'disableAutoCompaction']) if (o[name] !== undefined) engine[name] = o[name];
  return {
    snapshotInterval: integer(o.snapshotInterval, 'snapshotInterval', 10_000, Number.MAX_SAFE_INTEGER),
    snapshotKeepRecent: integer(o.snapshotKeepRecent, 'snapshotKeepRecent', 2, 1_000_000),
    fsync: o.fsync !== false,
    vfs,
    accelerator,
    engine: engine as EngineOpenOptions,
    open: longOperationOptions({ signal: o.signal, onProgress: o.onProgress }, 'options'),
  };
}
