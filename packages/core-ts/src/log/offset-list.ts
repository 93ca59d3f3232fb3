/**
 * The file offsets of a segment's records, one u32 each (a segment stays well below 4 GiB), in a
 * typed array that grows by doubling: four bytes per entry and no per-entry object.
 */
export class OffsetList {
  private offsets: Uint32Array;
  length = 0;

  constructor(initial: readonly number[] = []) {
    this.offsets = new Uint32Array(Math.max(16, initial.length));
    for (const offset of initial) this.push(offset);
  }

  push(offset: number): void {
    if (this.length === this.offsets.length) {
      const grown = new Uint32Array(this.offsets.length * 2);
      grown.set(this.offsets);
      this.offsets = grown;
    }
    this.offsets[this.length++] = offset;
  }

  at(position: number): number {
    return this.offsets[position]!;
  }

  /** Keep the first `length` offsets. */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }
}
