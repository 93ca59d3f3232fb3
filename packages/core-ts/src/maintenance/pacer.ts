/**
 * Write pacing on value-log debt (DESIGN §4, docs/ENGINE.md "Write pacing"): the foreground side
 * of keeping runtime disk bounded. Rewrites reclaim stale value-log bytes only as fast as they get
 * the event loop; a writer that never waits can outrun them forever, and the disk grows with it.
 * Like RocksDB's soft and hard pending-compaction-bytes limits, the pacer slows writes when the
 * reclaimable debt passes a soft line and holds them at a hard line until a pass reclaims:
 *
 * - **Debt** is the controller's (`debt.ts`): stale bytes as max(ledger, sampled estimate) per
 *   segment, plus rewritten segments whose files are still on disk (whole from their swap, with
 *   the uncharged copies of their live share), over the live bytes (total − stale). It is
 *   re-read at most every `refreshMs` (weighing it samples segments), and at once after a pass.
 * - **Soft band** (`softRatio` ≤ debt ÷ live < `hardRatio`): each write sleeps in proportion to
 *   its bytes and to how far into the band the debt is — `msPerMiB` per MiB at the hard line, none
 *   at the soft one. Sleeping (not spinning) hands the event loop to the rewrite pass. Delays under
 *   a millisecond are owed and paid together, so small writes are paced as batches are.
 * - **Hard line**: the write waits for maintenance to relieve the debt (a pass, and the flush that
 *   retires what it rewrote), then looks again.
 * - **A floor in bytes** (`minDebtBytes`): below it nothing is paced, whatever the ratio. In a
 *   small database one segment's stale bytes are several times the live data (debt ratios of 2–9
 *   were seen), yet the disk it costs is a segment or two, and a rewrite cannot free less than a
 *   segment at a time: pacing there would only stall writes for nothing.
 * - **Never a deadlock**: pacing counts only debt maintenance can act on now — with no segment
 *   queued for rewrite and none waiting for its retirement (everything live, readers pinning
 *   retired files, segments in cooldown, the controller backing off), writes are not held; a
 *   relief that made no progress lets the write through (`escapes`); and no write waits longer
 *   than `maxStallMs` in all (`timeouts`).
 */

export interface PacerOptions {
  /** Debt ÷ live at which writes start to slow down. */
  readonly softRatio: number;
  /** Debt ÷ live at which writes wait for maintenance. */
  readonly hardRatio: number;
  /** The longest one write waits for pacing, soft and hard together (ms). */
  readonly maxStallMs: number;
  /** Delay per MiB written just below the hard line (ms). Default 40. */
  readonly msPerMiB?: number;
  /** Debt is weighed again after this long (ms). Default 100. */
  readonly refreshMs?: number;
  /** Stale bytes below which nothing is paced, whatever the ratio (a couple of segments). Default 0. */
  readonly minDebtBytes?: number;
}

export interface PacingDebt {
  /** Stale bytes (ledger or sampled, whichever is higher) and rewritten segments still on disk. */
  readonly stale: number;
  /** Every value-log byte the ledger charges. */
  readonly total: number;
  /** Whether maintenance can reduce `stale` now (segments queued or waiting for retirement). */
  readonly reclaimable: boolean;
}

export interface PacerHost {
  now(): number;
  /** Resolves after `ms` (or at once when `signal` aborts). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  debt(): PacingDebt;
  /**
   * Work the debt off while writes are held: run (or join) a pass and the flush that retires what
   * it rewrote. Resolves whether it made progress (swapped, retired or deleted anything).
   */
  relieve(): Promise<boolean>;
  /** Let maintenance consider a pass now (a write about to sleep in the soft band). */
  kick?(): void;
}

export interface PacingStats {
  /** Writes slowed in the soft band. */
  readonly slowdowns: number;
  /** Writes held at the hard line. */
  readonly stops: number;
  /** Total time writes spent paced (ms). */
  readonly stallMs: number;
  /** Held writes let through because maintenance could not reclaim anything. */
  readonly escapes: number;
  /** Writes let through after waiting `maxStallMs`. */
  readonly timeouts: number;
  /** Debt ÷ live when last weighed. */
  readonly debtRatio: number;
}

export type PacingLevel = 'none' | 'soft' | 'hard';

const MiB = 1024 * 1024;

/**
 * The pacing floor in value-log segments (`PacerOptions.minDebtBytes` = this × the segment size): a
 * rewrite frees whole segments, so less debt than this is nothing maintenance must hurry for.
 */
export const PACING_FLOOR_SEGMENTS = 2;

/**
 * The controller's pressure line (stale ÷ ledger total, `ControllerOptions.pressureRatio`) for
 * these pacing lines: passes start under load at three quarters of the soft line, so a slowed
 * write's sleep goes to a running pass rather than to nothing. Empty with pacing off.
 */
