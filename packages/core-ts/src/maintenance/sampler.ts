/**
 * Sampled staleness of sealed value-log segments, a planner input beside the ledger (DESIGN §4,
 * docs/ENGINE.md "Planner").
 *
 * The ledger counts a record stale only once compaction drops its overwritten pointer, which is
 * exact and must stay so; but under uniform random overwrites the pointers that shadow it sit in
 * memtables and L0 for a while (tens of MiB), so the ledger shows segments mostly live long after
 * they are mostly dead, and rewrites start late. The sampler estimates a segment's true stale share
 * from a few records spread across it, each checked against the key's newest pointer (what a
 * rewrite would check): a record is live when the newest entry of its key still points at it.
 *
 * - Estimates are kept per segment and expire after `maxAgeMs` or `maxWrites` writes.
 * - Each `refresh` samples only expired or missing estimates, never-sampled segments first, then
 *   the oldest, and stops once it spent `budgetMs` (at least one segment per call).
 * - A sealed segment never changes, so its probes — the sampled records' keys and pointers, spread
 *   over its frames — are chosen once (the frame headers, then the chosen frames, read past the
 *   frame cache) and kept: every later estimate is only the newest-pointer lookups. The same
 *   records are followed over time, each estimate an unbiased sample of the segment as it is then.
 * - Sampling writes nothing anywhere: the ledger stays exact, the estimate only orders and admits
 *   rewrite candidates.
 * - Callers on a write's path (the write pacer weighs the debt there) take the current estimates and
 *   `refreshSoon`: the refresh runs on the next turn of the event loop, not inside the write call.
 */
import type { SegmentScan } from '@siltdb/bindings';
import { encodePointer, recordBytesOf, type SegmentInfo, type ValueLog } from '../vlog/index.js';

export interface SamplerHost {
  readonly valueLog: ValueLog;
  /** The raw pointer of `key`'s newest entry when that entry is a pointer, else null. */
  newestPointer(key: Uint8Array): Uint8Array | null;
  /** Writes so far (any counter that grows with every write). */
  writeCount(): number;
}

export interface SamplerOptions {
  /** Records checked per segment (spread over its frames). Default 48. */
  readonly recordsPerSegment?: number;
  /** An estimate expires after this long (ms). Default 1000. */
  readonly maxAgeMs?: number;
  /** An estimate expires after this many writes. Default 20000. */
  readonly maxWrites?: number;
  /** Time one `refresh` may spend sampling (ms); at least one segment is sampled. Default 25. */
  readonly budgetMs?: number;
}

export interface StalenessEstimate {
  /** Sampled stale share of the segment's record bytes, 0 … 1. */
  readonly staleRatio: number;
  readonly sampledRecords: number;
  /** `Date.now()` and the host's write count when sampled. */
  readonly at: number;
  readonly writes: number;
}

export interface SamplerStats {
  /** Segments with a current estimate. */
  readonly segments: number;
  /** Segments sampled so far, and records checked. */
  readonly samples: number;
  readonly records: number;
  readonly ms: number;
  /** Segments a refresh could not sample (unreadable): they have no estimate. */
  readonly failures: number;
}

