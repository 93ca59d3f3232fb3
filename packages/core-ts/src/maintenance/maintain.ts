/**
 * One maintenance pass (`db.maintain`, DESIGN §4): GC, then rewrites planned from the ledger and
 * run under a budget, then (unless deferred) the flush that makes the swaps durable, the
 * retirement of the rewritten segments and GC — which deletes them at once — and the compaction
 * that drops their shadowed pointers from the tables, then GC again.
 *
 * - `gc`: delete the segments nothing reaches.
 * - `rewrite`: also rewrite the best candidates (stale ratio ≥ `minStaleRatio`, default 0.5), as
 *   many as the budget allows (bytes copied, segments, milliseconds), yielding to other work between
 *   segments.
 * - `full`: first compact everything (so every shadowed pointer is dropped and the ledger's stale
 *   bytes are all there is to know), then rewrite every segment with any stale byte: the floor.
 *
 * The queue is not stored separately: it is recomputed from the ledger, which is persisted, so a
 * pass interrupted by a crash or a budget resumes from the same state after reopen.
 *
 * **Early retirement.** Once a rewrite of segment X has run, every pointer into X is shadowed for
 * reads at the seq S applied when it finished: each record was either still newest and swapped
 * (the swap's seq ≤ S), or lost the compare-and-set to a write applied before the swap, or was
 * already shadowed when the scan looked. That holds only if the scan saw every pointer into X: X
 * sealed, its frames all written, and no append into it in flight (such a write could land after
 * the scan with a pointer into X that nothing shadows) — otherwise X is left to compaction as
 * before. The shadowing entries must survive a crash before X may go: the swaps have no WAL
 * record, and in `relaxed`/`none` durability neither need the writes. So X is remembered with S
 * (`pendingRetire`, in memory) until a flush has put every entry up to S into tables; the next GC
 * pass then logs X retired at S (FORMAT §7) and deletes its file once no reader reads below S. A
 * crash before the retire edit forgets X: its old pointers are still valid, and a later rewrite
 * or compaction retires it.
 */
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { ErrorCodes, siltError } from '../errors.js';
import type { Ledger } from '../manifest/index.js';
import type { GcResult } from './gc.js';
import { planRewrites, type RewriteCandidate } from './planner.js';
import { compareKeys, copyAndSwap, type RewriteHost, type RewriteResult, type RewriteStep } from './rewrite.js';

/** Where a crash test may stop a pass: the rewrite's steps, the flush, the retire edit, the unlink. */
export type MaintenanceStep = RewriteStep | 'flush' | 'retire' | 'unlink';

export type MaintenanceMode = 'gc' | 'rewrite' | 'full';

export interface MaintenanceBudget {
  /** Stop starting rewrites once this many record bytes were copied. */
  readonly bytes?: number;
  /** Rewrite at most this many segments. */
  readonly segments?: number;
  /** Stop starting rewrites after this many milliseconds. */
  readonly ms?: number;
}

export interface MaintenanceProgress {
  readonly phase: 'compact' | 'gc' | 'plan' | 'rewrite' | 'done';
  readonly plannedSegments: number;
  readonly rewrittenSegments: number;
  readonly copiedBytes: number;
  readonly reclaimedBytes: number;
}

export interface MaintainOptions {
  readonly mode?: MaintenanceMode;
  readonly budget?: MaintenanceBudget;
  readonly signal?: AbortSignal;
  onProgress?(progress: MaintenanceProgress): void;
  /** `rewrite` mode: the least stale share worth a rewrite. Default 0.5. */
  readonly minStaleRatio?: number;
  /**
   * When the rewritten segments are retired and deleted (`rewrite` mode): `compact` (default)
   * flushes the swaps at the end of the pass, so its own GC retires and deletes the segments (once
   * no older reader holds them), then compacts their key range so their shadowed pointers leave the
   * tables too; `defer` neither flushes nor compacts — the segments are retired and deleted after
   * the next flush writes trigger anyway, and their pointers leave with later compactions — so a
   * pass under load costs only its copies.
   */
  readonly retire?: 'compact' | 'defer';
}

export interface MaintenanceReport {
  readonly mode: MaintenanceMode;
  readonly plannedSegments: number;
  readonly rewrites: readonly RewriteResult[];
  readonly copiedBytes: number;
  readonly deletedSegments: number;
  readonly reclaimedBytes: number;
  /** Why rewriting stopped: everything planned was done, or a budget ran out, or the signal. */
  readonly stoppedBy: 'done' | 'bytes' | 'segments' | 'ms' | 'signal';
  readonly elapsedMs: number;
}

