/**
 * The write-ahead log (docs/ENGINE.md, "Write path and WAL"): one `IndexedLog` entry per write
 * batch (FORMAT §6), appended before the batch reaches the memtable and replayed on open.
 *
 * Durability, mapped onto the IndexedLog's modes:
 * - `sync` → `group`: an append resolves after an fdatasync that covers it, shared with the appends
 *   made meanwhile (group commit);
 * - `relaxed` → `none` plus `sync()` every `relaxedSyncMs` (when anything was appended since the
 *   last one), on demand, on `append(batch, { sync: true })`, and on `close()`;
 * - the database's `none` mode keeps no WAL at all, so it is not a mode of this class.
 *
 * `append` checks and encodes the batch synchronously: a bad batch throws `INVALID_ARGUMENT` at the
 * call and nothing is appended. Failures after that (`IO_ERROR`, then `POISONED`) come from the
 * IndexedLog, which refuses further writes until reopened.
 */
import { ErrorCodes, siltError } from '../errors.js';
import { bytesCodec } from '../log/codec.js';
import { IndexedLog } from '../log/indexed-log.js';
import type { Vfs } from '../vfs/types.js';
import { decodeWriteBatch, encodeWriteBatch, lastSeqOf, type WriteBatch } from './write-batch.js';

export type WalDurability = 'sync' | 'relaxed';

export interface WriteAheadLogOptions {
  /** The file system; default: the real one. */
  readonly vfs?: Vfs;
  readonly durability: WalDurability;
  /** `relaxed`: the period of the background sync in milliseconds (1..3_600_000, default 1000). */
  readonly relaxedSyncMs?: number;
  /** Passed to the IndexedLog: segment size (default 64 MiB). */
  readonly segmentBytes?: number;
  /** Passed to the IndexedLog: how long a group commit waits for company (default 0). */
  readonly groupWindowMs?: number;
}

export interface AppendOptions {
  /** `relaxed` mode: resolve only once this batch (and everything before it) is synced. */
  readonly sync?: boolean;
}

/**
 * Receives each batch in order. Returning `false` refuses the batch (its separated values never
 * became durable, say): replay stops there, and that batch and every later one are removed from
 * the log, so the recovered state is a prefix and new appends do not follow a hole.
 */
export type ReplayCallback = (batch: WriteBatch, index: number) => void | boolean | Promise<void | boolean>;

export interface ReplayResult {
  /** Batches passed to the callback. */
  readonly batches: number;
  /** The seq of the last op replayed, 0 when none was. */
  readonly lastSeq: number;
  /** The index after the last batch replayed (where the next append goes). */
  readonly nextIndex: number;
  /** Batches removed because the callback refused the first of them. */
  readonly dropped: number;
}

const DEFAULT_RELAXED_SYNC_MS = 1000;
/** The IndexedLog's default segment size (log/options.ts). */
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** The IndexedLog's per-entry record header (FORMAT §4): length, ~length, CRC32C. */
const RECORD_OVERHEAD_BYTES = 12;
/** Entries read per step of a replay: bounded memory however long the log. */
const REPLAY_CHUNK = 256;

function invalid(message: string) {
  return siltError(ErrorCodes.INVALID_ARGUMENT, message);
}

export class WriteAheadLog {
  private readonly timer: NodeJS.Timeout | null;
  /** Appends made since the last sync started (relaxed mode). */
  private unsynced = false;
  /** A background sync in progress, so the timer never stacks a second one behind it. */
  private backgroundSync: Promise<void> | null = null;
  private failure: unknown = null;
  private durableBefore: number;
  private closing: Promise<void> | null = null;
  /** Log bytes appended since the last truncation `release` made (or since open). */
  private bytesSinceTruncation = 0;

  private constructor(
    private readonly log: IndexedLog<Uint8Array>,
    readonly durability: WalDurability,
    relaxedSyncMs: number,
    private readonly segmentBytes: number,
  ) {
    // Whatever survived until open is on disk as far as anyone can tell: a reopened log is read
    // back from its files.
    this.durableBefore = log.nextIndex;
    if (durability === 'relaxed') {
      this.timer = setInterval(() => this.syncInBackground(), relaxedSyncMs);
      // The timer alone must not keep a process alive; `close()` syncs what is left.
      this.timer.unref();
    } else {
      this.timer = null;
    }
  }

