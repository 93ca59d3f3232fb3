/**
 * Background compaction of a writable database (docs/ENGINE.md, "Compaction").
 *
 * - One job at a time. Background jobs and manual `compactRange` runs go through one exclusive
 *   lane, so the planner never sees two jobs in flight (it does not track busy tables).
 * - After every flush (the database's flush listener calls `maybeSchedule`) and after every
 *   compaction, the planner is asked for the next job; the loop ends when nothing is due.
 * - A job pins the version it was planned from until its edit is installed, so its input tables
 *   stay open and on disk while they are read; once no version lists them the database's
 *   obsolete-file path closes and unlinks them.
 * - A failed job installs nothing: its finished outputs are removed (unless the manifest is
 *   poisoned — then whether the edit reached the disk is unknown, and the next open removes the
 *   tables no version lists). The error is recorded and the job retried after a backoff that
 *   doubles per consecutive failure.
 * - `close()` aborts the running job through its `AbortSignal` and waits for it to unwind.
 * - Write stalls: `writeStall()` is the planner's verdict on the current version; `awaitStall()`
 *   waits while writes must stop, making sure a compaction is running.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Accelerator } from '@siltdb/bindings';
import { bottommostChecker, CompactionPlanner, runCompaction, type CompactionJob, type CompactionResult, type ResolvedCompactionOptions, type WriteStall } from '../compaction/index.js';
import type { Version, VersionEdit } from '../manifest/index.js';
import { TableBuilder } from '../table/index.js';
import type { Vfs } from '../vfs/types.js';
import { tablePath } from './files.js';
import type { TableSet } from './table-set.js';

/** What the scheduler needs from the database. */
export interface CompactionHost {
  readonly location: string;
  readonly vfs: Vfs;
  readonly accelerator: Accelerator;
  readonly blockSize: number;
  readonly tables: TableSet;
  currentVersion(): Version;
  newFileNumber(): number;
  snapshotSeqs(): number[];
  installEdit(edit: VersionEdit): Promise<Version>;
  /** Whether the manifest stopped accepting edits after a failed write. */
  manifestPoisoned(): boolean;
}

export interface CompactionSchedulerOptions {
  readonly compaction: ResolvedCompactionOptions;
  /** No background jobs (and no write stalls); `compactRange` still works. */
  readonly disableAutoCompaction: boolean;
  /** First retry delay after a failure, doubled per consecutive failure up to `maxRetryMs`. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

export interface CompactionCounters {
  /** Jobs installed (rewrites and trivial moves). */
  readonly compactions: number;
  readonly trivialMoves: number;
  readonly manualCompactions: number;
  readonly failures: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly entriesRead: number;
  readonly entriesWritten: number;
  readonly droppedShadowed: number;
  readonly droppedTombstones: number;
  /** Whether a job is running now. */
  readonly running: boolean;
  /** A retry is waiting for its backoff to pass. */
  readonly retryPending: boolean;
  /** The message of the last failed job, or null (cleared by the next success). */
  readonly lastError: string | null;
}

export interface StallCounters {
  /** Writes delayed because L0 reached `l0SlowdownTrigger`. */
  readonly slowdowns: number;
  /** Writes held because L0 reached `l0StopTrigger`. */
  readonly stops: number;
  /** Total time writes spent stalled. */
  readonly stallMs: number;
}

const SLOWDOWN_MS = 1;

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError';
}

function message(error: unknown): string {
  return String((error as Error | null)?.message ?? error);
}

