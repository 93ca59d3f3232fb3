/**
 * The file offsets of a segment's records, one u32 each (a segment stays well below 4 GiB), in a
 * typed array that grows by doubling: four bytes per entry and no per-entry object.
 *
 * The writer frames whole batches of records in a tight loop that already records each payload's
 * span for the batch's checksums; it hands those spans over as they are (`pushSpans`, one copy of
 * the array), and the offsets are worked out from them only when someone asks for one — reading a
 * record that was just appended is rare in a write-heavy log, so appending does not pay a second
 * pass over every record for it (a batch of fewer than 64 records is worked out at once). The
 * price is memory: a segment's records that were never read
 * cost eight bytes each (their spans) instead of four. (Measured alternatives: working the offsets
 * out eagerly, or copying the spans into one growing array per segment, cost 2–4× more per record
 * on the append path.)
 */
import { RECORD_HEADER_BYTES } from './record-layout.js';

export class OffsetList {
  /** Offsets worked out so far: positions [0, resolved). */
  private offsets: Uint32Array;
  private resolved = 0;
  /** Batches of spans not worked out yet, in order, each covering the positions after the previous one. */
  private pending: PendingSpans[] = [];
  length = 0;

  constructor(initial: readonly number[] = []) {
    this.offsets = new Uint32Array(Math.max(16, initial.length));
    for (const offset of initial) this.push(offset);
  }

  push(offset: number): void {
    this.resolve();
    this.ensureRoom(this.length + 1);
    this.offsets[this.length++] = offset;
    this.resolved = this.length;
  }

  /**
   * Append the offsets of records framed in a batch, from their payload spans: `spans[2k]` is
   * where payload `k` of [from, to) starts in the batch's buffer, whose first byte is at file
   * offset `shift`, so record `k` starts at `spans[2k] + shift - RECORD_HEADER_BYTES`. The spans
   * are copied (the caller reuses its array).
   */
  pushSpans(spans: Uint32Array, from: number, to: number, shift: number): void {
    if (to <= from) return;
    if (to - from >= LAZY_BATCH_RECORDS) {
      this.pending.push({ spans: spans.slice(2 * from, 2 * to), shift });
      this.length += to - from;
      return;
    }
    // A small batch (a single append, a synced call) is worked out now: kept pending, its few
    // spans would cost more memory in the array object holding them than the offsets themselves.
    this.resolve();
    this.ensureRoom(this.length + (to - from));
    const base = shift - RECORD_HEADER_BYTES;
    for (let k = from; k < to; k++) this.offsets[this.length++] = spans[2 * k]! + base;
    this.resolved = this.length;
  }

  at(position: number): number {
    if (position >= this.resolved) this.resolve();
    return this.offsets[position]!;
  }

  /** Keep the first `length` offsets. */
  truncate(length: number): void {
    this.resolve();
    this.length = Math.min(this.length, length);
    this.resolved = this.length;
  }

  /** Work out every pending offset. */
  private resolve(): void {
    if (this.pending.length === 0) return;
    this.ensureRoom(this.length);
    const offsets = this.offsets;
    let at = this.resolved;
    for (const { spans, shift } of this.pending) {
      const base = shift - RECORD_HEADER_BYTES;
      for (let i = 0; i < spans.length; i += 2) offsets[at++] = spans[i]! + base;
    }
    this.pending = [];
    this.resolved = at;
  }

  private ensureRoom(needed: number): void {
    if (needed <= this.offsets.length) return;
    let size = this.offsets.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint32Array(size);
    grown.set(this.offsets.subarray(0, this.resolved));
    this.offsets = grown;
  }
}

/** Batches of at least this many records keep their spans until an offset is asked for. */
const LAZY_BATCH_RECORDS = 64;

interface PendingSpans {
  /** (payload start, payload end) pairs in the batch's buffer. */
  readonly spans: Uint32Array;
  /** File offset of the batch buffer's first byte. */
  readonly shift: number;
}