export interface MaintenanceHost extends RewriteHost {
  ledger(): Ledger;
  /** Flush, then compact the user-key range (everything when both are undefined). */
  compact(start?: Uint8Array, end?: Uint8Array): Promise<void>;
  collectGarbage(): Promise<GcResult>;
  /**
   * Segments rewritten by a `defer` pass whose old pointers still wait for a compaction, with the
   * key range of their swapped records (kept in memory: after a crash the swap entries are lost
   * anyway, and a new rewrite copies again). Planning skips them; a `compact` pass compacts them.
   */
  readonly retiring: Map<number, readonly [Uint8Array, Uint8Array]>;
  /**
   * Rewritten segments waiting for their retire edit: segment → the seq from which every pointer
   * into it is shadowed. GC logs the edit once a flush put every entry up to that seq in tables.
   */
  readonly pendingRetire: Map<number, number>;
  /** The last seq applied to the memtable. */
  appliedSeq(): number;
  /** Flush every memtable (the swaps reach tables). */
  flush(): Promise<void>;
  /** Test hook for the steps after the rewrite's own (may throw to simulate a crash there). */
  afterMaintenanceStep?(step: MaintenanceStep): void | Promise<void>;
  /** Telemetry: one segment's rewrite (copy and swap) finished. */
  segmentRewritten?(result: RewriteResult, elapsedMs: number): void;
  /** A sampled estimate of a segment's stale share (`StalenessSampler`), a planner input. */
  sampledStaleRatio?(segment: number): number | undefined;
}

/** A rewrite that moved nothing waits this long before it is tried again. */
export const REWRITE_COOLDOWN_MS = 60_000;

export function checkMaintainOptions(options: unknown): MaintainOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'maintain options must be an object');
  const o = options as MaintainOptions;
  if (o.mode !== undefined && o.mode !== 'gc' && o.mode !== 'rewrite' && o.mode !== 'full') {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, `options.mode must be "gc", "rewrite" or "full", got ${String(o.mode)}`);
  }
  if (o.budget !== undefined) {
    if (o.budget === null || typeof o.budget !== 'object') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'options.budget must be an object');
    for (const name of ['bytes', 'segments', 'ms'] as const) {
      const value = o.budget[name];
      if (value !== undefined && (typeof value !== 'number' || !(value >= 0))) throw siltError(ErrorCodes.INVALID_ARGUMENT, `options.budget.${name} must be a number ≥ 0`);
    }
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'options.signal must be an AbortSignal');
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw siltError(ErrorCodes.INVALID_ARGUMENT, 'options.onProgress must be a function');
  if (o.retire !== undefined && o.retire !== 'compact' && o.retire !== 'defer') {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, `options.retire must be "compact" or "defer", got ${String(o.retire)}`);
  }
  if (o.minStaleRatio !== undefined && (typeof o.minStaleRatio !== 'number' || !(o.minStaleRatio >= 0 && o.minStaleRatio <= 1))) {
    throw siltError(ErrorCodes.INVALID_ARGUMENT, 'options.minStaleRatio must be a number in [0, 1]');
  }
  return o;
}

/** Forget retiring segments a compaction already retired (the ledger shows nothing live) or GC dropped. */
export function pruneRetiring(host: Pick<MaintenanceHost, 'retiring' | 'ledger'>): void {
  const ledger = host.ledger();
  for (const segment of host.retiring.keys()) {
    const entry = ledger.get(segment);
    if (entry === undefined || entry.total === entry.stale) host.retiring.delete(segment);
  }
}

/**
 * Whether a rewrite starting now would see every pointer into `segment` (see "Early retirement"):
 * sealed, every frame written, no append into it on its way to a memtable.
 */
async function scanSeesEverything(host: MaintenanceHost, segment: number): Promise<boolean> {
  if (host.valueLog.info(segment)?.sealed !== true) return false;
  await host.valueLog.written();
  return !host.valueLog.hasInFlight(segment);
}