export class CompactionScheduler {
  readonly planner: CompactionPlanner;
  private readonly disabled: boolean;
  private readonly retryMs: number;
  private readonly maxRetryMs: number;
  private readonly abort = new AbortController();
  private started = false;
  private closedFlag = false;
  private closing: Promise<void> | null = null;
  /** The exclusive lane: the tail of everything queued on it. */
  private lane: Promise<void> = Promise.resolve();
  /** The background loop, while it is queued or running. */
  private loop: Promise<void> | null = null;
  /** Someone asked for a pick since the loop last picked. */
  private wanted = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private consecutiveFailures = 0;
  private runningJobs = 0;
  private waiters: (() => void)[] = [];
  private stallVersion: Version | null = null;
  private stallState: WriteStall = 'none';
  private readonly counts = {
    compactions: 0,
    trivialMoves: 0,
    manualCompactions: 0,
    failures: 0,
    bytesRead: 0,
    bytesWritten: 0,
    entriesRead: 0,
    entriesWritten: 0,
    droppedShadowed: 0,
    droppedTombstones: 0,
  };
  private lastError: string | null = null;
  private readonly stalls = { slowdowns: 0, stops: 0, stallMs: 0 };

  constructor(
    private readonly host: CompactionHost,
    options: CompactionSchedulerOptions,
  ) {
    this.planner = new CompactionPlanner(options.compaction);
    this.disabled = options.disableAutoCompaction;
    this.retryMs = options.retryMs ?? 100;
    this.maxRetryMs = options.maxRetryMs ?? 10_000;
  }

