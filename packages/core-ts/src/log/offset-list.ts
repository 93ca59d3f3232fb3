/**
 * The file offsets of a segment's records, one u32 each (a segment stays well below 4 GiB), in a
 * typed array that grows by doubling: four bytes per entry and no per-entry object.
 *
 * The writer frames a batch of records in a tight loop and stores each record's offset straight
 * into the array as it goes (`room`, then `advance`): one typed-array store per record, where
 * handing over the batch's payload spans afterwards cost a copy of eight bytes per record and an
 * allocation per batch (measured ~5 ns per 100-byte record, about as much as the store loop
 * itself costs in total), and working offsets out from the spans in a second pass cost a pass.
 */
export class OffsetList {
  private offsets: Uint32Array;
  /** Offsets [0, length) are the records'. */
  length = 0;

  /** `capacity`: offsets to make room for up front (a segment expected to fill like the one before it). */
  constructor(initial: readonly number[] = [], capacity = 0) {
    this.offsets = new Uint32Array(Math.max(16, initial.length, capacity));
    for (const offset of initial) this.offsets[this.length++] = offset;
  }

  push(offset: number): void {
    if (this.length === this.offsets.length) this.grow(this.length + 1);
    this.offsets[this.length++] = offset;
  }

  /**
   * The backing array, with room for `extra` offsets from `length` on. The caller stores them at
   * [length, length + extra) and then calls `advance` with how many it stored; the array stays
   * valid until the next call that may grow it (`room`, `push`).
   */
  room(extra: number, expected = 0): Uint32Array {
    if (this.length + extra > this.offsets.length) this.grow(this.length + extra, expected);
    return this.offsets;
  }

  /** `count` offsets were stored after `length` (into the array `room` returned). */
  advance(count: number): void {
    this.length += count;
  }

  /** Offsets the backing array has room for. */
  get capacity(): number {
    return this.offsets.length;
  }

  at(position: number): number {
    return this.offsets[position]!;
  }

  /** Offsets [from, to) as a view of the backing array (it keeps its values if the list grows). */
  view(from: number, to: number): Uint32Array {
    return this.offsets.subarray(from, to);
  }

  /**
   * Move the offsets to a new array: views handed out before (to a background checksum job) keep
   * the old one, whatever is stored into the list from now on.
   */
  detach(): void {
    this.offsets = this.offsets.slice();
  }

  /** Keep the first `length` offsets. */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }

  /**
   * `expected`: about how many offsets the list will hold in the end. A log's first segment starts
   * with no size to go by, and growing it from 16 to hundreds of thousands by doubling copied (and
   * faulted in) each array in turn; given an estimate, it grows at most 16-fold at once towards it,
   * and not past it when it is enough (doubling past it kept up to twice the memory a sealed
   * segment needs).
   */
  private grow(needed: number, expected = 0): void {
    let size = this.offsets.length * 2;
    while (size < needed) size *= 2;
    if (expected >= needed) size = expected > size ? Math.min(expected, 16 * size) : expected;
    const grown = new Uint32Array(size);
    grown.set(this.offsets.subarray(0, this.length));
    this.offsets = grown;
  }
}