/** The records a segment's estimates check: their keys, their pointers, their charged bytes. */
interface Probes {
  /** The segment length the probes were chosen at (a sealed segment's never changes). */
  readonly length: number;
  readonly keys: Uint8Array[];
  readonly pointers: Uint8Array[];
  readonly recordBytes: number[];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class StalenessSampler {
  private readonly estimates = new Map<number, StalenessEstimate>();
  private readonly probes = new Map<number, Probes>();
  private readonly recordsPerSegment: number;
  private readonly maxAgeMs: number;
  private readonly maxWrites: number;
  private readonly budgetMs: number;
  private samples = 0;
  private records = 0;
  private ms = 0;
  private failures = 0;
  /** A refresh `refreshSoon` scheduled and that has not run yet. */
  private deferred: NodeJS.Immediate | null = null;

  constructor(options: SamplerOptions = {}) {
    this.recordsPerSegment = Math.max(1, Math.floor(options.recordsPerSegment ?? 48));
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.maxWrites = options.maxWrites ?? 20_000;
    this.budgetMs = options.budgetMs ?? 25;
  }

  /** The current estimate of `segment`'s stale share, if it has one. */
  staleRatio(segment: number): number | undefined {
    return this.estimates.get(segment)?.staleRatio;
  }

  estimate(segment: number): StalenessEstimate | undefined {
    return this.estimates.get(segment);
  }

  /**
   * Sample the sealed segments whose estimate is missing or expired, within the budget, and forget
   * segments that are gone. `segments` is the value log's list (`segmentInfos()`); `skip` names
   * segments not worth sampling (no ledger entry yet, being retired).
   */
  refresh(host: SamplerHost, segments: readonly SegmentInfo[], now: number, skip?: (segment: number) => boolean): void {
    const present = new Set<number>();
    for (const info of segments) present.add(info.segment);
    for (const segment of this.estimates.keys()) if (!present.has(segment)) this.estimates.delete(segment);
    for (const segment of this.probes.keys()) if (!present.has(segment)) this.probes.delete(segment);

    const writes = host.writeCount();
    const due: { info: SegmentInfo; at: number }[] = [];
    for (const info of segments) {
      if (!info.sealed || skip?.(info.segment) === true) continue;
      const current = this.estimates.get(info.segment);
      if (current !== undefined && now - current.at < this.maxAgeMs && writes - current.writes < this.maxWrites) continue;
      due.push({ info, at: current?.at ?? -1 });
    }
    due.sort((a, b) => a.at - b.at || a.info.segment - b.info.segment);
    const started = performance.now();
    for (const { info } of due) {
      try {
        this.sample(host, info, now, writes);
      } catch {
        // An estimate is optional: a segment that cannot be read (damaged, or its file gone) gets
        // none here, and the rewrite or read that reaches it reports the error.
        this.estimates.delete(info.segment);
        this.probes.delete(info.segment);
        this.failures++;
      }
      if (performance.now() - started >= this.budgetMs) break;
    }
  }

  /**
   * Run `refresh` (the caller's closure over its current segments) on the next turn of the event
   * loop; calls made before it runs share it. The estimates in the meantime are the current ones.
   */
  refreshSoon(refresh: () => void): void {
    if (this.deferred !== null) return;
    this.deferred = setImmediate(() => {
      this.deferred = null;
      refresh();
    });
    // A pending refresh alone must not keep a process alive.
    this.deferred.unref();
  }

  /** Whether a `refreshSoon` refresh is waiting to run. */
  get refreshPending(): boolean {
    return this.deferred !== null;
  }

  /** Drop a refresh `refreshSoon` scheduled (the database is closing). */
  cancelRefresh(): void {
    if (this.deferred !== null) clearImmediate(this.deferred);
    this.deferred = null;
  }

  /** Sample one sealed segment now and keep the estimate (undefined when it has no frame). */
  sample(host: SamplerHost, info: SegmentInfo, now = Date.now(), writes = host.writeCount()): StalenessEstimate | undefined {
    const started = performance.now();
    let probes = this.probes.get(info.segment);
    if (probes === undefined || probes.length !== info.length) {
      probes = this.chooseProbes(host.valueLog, info);
      this.probes.set(info.segment, probes);
    }
    let liveBytes = 0;
    let totalBytes = 0;
    const checked = probes.keys.length;
    for (let j = 0; j < checked; j++) {
      const newest = host.newestPointer(probes.keys[j]!);
      totalBytes += probes.recordBytes[j]!;
      if (newest !== null && sameBytes(newest, probes.pointers[j]!)) liveBytes += probes.recordBytes[j]!;
    }
    this.samples++;
    this.records += checked;
    this.ms += performance.now() - started;
    if (totalBytes === 0) return undefined;
    const estimate: StalenessEstimate = { staleRatio: 1 - liveBytes / totalBytes, sampledRecords: checked, at: now, writes };
    this.estimates.set(info.segment, estimate);
    return estimate;
  }

  /** `recordsPerSegment` records spread evenly over the segment's frames (several per frame when it has few). */
  private chooseProbes(log: ValueLog, info: SegmentInfo): Probes {
    const directory = log.frameDirectory(info.segment);
    const frameCount = directory.length / 2;
    const probes: Probes = { length: info.length, keys: [], pointers: [], recordBytes: [] };
    let scannedFrame = -1;
    let scan: SegmentScan | null = null;
    for (let j = 0; j < this.recordsPerSegment && frameCount > 0; j++) {
      const f = Math.min(frameCount - 1, Math.floor(((j + 0.5) * frameCount) / this.recordsPerSegment));
      const frameOffset = directory[2 * f]!;
      const frameLength = directory[2 * f + 1]!;
      if (f !== scannedFrame) {
        scan = log.scanFrames(info.segment, frameOffset, frameLength);
        scannedFrame = f;
      }
      const records = scan!.records;
      const count = records.length / 5;
      if (count === 0) continue;
      // Consecutive picks in one frame take consecutive records.
      const r = 5 * (j % count);
      const keyStart = records[r + 2]!;
      const valueStart = records[r + 3]!;
      const valueEnd = records[r + 4]!;
      const recordBytes = recordBytesOf(valueStart - keyStart, valueEnd - valueStart);
      // A copy: a view would keep the whole frame's buffer alive with the estimate.
      probes.keys.push(new Uint8Array(scan!.data.subarray(keyStart, valueStart)));
      probes.pointers.push(encodePointer({ segment: info.segment, frameOffset, frameLength, subIndex: records[r + 1]!, recordBytes }));
      probes.recordBytes.push(recordBytes);
    }
    return probes;
  }

  stats(): SamplerStats {
    return { segments: this.estimates.size, samples: this.samples, records: this.records, ms: Math.round(this.ms), failures: this.failures };
  }
}