export async function maintain(host: MaintenanceHost, options: MaintainOptions = {}): Promise<MaintenanceReport> {
  const started = performance.now();
  const mode = options.mode ?? 'rewrite';
  const budget = options.budget ?? {};
  const signal = options.signal;
  const progress = { phase: 'gc' as MaintenanceProgress['phase'], plannedSegments: 0, rewrittenSegments: 0, copiedBytes: 0, reclaimedBytes: 0 };
  const report = (phase: MaintenanceProgress['phase']): void => {
    progress.phase = phase;
    options.onProgress?.({ ...progress });
  };
  let deletedSegments = 0;
  const gc = async (): Promise<void> => {
    report('gc');
    const result = await host.collectGarbage();
    deletedSegments += result.deletedSegments.length;
    progress.reclaimedBytes += result.reclaimedBytes;
  };
  const rewrites: RewriteResult[] = [];
  let stoppedBy: MaintenanceReport['stoppedBy'] = 'done';
  if (mode === 'full' && signal?.aborted !== true) {
    report('compact');
    await host.compact();
  }
  await gc();
  if (mode !== 'gc') {
    report('plan');
    const now = Date.now();
    pruneRetiring(host);
    const planned: RewriteCandidate[] = planRewrites(host.ledger(), host.valueLog.segmentInfos(), now, {
      minStaleRatio: mode === 'full' ? Number.MIN_VALUE : (options.minStaleRatio ?? 0.5),
      ...(host.sampledStaleRatio === undefined ? {} : { sampledStaleRatio: (segment: number) => host.sampledStaleRatio!(segment) }),
    }).filter((candidate) => !host.retiring.has(candidate.segment) && !host.pendingRetire.has(candidate.segment));
    progress.plannedSegments = planned.length;
    let low: Uint8Array | null = null;
    let high: Uint8Array | null = null;
    for (const candidate of planned) {
      if (signal?.aborted === true) {
        stoppedBy = 'signal';
        break;
      }
      if (budget.segments !== undefined && rewrites.length >= budget.segments) {
        stoppedBy = 'segments';
        break;
      }
      if (budget.bytes !== undefined && progress.copiedBytes >= budget.bytes) {
        stoppedBy = 'bytes';
        break;
      }
      if (budget.ms !== undefined && performance.now() - started >= budget.ms) {
        stoppedBy = 'ms';
        break;
      }
      report('rewrite');
      const rewriteStarted = performance.now();
      const retirable = await scanSeesEverything(host, candidate.segment);
      const result = await copyAndSwap(host, candidate.segment, REWRITE_COOLDOWN_MS, now);
      // Every pointer into the segment is shadowed at the seq applied now (the swap has landed).
      if (retirable && host.ledgerEntry(candidate.segment) !== undefined && host.valueLog.info(candidate.segment) !== undefined) {
        host.pendingRetire.set(candidate.segment, host.appliedSeq());
      }
      rewrites.push(result);
      host.segmentRewritten?.(result, performance.now() - rewriteStarted);
      progress.rewrittenSegments++;
      progress.copiedBytes += result.copiedBytes;
      if (result.range !== null && result.swapped > 0 && options.retire === 'defer') {
        host.retiring.set(candidate.segment, result.range);
      } else if (result.range !== null && result.swapped > 0) {
        if (low === null || compareKeys(result.range[0], low) < 0) low = result.range[0];
        if (high === null || compareKeys(result.range[1], high) > 0) high = result.range[1];
      }
      // Foreground work gets the event loop between segments.
      await yieldTurn();
    }
    if (options.retire !== 'defer') {
      for (const [start, end] of host.retiring.values()) {
        if (low === null || compareKeys(start, low) < 0) low = start;
        if (high === null || compareKeys(end, high) > 0) high = end;
      }
    }
    if (host.pendingRetire.size > 0 && options.retire !== 'defer') {
      // The swaps reach tables now, so this pass's GC retires the segments and deletes them.
      report('compact');
      await host.flush();
      await host.afterMaintenanceStep?.('flush');
      await gc();
    }
    if (low !== null && high !== null && options.retire !== 'defer') {
      host.retiring.clear();
      report('compact');
      await host.compact(low, high);
      await host.afterStep?.('compact');
      await gc();
    }
  }
  report('done');
  return {
    mode,
    plannedSegments: progress.plannedSegments,
    rewrites: rewrites.map(({ segment, copiedRecords, copiedBytes, swapped }) => ({ segment, copiedRecords, copiedBytes, swapped })),
    copiedBytes: progress.copiedBytes,
    deletedSegments,
    reclaimedBytes: progress.reclaimedBytes,
    stoppedBy,
    elapsedMs: performance.now() - started,
  };
}
