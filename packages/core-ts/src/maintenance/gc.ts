/**
 * Value-log garbage collection (DESIGN §4): delete the segments nothing can reach any more.
 *
 * A segment is collected when it is sealed (no lane appends to it) and
 * - the ledger says it has no live bytes (or does not list it at all: an orphan left by a crash
 *   between a drop edit and its unlink, or values whose writes never reached a table), and
 * - no live version's tables reference it (snapshots and iterators pin old versions), and
 * - no memtable an open read can still see holds a pointer into it (the mutable and immutable
 *   memtables, and those an open iterator captured before they were flushed), and
 * - no append's pointers into it are still on their way to a memtable (a write waiting for its
 *   turn, a rewrite's copies before their swap lands: `ValueLog.settle`).
 *
 * A **retired** segment (FORMAT §7, retired at seq S: every pointer into it that the tables hold
 * is shadowed for reads at S or above) is collected once no open reader reads below S (snapshots,
 * iterators) and no append into it is in flight — the tables and memtables still holding its
 * shadowed pointers do not block it. Its ledger entry stays while tables reference it: the
 * compactions that drop those pointers move its live bytes to stale as for any segment, and the
 * entry is dropped when nothing is live (an entry whose file is already gone needs no unlink).
 *
 * Ledger entries are dropped by one manifest edit first, then the files are unlinked: a crash in
 * between leaves orphans, which the next pass collects (a retired segment's file left behind is
 * collected again the same way). Checkpoints hold their own hard links, so removing our name never
 * touches a checkpoint's file.
 *
 * A pass first logs the retirements that became due (`retireReady`: rewrites whose swaps reached a
 * table), so retiring and dropping never race: both are edits of the one GC pass running.
 */
import { Kind } from '../keys/internal-key.js';
import type { Ledger, LedgerChange } from '../manifest/index.js';
import type { Memtable } from '../memtable/index.js';
import { decodePointer, type ValueLog } from '../vlog/index.js';

export interface GcHost {
  readonly valueLog: ValueLog;
  ledger(): Ledger;
  /** Segments the tables of some live version reference. */
  referencedByVersions(): Set<number>;
  /** Every memtable a read may still consult. */
  reachableMemtables(): Iterable<Memtable>;
  /** Log and install an edit dropping these ledger entries. */
  dropFromLedger(changes: readonly LedgerChange[]): Promise<void>;
  /** The lowest seq an open reader reads at (Infinity when none): a retired segment waits for it. */
  oldestReaderSeq(): number;
  /** Log the retirements that are due; returns how many segments it retired. */
  retireReady?(): Promise<number>;
  /** Test hook: after the retire edit (before any unlink), and after the unlinks. */
  afterStep?(step: 'retire' | 'unlink'): void | Promise<void>;
}

export interface GcResult {
  readonly deletedSegments: readonly number[];
  /** Each deleted segment's lane and file bytes, in `deletedSegments` order. */
  readonly deleted: readonly { readonly segment: number; readonly lane: number; readonly bytes: number }[];
  /** File bytes the deleted segments held. */
  readonly reclaimedBytes: number;
  /** Segments with nothing live that an open snapshot, iterator or memtable still reaches. */
  readonly blockedSegments: number;
}

/** Frozen memtables never change: their referenced segments are computed once. */
const frozenSegments = new WeakMap<Memtable, ReadonlySet<number>>();

export function segmentsOfMemtable(mem: Memtable): ReadonlySet<number> {
  const cached = frozenSegments.get(mem);
  if (cached !== undefined) return cached;
  const segments = new Set<number>();
  const it = mem.iterator();
  for (let ok = it.seekToFirst(); ok; ok = it.next()) if (it.kind === Kind.Pointer) segments.add(decodePointer(it.value).segment);
  if (mem.frozen) frozenSegments.set(mem, segments);
  return segments;
}

export interface Collectable {
  /** Segment files to unlink. */
  readonly collectable: number[];
  /** Ledger entries to drop: nothing live, and their file collectable now or already gone. */
  readonly drops: number[];
  /** Segments GC would take but a reader (or an append in flight) still holds. */
  readonly blocked: number;
}

/** The segments a pass may delete now (see the module comment), and how many only readers hold. */
export function collectableSegments(host: GcHost): Collectable {
  const log = host.valueLog;
  const ledger = host.ledger();
  let reachable: Set<number> | null = null;
  const reachableNow = (): Set<number> => {
    if (reachable !== null) return reachable;
    reachable = host.referencedByVersions();
    for (const mem of host.reachableMemtables()) for (const segment of segmentsOfMemtable(mem)) reachable.add(segment);
    return reachable;
  };
  const oldestReader = host.oldestReaderSeq();
  const collectable: number[] = [];
  const drops: number[] = [];
  let blocked = 0;
  for (const info of log.segmentInfos()) {
    if (!info.sealed) continue;
    const entry = ledger.get(info.segment);
    const dead = entry === undefined || entry.total === entry.stale;
    if (entry !== undefined && entry.retiredAt > 0) {
      // Shadowed for every read at retiredAt or above: only older readers can still reach it.
      if (oldestReader < entry.retiredAt || log.hasInFlight(info.segment)) blocked++;
      else {
        collectable.push(info.segment);
        if (dead) drops.push(info.segment);
      }
      continue;
    }
    if (!dead) continue;
    // Pointers on their way to a memtable (a write or a rewrite's swap not applied yet).
    if (reachableNow().has(info.segment) || log.hasInFlight(info.segment)) blocked++;
    else {
      collectable.push(info.segment);
      if (entry !== undefined) drops.push(info.segment);
    }
  }
  // Entries whose file is gone (a retired segment deleted earlier) leave once nothing is live.
  for (const entry of ledger.values()) {
    if (entry.total === entry.stale && log.info(entry.segment) === undefined) drops.push(entry.segment);
  }
  return { collectable, drops, blocked };
}

/** One GC pass: log the due retirements, drop the dead ledger entries, then unlink the files. */
export async function collectGarbage(host: GcHost, limit = Number.MAX_SAFE_INTEGER): Promise<GcResult> {
  const retired = (await host.retireReady?.()) ?? 0;
  if (retired > 0) await host.afterStep?.('retire');
  const { collectable, drops, blocked } = collectableSegments(host);
  const segments = collectable.slice(0, limit);
  const unlinking = new Set(segments);
  const dropping = drops.filter((segment) => unlinking.has(segment) || host.valueLog.info(segment) === undefined);
  if (dropping.length > 0) await host.dropFromLedger(dropping.map((segment): LedgerChange => ({ segment, drop: true })));
  if (segments.length === 0) return { deletedSegments: [], deleted: [], reclaimedBytes: 0, blockedSegments: blocked };
  let reclaimedBytes = 0;
  const deleted: { segment: number; lane: number; bytes: number }[] = [];
  for (const segment of segments) {
    const info = host.valueLog.info(segment);
    const bytes = info?.length ?? 0;
    reclaimedBytes += bytes;
    await host.valueLog.remove(segment);
    deleted.push({ segment, lane: info?.lane ?? 0, bytes });
  }
  await host.afterStep?.('unlink');
  return { deletedSegments: segments, deleted, reclaimedBytes, blockedSegments: blocked };
}
