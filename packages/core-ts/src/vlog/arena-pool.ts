/**
 * Buffers that frames are laid out in on their way to a segment file, reused once their write has
 * landed. A fresh multi-MiB buffer costs a page fault per 4 KiB on first touch (and the pages go
 * back to the OS when it is collected): writing 16 KiB values into fresh memory measured ~3.5×
 * the copy itself. A few buffers are kept, so the memory held stays a few MiB.
 */

/** Smallest buffer made: appends of small values share sizes, so buffers get reused. */
const MIN_ARENA_BYTES = 64 * 1024;

export class ArenaPool {
  private readonly free: Buffer[] = [];

  /** Keep at most `keep` free buffers of at most `maxBytes` each. */
  constructor(
    private readonly keep: number,
    private readonly maxBytes: number,
  ) {}

  /** A buffer of at least `bytes` bytes (contents unspecified), reused when one is free. */
  take(bytes: number): Buffer {
    for (let i = 0; i < this.free.length; i++) {
      const arena = this.free[i]!;
      if (arena.length >= bytes) {
        this.free.splice(i, 1);
        return arena;
      }
    }
    let size = MIN_ARENA_BYTES;
    while (size < bytes) size *= 2;
    // Never a slice of Node's shared pool: the whole buffer is ours to hand out again.
    return Buffer.allocUnsafeSlow(size > this.maxBytes ? bytes : size);
  }

  /** `arena` is no longer referenced by anything that reads it. */
  give(arena: Buffer): void {
    if (arena.length > this.maxBytes || this.free.length >= this.keep) return;
    this.free.push(arena);
  }

  /** Free buffers held (for tests and stats). */
  get held(): number {
    return this.free.length;
  }
}
