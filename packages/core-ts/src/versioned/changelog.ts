/**
 * The changelog: one `IndexedLog` record per committed version, empty versions included, shared
 * by every snapshot. A log index is not a version (a log emptied by `truncateAll` keeps counting
 * its indexes), so `indexOf` maps a version to its index: a guess from the first record (versions
 * are contiguous, so `firstIndex + (version − firstVersion)`) confirmed by reading that record —
 * O(1) — and a binary search over the records' versions when the guess misses.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { IndexedLog } from '../log/indexed-log.js';
import type { Vfs } from '../vfs/types.js';
import type { ChangeSet } from './change-set.js';
import { changelogCodec, ChangelogRecord } from './changelog-codec.js';

/** Records read per step of a replay. */
const READ_CHUNK = 16;

export class Changelog {
  /** Version of the first and last record; null when unknown (recomputed on demand). */
  private first: number | null = null;
  private last: number | null = null;

  private constructor(private readonly log: IndexedLog<ChangelogRecord>) {}

  static async open(dir: string, vfs: Vfs, fsync: boolean): Promise<Changelog> {
    return new Changelog(await IndexedLog.open(dir, changelogCodec, { vfs, durability: fsync ? 'sync' : 'none' }));
  }

  get isEmpty(): boolean {
    return this.log.count === 0;
  }

  /** The version of the first record, or null for an empty log. */
  async firstVersion(): Promise<number | null> {
    if (this.isEmpty) return null;
    this.first ??= (await this.log.get(this.log.firstIndex)).version;
    return this.first;
  }

  async lastVersion(): Promise<number | null> {
    if (this.isEmpty) return null;
    this.last ??= (await this.log.get(this.log.nextIndex - 1)).version;
    return this.last;
  }

  /** The log index of `version`, or null when the log does not hold it. */
  async indexOf(version: number): Promise<number | null> {
    const first = await this.firstVersion();
    const last = await this.lastVersion();
    if (first === null || last === null || version < first || version > last) return null;
    const { firstIndex, nextIndex } = this.log;
    const guess = firstIndex + (version - first);
    if (guess < nextIndex && (await this.log.get(guess)).version === version) return guess;
    let low = firstIndex;
    let high = nextIndex - 1;
    while (low <= high) {
      const middle = Math.floor((low + high) / 2);
      const found = (await this.log.get(middle)).version;
      if (found === version) return middle;
      if (found < version) low = middle + 1;
      else high = middle - 1;
    }
    return null;
  }

  /**
   * Whether every version of [from, to] is in the log (to < from: trivially). Versions only grow
   * along the log, so both ends present and as many records between them as versions means no hole.
   */
  async covers(from: number, to: number): Promise<boolean> {
    if (to < from) return true;
    const start = await this.indexOf(from);
    const end = await this.indexOf(to);
    return start !== null && end !== null && end - start === to - from;
  }

  async append(version: number, sets: readonly ChangeSet[]): Promise<void> {
    const last = await this.lastVersion();
    if (last !== null && version !== last + 1) {
      throw siltError(ErrorCodes.CORRUPTION, `the changelog ends at version ${last}; version ${version} would leave a gap`);
    }
    const wasEmpty = this.isEmpty;
    await this.log.append(ChangelogRecord.of(version, sets));
    if (wasEmpty) this.first = version;
    this.last = version;
  }

  /**
   * The records of versions [from, to], in order. Each must carry the version expected next: a
   * hole (or a repeated version) is `CORRUPTION`, never skipped.
   */
  async *records(from: number, to: number): AsyncGenerator<ChangelogRecord> {
    if (to < from) return;
    const start = await this.indexOf(from);
    if (start === null) throw siltError(ErrorCodes.CORRUPTION, `the changelog does not hold version ${from}`);
    let expected = from;
    // A few records per read: one record may hold a whole block's worth of changes.
    for (let index = start; index < this.log.nextIndex; ) {
      const batch = await this.log.read(index, Math.min(this.log.nextIndex, index + READ_CHUNK));
      index += batch.length;
      for (const record of batch) {
        if (record.version !== expected) {
          throw siltError(ErrorCodes.CORRUPTION, `changelog hole: expected version ${expected}, found ${record.version}`);
        }
        yield record;
        if (expected === to) return;
        expected++;
      }
    }
    throw siltError(ErrorCodes.CORRUPTION, `the changelog ends before version ${to} (at ${expected - 1})`);
  }

  /** Keep versions ≤ `version` (all of them gone when it precedes the first). */
  async truncateAfterVersion(version: number): Promise<void> {
    const first = await this.firstVersion();
    if (first === null) return;
    if (version < first) return this.truncateAll();
    const index = await this.indexOf(version);
    if (index === null) {
      const last = await this.lastVersion();
      if (last !== null && version > last) return;
      throw siltError(ErrorCodes.CORRUPTION, `the changelog has no record of version ${version}`);
    }
    await this.log.truncateAfter(index);
    this.last = version;
  }

  /** Drop versions < `version` (the whole log when every record is older). */
  async truncateBeforeVersion(version: number): Promise<void> {
    const first = await this.firstVersion();
    const last = await this.lastVersion();
    if (first === null || last === null || version <= first) return;
    if (version > last) return this.truncateAll();
    const index = await this.indexOf(version);
    if (index === null) throw siltError(ErrorCodes.CORRUPTION, `the changelog has no record of version ${version}`);
    await this.log.truncateBefore(index, (record) => record.version === version);
    this.first = version;
  }

  async truncateAll(): Promise<void> {
    await this.log.truncateAll();
    this.first = this.last = null;
  }

  sync(): Promise<void> {
    return this.log.sync();
  }

  close(): Promise<void> {
    return this.log.close();
  }
}
