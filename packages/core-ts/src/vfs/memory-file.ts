/**
 * The content of one in-memory file, as the running program sees it and as the disk holds it.
 *
 * `current` is what reads return (the page cache). `durable` is what a power loss leaves (the
 * disk). Every write or truncate is applied to `current` and remembered in `unsynced`; a successful
 * sync replays `unsynced` onto `durable`. A failed sync forgets `unsynced` without replaying it: on
 * Linux the kernel marks the failed pages clean, so a later fsync "succeeds" without writing them
 * (the fsyncgate behaviour). A program that retries fsync and believes it is then safe loses data
 * in this model exactly as it would on a real machine.
 */
import type { SeededRandom } from './seeded-random.js';

type UnsyncedChange =
  | { readonly kind: 'write'; readonly position: number; readonly data: Uint8Array }
  | { readonly kind: 'truncate'; readonly length: number };

/** A growable byte array: `bytes[0, length)` is the content. */
export class GrowableBytes {
  private bytes = new Uint8Array(0);
  length = 0;

  static copyOf(data: Uint8Array): GrowableBytes {
    const copy = new GrowableBytes();
    copy.write(0, data);
    return copy;
  }

  write(position: number, data: Uint8Array): void {
    // As with pwrite(2), writing nothing does not extend the file.
    if (data.length === 0) return;
    const end = position + data.length;
    this.reserve(end);
    // Bytes between the old end and `position` stay zero: the hole a sparse write leaves.
    if (position > this.length) this.bytes.fill(0, this.length, position);
    this.bytes.set(data, position);
    if (end > this.length) this.length = end;
  }

  truncate(length: number): void {
    this.reserve(length);
    if (length > this.length) this.bytes.fill(0, this.length, length);
    this.length = length;
  }

  read(target: Uint8Array, targetOffset: number, length: number, position: number): number {
    const count = Math.max(0, Math.min(length, this.length - position));
    if (count > 0) target.set(this.bytes.subarray(position, position + count), targetOffset);
    return count;
  }

  snapshot(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }

  private reserve(capacity: number): void {
    if (capacity <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(capacity, this.bytes.length * 2, 256));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}

export class MemoryFile {
  readonly current = new GrowableBytes();
  private durable = new GrowableBytes();
  private unsynced: UnsyncedChange[] = [];

  write(position: number, data: Uint8Array): void {
    this.current.write(position, data);
    // A copy: the caller may reuse its buffer (and Buffer#slice would not copy).
    this.unsynced.push({ kind: 'write', position, data: Uint8Array.prototype.slice.call(data) });
  }

  truncate(length: number): void {
    this.current.truncate(length);
    this.unsynced.push({ kind: 'truncate', length });
  }

  /** A successful fsync: everything written so far is on the disk. */
  sync(): void {
    for (const change of this.unsynced) apply(this.durable, change);
    this.unsynced = [];
  }

  /** A failed fsync: the unsynced changes will never reach the disk through a later sync. */
  loseUnsynced(): void {
    this.unsynced = [];
  }

  get hasUnsynced(): boolean {
    return this.unsynced.length > 0;
  }

  durableContent(): Uint8Array {
    return this.durable.snapshot();
  }

  /**
   * Power loss. Without `random`, the file returns to its durable content. With it, the disk is
   * assumed to have written back a prefix of the unsynced changes in order (a random number of
   * them, possibly none), the last one of which is torn at a random byte.
   */
  crash(random?: SeededRandom): void {
    let kept = 0;
    if (random !== undefined && this.unsynced.length > 0) kept = random.int(0, this.unsynced.length);
    for (let i = 0; i < kept; i++) {
      const change = this.unsynced[i]!;
      const isLastKept = i === kept - 1;
      if (isLastKept && change.kind === 'write') {
        const tornAt = random!.int(0, change.data.length);
        apply(this.durable, { kind: 'write', position: change.position, data: change.data.subarray(0, tornAt) });
      } else {
        apply(this.durable, change);
      }
    }
    this.unsynced = [];
    const content = this.durable.snapshot();
    this.current.truncate(0);
    this.current.write(0, content);
  }

  /** Damage the disk and the cache alike (bit rot), outside any write path. */
  corrupt(position: number, xorMask: number): void {
    for (const bytes of [this.current, this.durable]) {
      if (position >= bytes.length) continue;
      const one = new Uint8Array(1);
      bytes.read(one, 0, 1, position);
      one[0] = one[0]! ^ xorMask;
      bytes.write(position, one);
    }
  }
}

function apply(bytes: GrowableBytes, change: UnsyncedChange): void {
  if (change.kind === 'write') bytes.write(change.position, change.data);
  else bytes.truncate(change.length);
}
