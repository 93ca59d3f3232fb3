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

  /**
   * Push the offsets of records framed in a batch from their payload spans (`spans[2k]` is where
   * payload `k` starts in the batch's buffer): record `k` of [from, to) starts at
   * `spans[2k] + shift` in the file.
   */
  pushFromSpans(spans: Uint32Array, from: number, to: number, shift: number): void {
    const needed = this.length + (to - from);
    if (needed > this.offsets.length) {
      let size = this.offsets.length * 2;
      while (size < needed) size *= 2;
      const grown = new Uint32Array(size);
      grown.set(this.offsets.subarray(0, this.length));
      this.offsets = grown;
    }
    const offsets = this.offsets;
    let length = this.length;
    for (let k = from; k < to; k++) offsets[length++] = spans[2 * k]! + shift;
    this.length = length;
  }

  at(position: number): number {
    return this.offsets[position]!;
  }

  /** Keep the first `length` offsets. */
  truncate(length: number): void {
    this.length = Math.min(this.length, length);
  }
}
