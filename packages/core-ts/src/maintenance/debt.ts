/**
 * The value-log debt the background controller and the write pacer weigh (docs/ENGINE.md "Write
 * pacing"): how many of the value log's bytes on disk are garbage now or will be once the work in
 * flight is done, beside how many there are in all.
 *
 * - A segment with nothing in flight counts its stale bytes as the larger of the ledger's (exact,
 *   but blind to overwrites whose pointers are still in memtables or L0) and the sampled estimate
 *   × its total (current, but an estimate).
 * - A **retired** segment is all garbage: its file goes (or went) whatever its ledger says; once
 *   the file is gone it counts for nothing.
 * - A segment **rewritten but not retired yet** (its swaps wait for the flush that makes them
 *   durable) is all garbage too, and its live records exist twice meanwhile: the copies in the
 *   cold lane are on disk but charged to no ledger entry until that flush. Counting both makes the
 *   debt rise while a pass's old and new copies coexist — the top of the disk's sawtooth — instead
 *   of falling as soon as the pass is planned, so writes are paced while the disk is at its
 *   highest rather than after it came down.
 */
import type { LedgerEntry } from '../manifest/index.js';

export interface DebtInputs {
  readonly entries: Iterable<LedgerEntry>;
  /** Whether the segment's file is still on disk. */
  present(segment: number): boolean;
  /** The sampled stale share of a segment (0 … 1), when there is one. */
  sampled(segment: number): number | undefined;
  /** Whether a rewrite copied and swapped the segment and it waits for its retire edit. */
  awaitingRetire(segment: number): boolean;
}

export interface ValueLogDebt {
  /** Bytes that are garbage, or will be once the rewrites in flight are retired. */
  readonly stale: number;
  /** Every value-log byte on disk the debt knows of: the ledger's, plus uncharged rewrite copies. */
  readonly total: number;
}

export function weighDebt(inputs: DebtInputs): ValueLogDebt {
  let stale = 0;
  let total = 0;
  for (const entry of inputs.entries) {
    if (entry.total === 0) continue;
    if (entry.retiredAt > 0) {
      if (!inputs.present(entry.segment)) continue;
      stale += entry.total;
      total += entry.total;
      continue;
    }
    const staleRatio = Math.max(entry.stale / entry.total, inputs.sampled(entry.segment) ?? 0);
    if (inputs.awaitingRetire(entry.segment) && inputs.present(entry.segment)) {
      // The whole segment, and the copies of its live share that no ledger entry charges yet.
      stale += entry.total;
      total += entry.total + (1 - staleRatio) * entry.total;
      continue;
    }
    stale += staleRatio * entry.total;
    total += entry.total;
  }
  return { stale, total };
}