  /** Open (creating if missing) the WAL in `dir`. A torn tail left by a crash is cut (FORMAT §4). */
  static async open(dir: string, options: WriteAheadLogOptions): Promise<WriteAheadLog> {
    if (options === null || typeof options !== 'object') throw invalid('options must be an object');
    const { durability } = options;
    if (durability === ('none' as unknown)) {
      throw invalid(`durability "none" keeps no WAL: the database skips the WAL instead of opening one`);
    }
    if (durability !== 'sync' && durability !== 'relaxed') throw invalid(`durability must be "sync" or "relaxed", got ${JSON.stringify(durability)}`);
    const relaxedSyncMs = options.relaxedSyncMs ?? DEFAULT_RELAXED_SYNC_MS;
    if (typeof relaxedSyncMs !== 'number' || !Number.isInteger(relaxedSyncMs) || relaxedSyncMs < 1 || relaxedSyncMs > 3_600_000) {
      throw invalid(`relaxedSyncMs must be an integer in [1, 3600000], got ${String(relaxedSyncMs)}`);
    }
    const log = await IndexedLog.open(dir, bytesCodec, {
      ...(options.vfs === undefined ? {} : { vfs: options.vfs }),
      durability: durability === 'sync' ? 'group' : 'none',
      ...(options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes }),
      ...(options.groupWindowMs === undefined ? {} : { groupWindowMs: options.groupWindowMs }),
    });
    return new WriteAheadLog(log, durability, relaxedSyncMs, options.segmentBytes ?? DEFAULT_SEGMENT_BYTES);
  }

  get dir(): string {
    return this.log.dir;
  }

  /** The index of the oldest batch kept. */
  get firstIndex(): number {
    return this.log.firstIndex;
  }

  /** The index the next append gets. */
  get nextIndex(): number {
    return this.log.nextIndex;
  }

  /** Every batch below this index is known durable (synced, or found on disk at open). */
  get durableIndex(): number {
    return this.durableBefore;
  }

  get closed(): boolean {
    return this.closing !== null;
  }

  get poisoned(): boolean {
    return this.log.poisoned;
  }

  /** The error of a failed background sync (relaxed mode), if one failed. */
  get backgroundError(): unknown {
    return this.failure;
  }

  /**
   * Append a batch; resolves with its index once it is as durable as the mode promises (`sync`:
   * fdatasynced; `relaxed`: written to the OS, or synced with `{ sync: true }`). A bad batch throws
   * `INVALID_ARGUMENT` synchronously and appends nothing.
   */
  append(batch: WriteBatch, options?: AppendOptions): Promise<number> {
    const bytes = encodeWriteBatch(batch);
    if (options !== undefined && (options === null || typeof options !== 'object')) throw invalid('append options must be an object');
    if (this.closing !== null) return Promise.reject(siltError(ErrorCodes.CLOSED, `the WAL in ${this.dir} is closed`));
    const appended = this.log.append(bytes);
    this.bytesSinceTruncation += bytes.length + RECORD_OVERHEAD_BYTES;
    if (this.durability === 'sync') {
      return appended.then((index) => {
        this.markDurable(index + 1);
        return index;
      });
    }
    this.unsynced = true;
    if (options?.sync === true) return appended.then(async (index) => (await this.sync(), index));
    return appended;
  }

  /**
   * Make every batch appended so far durable. In `sync` mode they already are once acknowledged;
   * the call still waits for the ones in flight.
   */
  async sync(): Promise<void> {
    const before = this.log.nextIndex;
    this.unsynced = false;
    await this.log.sync();
    this.markDurable(before);
  }

  /**
   * Pass every batch from `fromIndex` on to `onBatch`, in order (awaiting it when it returns a
   * promise). `fromIndex` is the manifest's `walFlushedIndex`: batches before it are in tables
   * already. A batch that cannot be read or decoded, a gap before `fromIndex`'s batch, or seqs that
   * do not increase from batch to batch are `CORRUPTION`: replay never skips anything.
   */
  async replay(fromIndex: number, onBatch: ReplayCallback): Promise<ReplayResult> {
    if (typeof fromIndex !== 'number' || !Number.isSafeInteger(fromIndex) || fromIndex < 0) {
      throw invalid(`fromIndex must be a non-negative integer, got ${String(fromIndex)}`);
    }
    if (typeof onBatch !== 'function') throw invalid('onBatch must be a function');
    const { firstIndex, nextIndex } = this.log;
    if (fromIndex < firstIndex) {
      throw siltError(ErrorCodes.CORRUPTION, `WAL ${this.dir}: batches [${fromIndex}, ${firstIndex}) are needed for replay but missing`);
    }
    if (fromIndex > nextIndex) {
      // The manifest says batches up to fromIndex were flushed, so they were appended: a WAL that
      // ends before them lost acknowledged data (the flush must sync the WAL before its edit).
      throw siltError(ErrorCodes.CORRUPTION, `WAL ${this.dir} ends at ${nextIndex}, before the flushed index ${fromIndex}`);
    }
    let batches = 0;
    let lastSeq = 0;
    let replayedSeq = 0;
    for (let index = fromIndex; index < nextIndex; ) {
      const stop = Math.min(nextIndex, index + REPLAY_CHUNK);
      const entries = await this.log.read(index, stop);
      for (const bytes of entries) {
        let batch: WriteBatch;
        try {
          batch = decodeWriteBatch(bytes);
        } catch (error) {
          throw siltError(ErrorCodes.CORRUPTION, `WAL ${this.dir}, batch ${index}: ${(error as Error).message}`, error);
        }
        if (batch.ops.length > 0) {
          if (batch.firstSeq <= lastSeq) {
            throw siltError(ErrorCodes.CORRUPTION, `WAL ${this.dir}, batch ${index}: seq ${batch.firstSeq} does not follow ${lastSeq}`);
          }
          lastSeq = lastSeqOf(batch);
        }
        let accepted = onBatch(batch, index);
        if (accepted !== undefined && typeof accepted === 'object' && typeof accepted.then === 'function') accepted = await accepted;
        if (accepted === false) {
          const end = this.log.nextIndex;
          await this.log.truncateAfter(index - 1);
          return { batches, lastSeq: replayedSeq, nextIndex: index, dropped: end - index };
        }
        if (batch.ops.length > 0) replayedSeq = lastSeqOf(batch);
        batches++;
        index++;
      }
    }
    return { batches, lastSeq: replayedSeq, nextIndex, dropped: 0 };
  }

  /** Drop the batches before `index` (once they are in a table and the manifest says so). */
  truncateBefore(index: number): Promise<void> {
    return this.log.truncateBefore(index);
  }

  /**
   * The batches before `index` are in tables and the manifest says so (replay starts at or after
   * it): drop them when that frees files — when `index` is the end of the log (every batch goes,
   * the file being appended to included), or once a segment's worth of bytes was appended since
   * the last truncation (a whole segment may lie before `index`). Any other truncation would only
   * rewrite the first-index file durably — several fsyncs during which appends wait (the log runs
   * it exclusively) — for no disk space: flushes of pointer memtables come every few hundred KiB of
   * WAL. Returns whether it truncated.
   */
  async release(index: number): Promise<boolean> {
    if (index <= this.log.firstIndex) return false;
    if (index < this.log.nextIndex && this.bytesSinceTruncation < this.segmentBytes) return false;
    // Bytes appended while the truncation runs lie past `index`: they count toward the next one.
    this.bytesSinceTruncation = 0;
    await this.log.truncateBefore(index);
    return true;
  }

  /** Stop the timer, sync what is left (relaxed mode), and close the log. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.timer !== null) clearInterval(this.timer);
      try {
        if (this.backgroundSync !== null) await this.backgroundSync;
        if (this.durability === 'relaxed' && !this.log.poisoned) await this.sync();
      } finally {
        await this.log.close();
      }
    })();
    return this.closing;
  }

  private markDurable(before: number): void {
    if (before > this.durableBefore) this.durableBefore = before;
  }

  private syncInBackground(): void {
    if (!this.unsynced || this.backgroundSync !== null || this.closing !== null || this.log.poisoned) return;
    this.backgroundSync = this.sync()
      .catch((error: unknown) => {
        // The log is poisoned by the failure: later appends and syncs reject with POISONED, so the
        // error reaches callers; it is kept here for stats and diagnosis.
        this.failure = error;
      })
      .finally(() => {
        this.backgroundSync = null;
      });
  }
}
