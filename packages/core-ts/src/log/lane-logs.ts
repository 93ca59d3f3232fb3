/**
 * `LaneLogs<T>`: a set of independent `IndexedLog`s keyed by lane id, one per subdirectory
 * (`lane-<id>`), so that lanes are written in parallel without sharing a write path or an fsync.
 * A lane's log is opened (and created, if new) on first use; concurrent first uses share one open.
 * Lanes are never removed while the set is open.
 *
 * The set holds a lock on its root directory, and each lane's log holds its own.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError, type SiltError } from '../errors.js';
import type { VfsLock } from '../vfs/types.js';
import { describe, invalidArgument } from './arguments.js';
import type { Codec } from './codec.js';
import { LOCK_FILE } from './file-names.js';
import { IndexedLog } from './indexed-log.js';
import { resolveLogOptions, type IndexedLogOptions } from './options.js';

const LANE_PREFIX = 'lane-';
const LANE_ID = /^[A-Za-z0-9_-]{1,128}$/;

export class LaneLogs<T> {
  private readonly lanes = new Map<string, Promise<IndexedLog<T>>>();
  private readonly knownIds: Set<string>;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly dir: string,
    private readonly codec: Codec<T>,
    private readonly options: IndexedLogOptions,
    private readonly lock: VfsLock,
    existingIds: string[],
  ) {
    this.knownIds = new Set(existingIds);
  }

  /** Open the set in `dir` (created if missing); every option applies to each lane's log. */
  static async open<T>(dir: string, codec: Codec<T>, options: IndexedLogOptions = {}): Promise<LaneLogs<T>> {
    if (typeof dir !== 'string' || dir.length === 0) throw invalidArgument(`dir must be a non-empty string, got ${describe(dir)}`);
    const { vfs } = resolveLogOptions(options);
    await vfs.mkdir(dir, { recursive: true, durable: true });
    const lock = await vfs.lock(join(dir, LOCK_FILE));
    try {
      const ids = (await vfs.readdir(dir))
        .filter((name) => name.startsWith(LANE_PREFIX))
        .map((name) => name.slice(LANE_PREFIX.length))
        .filter((id) => LANE_ID.test(id));
      return new LaneLogs(dir, codec, { ...options, vfs }, lock, ids);
    } catch (error) {
      await lock.release().catch(() => {});
      throw error;
    }
  }

  /** Lane ids: those found on disk when the set was opened and those created since, sorted. */
  laneIds(): string[] {
    return [...this.knownIds].sort();
  }

  has(id: string): boolean {
    return this.knownIds.has(id);
  }

  /** The log of lane `id`, opened (and created) on first use. */
  lane(id: string): Promise<IndexedLog<T>> {
    if (this.closing !== null) return Promise.reject(closedError(this.dir));
    if (typeof id !== 'string' || !LANE_ID.test(id)) {
      return Promise.reject(invalidArgument(`a lane id is 1 to 128 of A-Z a-z 0-9 _ -, got ${describe(id)}`));
    }
    let opening = this.lanes.get(id);
    if (opening === undefined) {
      opening = IndexedLog.open(join(this.dir, `${LANE_PREFIX}${id}`), this.codec, this.options);
      this.lanes.set(id, opening);
      opening.then(
        () => this.knownIds.add(id),
        // A failed open is not cached: the next use tries again.
        () => this.lanes.delete(id),
      );
    }
    return opening;
  }

  /**
   * Close every open lane and release the set's lock. Every failure is reported, in one
   * `AggregateError` (code `IO_ERROR`) whose `errors` hold them all; closing twice is harmless.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const failures: unknown[] = [];
      const opened = await Promise.allSettled(this.lanes.values());
      const closes = await Promise.allSettled(
        opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value.close()] : [])),
      );
      for (const result of closes) if (result.status === 'rejected') failures.push(result.reason);
      await this.lock.release().catch((error) => failures.push(error));
      if (failures.length > 0) {
        const error = new AggregateError(failures, `closing the lanes in ${this.dir}: ${failures.length} failed`);
        throw Object.assign(error, { code: ErrorCodes.IO_ERROR });
      }
    })();
    return this.closing;
  }
}

function closedError(dir: string): SiltError {
  return siltError(ErrorCodes.CLOSED, `the lanes in ${dir} are closed`);
}
