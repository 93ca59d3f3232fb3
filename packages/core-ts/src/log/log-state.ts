/**
 * The in-memory state of an open log, shared by its writer, reader and truncations: the index
 * bounds, the segments in index order, and whether the log is poisoned.
 *
 * Invariants: `firstIndex ≤ nextIndex`; segments are sorted by start and contiguous (each one's
 * `endIndex` is the next one's `start`); the last segment, if any, is the one appended to; every
 * index in [firstIndex, nextIndex) lies in some segment.
 */
import { ErrorCodes, siltError, type SiltError } from '../errors.js';
import type { Vfs } from '../vfs/types.js';
import type { Segment } from './segment.js';

export class LogState {
  /** The write or fsync failure that poisoned the log, or null. */
  poisonedBy: unknown = null;

  constructor(
    readonly dir: string,
    readonly vfs: Vfs,
    public firstIndex: number,
    public nextIndex: number,
    readonly segments: Segment[],
  ) {}

  get active(): Segment | null {
    return this.segments[this.segments.length - 1] ?? null;
  }

  /** The segment holding `index` (which must lie in [firstIndex, nextIndex)). */
  segmentFor(index: number): Segment {
    const segments = this.segments;
    let low = 0;
    let high = segments.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (segments[middle]!.start <= index) low = middle;
      else high = middle - 1;
    }
    return segments[low]!;
  }

  throwIfPoisoned(): void {
    if (this.poisonedBy !== null) throw this.poisonedError();
  }

  poisonedError(): SiltError {
    return siltError(
      ErrorCodes.POISONED,
      `the log in ${this.dir} refuses writes: an earlier write or fsync failed, so what reached the disk is unknown; reopen it`,
      this.poisonedBy,
    );
  }
}