export function pressureFor(pacing: { readonly softRatio: number }): { pressureRatio?: number } {
  if (pacing.softRatio === Infinity) return {};
  const line = 0.75 * pacing.softRatio;
  return { pressureRatio: line / (1 + line) };
}

/** The bytes a write carries, as the pacer weighs them (keys and values). */
export function writeBytes(ops: readonly { readonly key: Uint8Array; readonly value: Uint8Array }[]): number {
  let bytes = 0;
  for (let i = 0; i < ops.length; i++) bytes += ops[i]!.key.length + ops[i]!.value.length;
  return bytes;
}

export class WritePacer {
  private debtRatio = 0;
  /** Whether the debt is at least `minDebtBytes` (and maintenance can act on it). */
  private reclaimable = false;
  private weighedAt = -Infinity;
  /** Soft-band delay owed by writes too small to sleep for on their own (ms). */
  private owedMs = 0;
  private readonly counts = { slowdowns: 0, stops: 0, stallMs: 0, escapes: 0, timeouts: 0 };
  private readonly msPerMiB: number;
  private readonly refreshMs: number;

  constructor(
    private readonly host: PacerHost,
    private readonly options: PacerOptions,
  ) {
    this.msPerMiB = options.msPerMiB ?? 40;
    this.refreshMs = options.refreshMs ?? 100;
  }

  /** The pacing a write meets now (cheap: debt is weighed at most every `refreshMs`). */
  level(): PacingLevel {
    const now = this.host.now();
    if (now - this.weighedAt >= this.refreshMs) this.weigh(now);
    if (!this.reclaimable || this.debtRatio < this.options.softRatio) return 'none';
    return this.debtRatio >= this.options.hardRatio ? 'hard' : 'soft';
  }

  /**
   * Whether a write of `bytes` must go through `admit` (the caller then queues it behind earlier
   * paced writes, so none overtakes another).
   */
  paces(bytes: number): boolean {
    const level = this.level();
    if (level === 'none') return false;
    if (level === 'hard') return true;
    return this.owedMs + this.softDelay(bytes) >= 1;
  }

  /** Pace one write of `bytes`: resolves when it may proceed. Never rejects. */
  async admit(bytes: number): Promise<void> {
    let level = this.level();
    if (level === 'none') return;
    const started = this.host.now();
    if (level === 'soft') {
      this.owedMs += this.softDelay(bytes);
      if (this.owedMs < 1) return;
      const delay = Math.min(this.owedMs, this.options.maxStallMs);
      this.owedMs = 0;
      this.counts.slowdowns++;
      // The sleep is worth something only while a pass runs.
      this.host.kick?.();
      await this.host.sleep(delay);
    } else {
      this.counts.stops++;
      this.owedMs = 0;
      while (level === 'hard') {
        if (this.host.now() - started >= this.options.maxStallMs) {
          this.counts.timeouts++;
          break;
        }
        let progressed: boolean;
        try {
          progressed = await this.relieveWithin(this.options.maxStallMs - (this.host.now() - started));
        } catch {
          // A failed pass is the controller's to report and back off from; the write goes on.
          progressed = false;
        }
        this.weigh(this.host.now());
        level = this.level();
        if (level === 'hard' && !progressed) {
          this.counts.escapes++;
          break;
        }
      }
    }
    this.counts.stallMs += this.host.now() - started;
  }

  /** Forget the weighed debt: the next write weighs it again (after a pass, a GC). */
  invalidate(): void {
    this.weighedAt = -Infinity;
  }

  stats(): PacingStats {
    return { ...this.counts, stallMs: Math.round(this.counts.stallMs), debtRatio: Math.round(this.debtRatio * 1000) / 1000 };
  }

  private softDelay(bytes: number): number {
    const { softRatio, hardRatio } = this.options;
    const depth = hardRatio > softRatio ? (this.debtRatio - softRatio) / (hardRatio - softRatio) : 1;
    return Math.min(1, Math.max(0, depth)) * (bytes / MiB) * this.msPerMiB;
  }

  /** Relief, or `false` once `ms` passed (a timed-out wait is no progress of its own). */
  private relieveWithin(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    const timer = new AbortController();
    return Promise.race([
      this.host.relieve(),
      // Timed out: the loop sees the elapsed time and counts a timeout rather than an escape.
      this.host.sleep(ms, timer.signal).then(() => true),
    ]).finally(() => timer.abort());
  }

  private weigh(now: number): void {
    this.weighedAt = now;
    const debt = this.host.debt();
    const live = Math.max(1, debt.total - debt.stale);
    this.debtRatio = debt.total > 0 ? debt.stale / live : 0;
    this.reclaimable = debt.reclaimable && debt.stale >= (this.options.minDebtBytes ?? 0);
  }
}
