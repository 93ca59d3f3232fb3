/**
 * The background maintenance controller (DESIGN §4): decides when a bounded rewrite pass runs,
 * so stale value-log bytes are reclaimed without tuning and without hurting foreground work.
 *
 * - **Triggers**: a kick after every flush and compaction, and a slow timer (unref'd).
 * - **Quiet window**: a pass starts when no write arrived for `quietMs` — or at once when the debt
 *   is high (stale bytes above `pressureRatio` of the ledger's total), so a never-quiet workload
 *   still gets its disk back.
 * - **Budget, sized to the debt**: each pass copies at most what a token bucket (`bytesPerSecond`,
 *   burst one second) holds; it may take every queued segment (at least `segmentsPerPass`), and
 *   its time cap grows with the stale share: `passMs` at the pressure line, up to `maxPassMs` at
 *   half the ledger stale. An empty bucket waits.
 * - **Retiring the rewritten segments**: a pass started under pressure while writes flow leaves it
 *   to the flush those writes trigger (`retire: 'defer'`: once the swaps are in a table, GC retires
 *   and deletes the old segments; later compactions drop their shadowed pointers), so it costs only
 *   its copies; a pass in a quiet window flushes itself (`compact`), since no other flush may come,
 *   and compacts the rewritten range so the shadowed pointers leave the tables.
 * - **Back to back under pressure**: a pass that stopped on its budget while the debt is still
 *   over the pressure line and that made progress is followed by the next at once (one event-loop
 *   turn later), not at the next flush or tick: under sustained writes the debt is worked off
 *   continuously, and the write pacer (`pacer.ts`) keeps writers from starving the passes.
 * - **Relief for held writes** (`relieve`): while the pacer holds writes at its hard line, a pass
 *   runs at once (no quiet window, no pressure line, no empty bucket — the writers are waiting
 *   anyway), and since no write will trigger the flush that retires what it rewrote, that flush
 *   and GC follow it.
 * - **Backoff**: a pass that neither swapped a pointer nor reclaimed a byte doubles the wait before
 *   the next (up to `maxBackoffMs`); segments a rewrite could not shrink carry a cooldown in the
 *   ledger. A backing-off controller cannot relieve: held writes proceed.
 */
import type { MaintainOptions, MaintenanceReport } from './maintain.js';
import type { PacingDebt } from './pacer.js';

/**
 * Background rewrites take segments from a third stale on: disk stays near 1.5× the live data
 * only if segments are rewritten before they pass the share of stale bytes that target allows
 * (copying two live bytes per stale byte freed at worst).
 */
export const BACKGROUND_MIN_STALE_RATIO = 1 / 3;

export interface ControllerOptions {
  readonly bytesPerSecond: number;
  readonly quietMs?: number;
  readonly intervalMs?: number;
  readonly pressureRatio?: number;
  readonly segmentsPerPass?: number;
  readonly passMs?: number;
  /** The time cap of a pass when half the ledger is stale. Default 2000. */
  readonly maxPassMs?: number;
  readonly maxBackoffMs?: number;
  /** The least stale share a background rewrite takes. Default `BACKGROUND_MIN_STALE_RATIO`. */
  readonly minStaleRatio?: number;
}

export interface ControllerHost {
  /** Writes so far (any counter that grows with every write). */
  writeCount(): number;
  /** Ledger totals: what a rewrite could reclaim, and the whole. */
  debt(): {
    readonly queuedSegments: number;
    /** Segments rewritten under load that still wait for a compaction or for their retire edit (a flush). */
    readonly retiringSegments?: number;
    readonly stale: number;
    readonly total: number;
  };
  maintain(options: MaintainOptions): Promise<MaintenanceReport>;
  /**
   * Flush and collect garbage, so rewritten segments waiting for their retire edit are retired and
   * deleted (`relieve`: held writes trigger no flush). Resolves how many segments GC deleted.
   */
  retire?(): Promise<number>;
  /** Telemetry: the controller waits `delayMs` before its next pass. */
  backoff?(delayMs: number, reason: 'nothing-reclaimed' | 'error', error: string | null): void;
}