  /** Begin background work (the database is fully open): compact whatever is already due. */
  start(): void {
    this.started = true;
    this.maybeSchedule();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Start the background loop unless it runs, is disabled, closed, or waits out a retry backoff. */
  maybeSchedule(): void {
    this.wanted = true;
    if (!this.started || this.closedFlag || this.disabled || this.loop !== null || this.retryTimer !== null) return;
    const loop = this.exclusive(() => this.backgroundLoop());
    this.loop = loop;
    void loop.finally(() => {
      if (this.loop === loop) this.loop = null;
      if (this.wanted) this.maybeSchedule();
    });
  }

  private async backgroundLoop(): Promise<void> {
    while (!this.closedFlag) {
      this.wanted = false;
      const version = this.host.currentVersion().ref();
      try {
        const job = this.planner.pick(version);
        if (job === null) return;
        await this.runJob(job, version);
        this.consecutiveFailures = 0;
      } catch (error) {
        if (this.closedFlag && isAbort(error)) return;
        this.failed(error);
        this.scheduleRetry();
        return;
      } finally {
        version.unref();
      }
    }
  }

  private failed(error: unknown): void {
    this.counts.failures++;
    this.consecutiveFailures++;
    this.lastError = message(error);
    this.notify();
  }

  private scheduleRetry(): void {
    if (this.closedFlag || this.retryTimer !== null) return;
    const delay = Math.min(this.maxRetryMs, this.retryMs * 2 ** Math.max(0, this.consecutiveFailures - 1));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.maybeSchedule();
      this.notify();
    }, delay);
    this.retryTimer.unref();
  }

  /**
   * Manual compaction of the user-key range [start, end] (either may be omitted): the planner's
   * `compactRange` jobs level by level until none is left. Runs in the exclusive lane, so it waits
   * for a running background job and no background job starts in between.
   */
  compactRange(start?: Uint8Array, end?: Uint8Array): Promise<void> {
    return this.exclusive(async () => {
      let fromLevel = 0;
      for (;;) {
        this.throwIfClosed();
        const version = this.host.currentVersion().ref();
        try {
          const job = this.planner.compactRange(version, start, end, fromLevel);
          if (job === null) break;
          await this.runJob(job, version);
          this.counts.manualCompactions++;
          fromLevel = job.level + 1;
        } catch (error) {
          if (!isAbort(error)) {
            this.failed(error);
          }
          throw error;
        } finally {
          version.unref();
        }
      }
      this.consecutiveFailures = 0;
    }).finally(() => this.maybeSchedule());
  }

  private throwIfClosed(): void {
    if (this.abort.signal.aborted) {
      const error = new DOMException('compaction aborted', 'AbortError');
      Object.defineProperty(error, 'cause', { value: this.abort.signal.reason, configurable: true, writable: true });
      throw error;
    }
  }

  /** Run `job` (planned from the pinned `version`) and install its edit, or install nothing. */
  private async runJob(job: CompactionJob, version: Version): Promise<void> {
    const host = this.host;
    const signal = this.abort.signal;
    this.runningJobs++;
    let result: CompactionResult | null = null;
    try {
      result = await runCompaction(job, {
        openReader: (meta) => host.tables.get(meta.fileNumber),
        // Readers are shared with reads and iterators: the obsolete-file path closes them.
        releaseReader: () => {},
        newTableBuilder: () => {
          const fileNumber = host.newFileNumber();
          return TableBuilder.create({
            vfs: host.vfs,
            path: tablePath(host.location, fileNumber),
            fileNumber,
            blockSize: host.blockSize,
            accelerator: host.accelerator,
          });
        },
        vfs: host.vfs,
        snapshots: host.snapshotSeqs(),
        isBottommost: bottommostChecker(version, job.outputLevel, this.planner.options.maxLevels),
        accelerator: host.accelerator,
        signal,
      });
      this.throwIfClosed();
      await host.installEdit(result.edit);
    } catch (error) {
      if (result !== null && !host.manifestPoisoned()) {
        for (const built of result.outputs) await host.vfs.unlink(built.path).catch(() => {});
      }
      throw error;
    } finally {
      this.runningJobs--;
    }
    const stats = result.stats;
    this.counts.compactions++;
    if (result.outputs.length === 0 && job.trivialMove) {
      this.counts.trivialMoves++;
    } else {
      this.counts.bytesRead += stats.inputBytes;
      this.counts.bytesWritten += stats.outputBytes;
      this.counts.entriesRead += stats.inputEntries;
      this.counts.entriesWritten += stats.outputEntries;
      this.counts.droppedShadowed += stats.droppedShadowed;
      this.counts.droppedTombstones += stats.droppedTombstones;
    }
    this.lastError = null;
    this.notify();
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.then(fn);
    this.lane = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  /** Resolve every `nextEvent` waiter: a job finished or failed, a retry is due, or close. */
  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private nextEvent(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  // ---------------------------------------------------------------- write stalls

  /** The planner's write stall verdict for the current version (always `none` without auto compaction). */
  writeStall(): WriteStall {
    if (this.disabled || this.closedFlag) return 'none';
    const version = this.host.currentVersion();
    if (version !== this.stallVersion) {
      this.stallVersion = version;
      this.stallState = this.planner.writeStall(version);
    }
    return this.stallState;
  }

  /**
   * Hold a write while L0 is backed up: a short delay at `slowdown`; at `stop`, until compaction
   * brings L0 below the stop trigger (or the scheduler closes).
   */
  async awaitStall(): Promise<void> {
    let stall = this.writeStall();
    if (stall === 'none') return;
    const started = performance.now();
    if (stall === 'stop') {
      this.stalls.stops++;
      while (stall === 'stop') {
        this.maybeSchedule();
        await this.nextEvent();
        stall = this.writeStall();
      }
    } else {
      this.stalls.slowdowns++;
      this.maybeSchedule();
      await sleep(SLOWDOWN_MS);
    }
    this.stalls.stallMs += performance.now() - started;
  }

  // ---------------------------------------------------------------- stats, close

  stats(): CompactionCounters {
    return {
      ...this.counts,
      running: this.runningJobs > 0,
      retryPending: this.retryTimer !== null,
      lastError: this.lastError,
    };
  }

  stallStats(): StallCounters {
    return { ...this.stalls };
  }

  /** Abort the running job, wait for it to unwind, and start nothing more. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closedFlag = true;
      if (this.retryTimer !== null) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
      }
      this.abort.abort(new Error('the database is closing'));
      this.notify();
      await this.lane;
      this.notify();
    })();
    return this.closing;
  }
}
