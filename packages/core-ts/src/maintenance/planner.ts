/**
 * The rewrite planner (DESIGN §4): which sealed segments are worth rewriting, best first. A
 * rewrite copies a segment's live records into the cold lane, so it pays `live` bytes of writes to
 * free `total` (file) bytes; it is only worth it when much of the segment is stale. Scores come
 * from the ledger alone (no scan):
 *
 * - candidates are sealed, have live bytes (a segment with none is GC's), a stale ratio at least
 *   `minStaleRatio`, at least `minAgeMs` old, and out of their cooldown;
 * - a segment whose rewrite would not shrink it (stale ratio under the threshold) is never picked;
 * - score = stale bytes × (1 + age in hours, capped at 24) / (1 + attempts): the most reclaimable
 *   bytes first, older debt before newer, segments that failed to shrink before later.
 */
import type { Ledger, LedgerEntry } from '../manifest/index.js';
import type { SegmentInfo } from '../vlog/index.js';

export interface PlannerOptions {
  /** Rewrite only segments with at least this share of stale bytes. Default 0.5. */
  readonly minStaleRatio?: number;
  /** Rewrite only segments at least this old (ms). Default 0. */
  readonly minAgeMs?: number;
}

export interface RewriteCandidate {
  readonly segment: number;
  readonly lane: number;
  readonly total: number;
  readonly live: number;
  readonly stale: number;
  readonly staleRatio: number;
  readonly fileBytes: number;
  readonly score: number;
}

export function planRewrites(ledger: Ledger, segments: readonly SegmentInfo[], now: number, options: PlannerOptions = {}): RewriteCandidate[] {
  const minStaleRatio = options.minStaleRatio ?? 0.5;
  const minAgeMs = options.minAgeMs ?? 0;
  const out: RewriteCandidate[] = [];
  for (const info of segments) {
    if (!info.sealed) continue;
    const entry: LedgerEntry | undefined = ledger.get(info.segment);
    if (entry === undefined || entry.total === 0) continue;
    const live = entry.total - entry.stale;
    if (live === 0) continue;
    const staleRatio = entry.stale / entry.total;
    if (staleRatio < minStaleRatio) continue;
    if (now - entry.created < minAgeMs || entry.cooldownUntil > now) continue;
    const ageHours = Math.min(24, Math.max(0, now - entry.created) / 3_600_000);
    out.push({
      segment: info.segment,
      lane: entry.lane,
      total: entry.total,
      live,
      stale: entry.stale,
      staleRatio,
      fileBytes: info.length,
      score: (entry.stale * (1 + ageHours)) / (1 + entry.attempts),
    });
  }
  return out.sort((a, b) => b.score - a.score || a.segment - b.segment);
}
