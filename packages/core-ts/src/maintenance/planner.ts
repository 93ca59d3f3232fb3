/**
 * The rewrite planner (DESIGN §4): which sealed segments are worth rewriting, best first. A
 * rewrite copies a segment's live records into the cold lane, so it pays `live` bytes of writes to
 * free `total` (file) bytes; it is only worth it when much of the segment is stale. Scores come
 * from the ledger and, when given, a sampled estimate of each segment's stale share
 * (`StalenessSampler`, no full scan):
 *
 * - a segment's stale ratio is the larger of the ledger's (exact, but blind to overwrites whose
 *   pointers are still in memtables or L0) and the sampled one (current, but an estimate);
 * - candidates are sealed, have live bytes in the ledger (a segment with none is GC's), a stale
 *   ratio at least `minStaleRatio`, at least `minAgeMs` old, and out of their cooldown;
 * - a segment whose rewrite would not shrink it (stale ratio under the threshold) is never picked;
 * - score = stale ratio × total bytes × (1 + age in hours, capped at 24) / (1 + attempts): the most
 *   reclaimable bytes first, older debt before newer, segments that failed to shrink before later.
 */
import type { Ledger, LedgerEntry } from '../manifest/index.js';
import type { SegmentInfo } from '../vlog/index.js';

export interface PlannerOptions {
  /** Rewrite only segments with at least this share of stale bytes. Default 0.5. */
  readonly minStaleRatio?: number;
  /** Rewrite only segments at least this old (ms). Default 0. */
  readonly minAgeMs?: number;
  /** A sampled estimate of a segment's stale share (0 … 1), when there is one. */
  readonly sampledStaleRatio?: (segment: number) => number | undefined;
}

export interface RewriteCandidate {
  readonly segment: number;
  readonly lane: number;
  readonly total: number;
  /** Ledger figures (exact). */
  readonly live: number;
  readonly stale: number;
  /** The ratio the candidate was admitted and scored by: max(ledger, sampled). */
  readonly staleRatio: number;
  /** The sampled estimate, when the planner had one. */
  readonly sampledStaleRatio: number | null;
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
    // A retired segment's live bytes are shadowed pointers: nothing to copy, GC deletes its file.
    if (entry === undefined || entry.total === 0 || entry.retiredAt > 0) continue;
    const live = entry.total - entry.stale;
    if (live === 0) continue;
    const sampled = options.sampledStaleRatio?.(info.segment);
    const staleRatio = Math.max(entry.stale / entry.total, sampled ?? 0);
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
      sampledStaleRatio: sampled ?? null,
      fileBytes: info.length,
      score: (staleRatio * entry.total * (1 + ageHours)) / (1 + entry.attempts),
    });
  }
  return out.sort((a, b) => b.score - a.score || a.segment - b.segment);
}
