/**
 * The options of a log, their defaults, and their validation (`INVALID_ARGUMENT` for anything
 * malformed, before any file is touched).
 */
import { ErrorCodes, siltError } from '../errors.js';
import { nodeVfs } from '../vfs/node-vfs.js';
import type { Vfs } from '../vfs/types.js';
import type { Durability } from './log-writer.js';

export interface IndexedLogOptions {
  /** The file system; default: the real one. Tests pass a `FaultVfs`. */
  readonly vfs?: Vfs;
  /**
   * When an append is acknowledged (default `'sync'`):
   * - `'sync'`: after an fdatasync of that append alone;
   * - `'group'`: after an fdatasync shared with the appends that arrived meanwhile (group commit);
   * - `'none'`: once written to the OS, with no fsync (lost if the machine, not the process, dies).
   */
  readonly durability?: Durability;
  /**
   * Group commit: how long the first append of a batch waits for company before the batch is
   * written and synced, in milliseconds. Default 0: a batch closes at the end of the current turn
   * of the event loop, or when the previous batch's fsync returns.
   */
  readonly groupWindowMs?: number;
  /** A segment is closed and a new one started when an append would take it past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** The most bytes handed to the OS in one write call. Default 1 MiB. */
  readonly maxBatchBytes?: number;
  /** The largest encoded entry accepted. Default 64 MiB. */
  readonly maxEntryBytes?: number;
  /**
   * `'none'` durability only: start an fdatasync of the segment in the background (never waited
   * for by appends) every this many bytes written, so that the disk keeps up with the page cache
   * and a later `sync()` or close has less to flush. Default 0: never. Ignored by the other modes,
   * which sync every batch anyway.
   */
  readonly bytesPerSync?: number;
}

export interface ResolvedLogOptions {
  readonly vfs: Vfs;
  readonly durability: Durability;
  readonly groupWindowMs: number;
  readonly segmentBytes: number;
  readonly maxBatchBytes: number;
  readonly maxEntryBytes: number;
  readonly bytesPerSync: number;
}

const MIB = 1024 * 1024;
/** Record offsets are u32, so a segment (one oversized record included) must stay below 4 GiB. */
const MAX_SEGMENT_BYTES = 1024 * MIB;
const MAX_ENTRY_BYTES = 1024 * MIB;
const MAX_BYTES_PER_SYNC = 1024 * 1024 * MIB;

export function resolveLogOptions(options: IndexedLogOptions | undefined): ResolvedLogOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw invalid(`options must be an object`);
  const durability = options.durability ?? 'sync';
  if (durability !== 'sync' && durability !== 'group' && durability !== 'none') {
    throw invalid(`options.durability must be "sync", "group" or "none", got ${JSON.stringify(durability)}`);
  }
  const vfs = options.vfs ?? nodeVfs;
  if (typeof vfs !== 'object' || vfs === null || typeof vfs.open !== 'function') throw invalid('options.vfs is not a Vfs');
  return {
    vfs,
    durability,
    groupWindowMs: integerOption(options.groupWindowMs, 'groupWindowMs', 0, 0, 10_000),
    segmentBytes: integerOption(options.segmentBytes, 'segmentBytes', 64 * MIB, 64, MAX_SEGMENT_BYTES),
    maxBatchBytes: integerOption(options.maxBatchBytes, 'maxBatchBytes', MIB, 1, 256 * MIB),
    maxEntryBytes: integerOption(options.maxEntryBytes, 'maxEntryBytes', 64 * MIB, 0, MAX_ENTRY_BYTES),
    bytesPerSync: integerOption(options.bytesPerSync, 'bytesPerSync', 0, 0, MAX_BYTES_PER_SYNC),
  };
}

function integerOption(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`options.${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function invalid(message: string) {
  return siltError(ErrorCodes.INVALID_ARGUMENT, message);
}