export interface ControllerStats {
  readonly passes: number;
  readonly skippedBusy: number;
  readonly backoffMs: number;
  readonly tokens: number;
  readonly lastError: string | null;
  /** Passes started back to back because the debt stayed over the pressure line. */
  readonly chained: number;
  /** Passes and retire flushes run to relieve writes held by the pacer. */
  readonly reliefs: number;
}

/** What a debt-driven caller needs from the controller's last look at the ledger. */
export type ControllerDebt = ReturnType<ControllerHost['debt']>;

export class MaintenanceController {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private lastWrites = -1;
  private lastWriteChange = 0;
  private tokens: number;
  private lastRefill = performance.now();
  private backoffMs = 0;
  private notBefore = 0;
  private passes = 0;
  private skippedBusy = 0;
  private lastError: string | null = null;
  private chained = 0;
  private reliefs = 0;
  private chainPending = false;
  /** Passes that swapped, retired or deleted anything (a relief compares it before and after). */
  private progress = 0;
  private relieving: Promise<boolean> | null = null;
  private readonly quietMs: number;
  private readonly intervalMs: number;
  private readonly pressureRatio: number;
  private readonly segmentsPerPass: number;
  private readonly passMs: number;
  private readonly maxPassMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly host: ControllerHost,
    private readonly options: ControllerOptions,
  ) {
    this.quietMs = options.quietMs ?? 1000;
    this.intervalMs = options.intervalMs ?? 1000;
    this.pressureRatio = options.pressureRatio ?? 0.3;
    this.segmentsPerPass = options.segmentsPerPass ?? 4;
    this.passMs = options.passMs ?? 250;
    this.maxPassMs = Math.max(this.passMs, options.maxPassMs ?? 2000);
    this.maxBackoffMs = options.maxBackoffMs ?? 300_000;
    this.tokens = options.bytesPerSecond;
  }

  start(): void {
    if (this.closed || this.timer !== null) return;
    this.timer = setInterval(() => this.kick(), this.intervalMs);
    this.timer.unref();
  }

  /** Consider a pass now (after a flush or compaction, and on every tick). */
  kick(): void {
    if (this.closed || this.running !== null) return;
    const now = performance.now();
    const writes = this.host.writeCount();
    if (writes !== this.lastWrites) {
      this.lastWrites = writes;
      this.lastWriteChange = now;
    }
    if (now < this.notBefore) return;
    const debt = this.host.debt();
    const quiet = now - this.lastWriteChange >= this.quietMs;
    this.startIfDue(now, debt, quiet);
  }

  private startIfDue(now: number, debt: ControllerDebt, quiet: boolean): void {
    // Only a quiet pass retires what `defer` passes left: under load, compactions come anyway.
    if (debt.queuedSegments === 0 && (!quiet || (debt.retiringSegments ?? 0) === 0)) return;
    const pressured = this.pressured(debt);
    if (!quiet && !pressured) {
      this.skippedBusy++;
      return;
    }
    this.refill(now);
    if (this.tokens <= 0) return;
    const share = debt.total > 0 ? debt.stale / debt.total : 0;
    const budget = {
      bytes: this.tokens,
      segments: Math.max(this.segmentsPerPass, debt.queuedSegments),
      ms: this.passBudgetMs(share),
    };
    this.running = this.pass(budget, quiet ? 'compact' : 'defer').finally(() => {
      this.running = null;
    });
  }

  /**
   * The debt as the write pacer weighs it: stale and total bytes, and whether maintenance can act
   * on it now (segments queued or waiting for retirement, and no backoff pending).
   */
  pacingDebt(): PacingDebt {
    const debt = this.host.debt();
    const actionable = debt.queuedSegments > 0 || (debt.retiringSegments ?? 0) > 0;
    return { stale: debt.stale, total: debt.total, reclaimable: actionable && !this.closed && performance.now() >= this.notBefore };
  }

  private pressured(debt: ControllerDebt): boolean {
    return debt.total > 0 && debt.stale / debt.total >= this.pressureRatio;
  }

  /** After a pass cut short by its budget: the next one at once while the debt stays high. */
  private chain(): void {
    if (this.closed || this.chainPending) return;
    this.chainPending = true;
    setImmediate(() => {
      this.chainPending = false;
      if (this.closed || this.running !== null || this.relieving !== null) return;
      const debt = this.host.debt();
      if (debt.queuedSegments === 0 || !this.pressured(debt)) return;
      this.chained++;
      this.kick();
    });
  }

  /**
   * Work the debt off for writes the pacer holds: join the running pass, or start one now (only
   * the backoff stops it), then flush and collect so what it rewrote is retired and deleted.
   * Resolves whether anything was swapped, retired or deleted meanwhile.
   */
  relieve(): Promise<boolean> {
    this.relieving ??= this.relieveOnce().finally(() => {
      this.relieving = null;
    });
    return this.relieving;
  }

  private async relieveOnce(): Promise<boolean> {
    if (this.closed || performance.now() < this.notBefore) return false;
    const before = this.progress;
    if (this.running !== null) await this.running;
    if (this.closed || performance.now() < this.notBefore) return this.progress > before;
    const debt = this.host.debt();
    if (debt.queuedSegments > 0) {
      this.reliefs++;
      const now = performance.now();
      this.refill(now);
      const share = debt.total > 0 ? debt.stale / debt.total : 0;
      this.running = this.pass(
        { bytes: Math.max(this.tokens, this.options.bytesPerSecond / 4), segments: Math.max(this.segmentsPerPass, debt.queuedSegments), ms: this.passBudgetMs(share) },
        'defer',
      ).finally(() => {
        this.running = null;
      });
      await this.running;
    }
    if (!this.closed && this.host.retire !== undefined && (this.host.debt().retiringSegments ?? 0) > 0) {
      this.reliefs++;
      try {
        if ((await this.host.retire()) > 0) this.progress++;
      } catch (error) {
        this.lastError = String((error as Error)?.message ?? error);
      }
    }
    return this.progress > before;
  }

  /** A pass's time cap: `passMs` at the pressure line, up to `maxPassMs` at half the ledger stale. */
  private passBudgetMs(share: number): number {
    const over = this.pressureRatio >= 0.5 ? (share >= 0.5 ? 1 : 0) : Math.min(1, Math.max(0, (share - this.pressureRatio) / (0.5 - this.pressureRatio)));
    return this.passMs + (this.maxPassMs - this.passMs) * over;
  }

  private refill(now: number): void {
    const rate = this.options.bytesPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.lastRefill) / 1000) * rate);
    this.lastRefill = now;
  }

  private async pass(budget: { bytes: number; segments: number; ms: number }, retire: 'compact' | 'defer'): Promise<void> {
    try {
      const report = await this.host.maintain({
        mode: 'rewrite',
        budget,
        minStaleRatio: this.options.minStaleRatio ?? BACKGROUND_MIN_STALE_RATIO,
        retire,
      });
      this.passes++;
      this.tokens -= report.copiedBytes;
      const swapped = report.rewrites.some((rewrite) => rewrite.swapped > 0);
      const progressed = swapped || report.reclaimedBytes > 0 || report.deletedSegments > 0;
      if (progressed) this.progress++;
      if (progressed && retire === 'defer' && report.stoppedBy !== 'done' && report.stoppedBy !== 'signal') this.chain();
      if (!progressed) {
        this.backoffMs = Math.min(this.maxBackoffMs, Math.max(1000, this.backoffMs * 2));
        this.notBefore = performance.now() + this.backoffMs;
        this.host.backoff?.(this.backoffMs, 'nothing-reclaimed', null);
      } else {
        this.backoffMs = 0;
      }
      this.lastError = null;
    } catch (error) {
      this.lastError = String((error as Error)?.message ?? error);
      this.backoffMs = Math.min(this.maxBackoffMs, Math.max(1000, this.backoffMs * 2));
      this.notBefore = performance.now() + this.backoffMs;
      this.host.backoff?.(this.backoffMs, 'error', this.lastError);
    }
  }

  stats(): ControllerStats {
    return {
      passes: this.passes, skippedBusy: this.skippedBusy, backoffMs: this.backoffMs, tokens: Math.max(0, Math.floor(this.tokens)), lastError: this.lastError,
      chained: this.chained, reliefs: this.reliefs,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.relieving;
  }
}
