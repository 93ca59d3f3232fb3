/**
 * The memtable's sorted view (docs/ENGINE.md): the entries in internal-key order — user key
 * ascending, and within one key newest first — as two runs an iterator merges:
 *
 * - the **view**: entries [0, viewCount), sorted by one accelerator `sortKeys` call over their user
 *   keys and cached;
 * - the **tail**: entries added since, [viewCount, count), sorted on their own (cached too, until
 *   the next add).
 *
 * `sortKeys` is stable and entries arrive in seq order, so each key's entries come out oldest first;
 * reversing every run of one key id turns that into newest first without comparing any bytes.
 *
 * The whole view is rebuilt (one sort of everything) when the tail outgrows a fraction of it, or
 * when the tail sorts done since the last rebuild add up to more than a rebuild would cost. The
 * first rule bounds what an iterator merges; the second is "rent or buy" for writes interleaved
 * with iterator creation, where each new iterator re-sorts a slightly longer tail: the re-sorting
 * paid for never exceeds a small multiple of the rebuilds, whatever the pattern. (Measured at 400k
 * entries: add + iterator in a loop went from ~1.5 ms per iterator with the fraction alone, since
 * the tail grows to n/8, to ~0.15 ms.)
 */
import type { Memtable } from './memtable.js';

/** The tail is merged by iterators until it holds more than this fraction of the view... */
const TAIL_FRACTION = 1 / 8;
/** ...or this many entries, whichever is larger (a small memtable is simply re-sorted). */
const MIN_TAIL_REBUILD = 256;
/**
 * Rebuild once the entries tail-sorted since the last rebuild exceed this multiple of the view. A
 * full sort costs about 3× per entry what a tail sort does (packing and sorting a large batch
 * misses the caches more), so 2 keeps the tail work within a small factor of the rebuild work.
 */
const TAIL_WORK_PER_REBUILD = 2;

/** Entry indexes in internal-key order: `view` covers the older entries, `tail` the newer ones. */
export interface SortedRuns {
  readonly view: Uint32Array;
  readonly tail: Uint32Array;
}

const EMPTY = new Uint32Array(0);

export class SortedView {
  private view: Uint32Array = EMPTY;
  private tail: Uint32Array = EMPTY;
  /** The entry count the tail was sorted at. */
  private tailEnd = 0;
  private rebuilds = 0;
  private tailSorts = 0;
  /** Entries sorted by tail sorts since the last rebuild. */
  private tailWork = 0;

  constructor(private readonly memtable: Memtable) {}

  get stats(): { readonly sortedEntries: number; readonly rebuilds: number; readonly tailSorts: number } {
    return { sortedEntries: this.view.length, rebuilds: this.rebuilds, tailSorts: this.tailSorts };
  }

  /** Runs covering entries [0, count). */
  runs(count: number): SortedRuns {
    const viewCount = this.view.length;
    const tailLength = count - viewCount;
    if (tailLength === 0) return { view: this.view, tail: EMPTY };
    const needsSort = this.tailEnd !== count;
    const tooLong = tailLength > Math.max(MIN_TAIL_REBUILD, viewCount * TAIL_FRACTION);
    const overspent = needsSort && tailLength > MIN_TAIL_REBUILD && this.tailWork + tailLength > viewCount * TAIL_WORK_PER_REBUILD;
    if (tooLong || overspent) {
      this.view = this.sortRange(0, count);
      this.tail = EMPTY;
      this.tailEnd = count;
      this.tailWork = 0;
      this.rebuilds++;
      return { view: this.view, tail: EMPTY };
    }
    if (needsSort) {
      this.tail = this.sortRange(viewCount, count);
      this.tailEnd = count;
      this.tailWork += tailLength;
      this.tailSorts++;
    }
    return { view: this.view, tail: this.tail };
  }

  /** Entries [from, to) in internal-key order. */
  private sortRange(from: number, to: number): Uint32Array {
    const memtable = this.memtable;
    const permutation = memtable.sortKeysOf(from, to);
    const n = permutation.length;
    const order = new Uint32Array(n);
    for (let i = 0; i < n; i++) order[i] = from + permutation[i]!;
    // Stable sort: a key's entries are in arrival (= seq ascending) order; reverse each key's run.
    for (let i = 0; i < n; ) {
      const keyId = memtable.keyIdAt(order[i]!);
      let j = i + 1;
      while (j < n && memtable.keyIdAt(order[j]!) === keyId) j++;
      for (let lo = i, hi = j - 1; lo < hi; lo++, hi--) {
        const swap = order[lo]!;
        order[lo] = order[hi]!;
        order[hi] = swap;
      }
      i = j;
    }
    return order;
  }
}
