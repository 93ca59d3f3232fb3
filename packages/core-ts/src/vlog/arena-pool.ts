/**
 * Buffers that frames are laid out in on their way to a segment file, reused once their write has
 * landed. A fresh multi-MiB buffer costs a page fault per 4 KiB on first touch (and the pages go
 * back to the OS when it is collected): writing 16 KiB values into fresh memory measured ~3.5×
 * the copy itself.
 *
 * What the pool keeps is resident memory nobody uses until the next append, so it is bounded by
 * bytes, not by a count: appends of different sizes (a write batch's few MiB, a rewrite's copy of a
 * segment's live records) would otherwise leave the largest buffers parked. A take picks the
 * smallest free buffer that fits, so small appends do not claim (and keep warm) a large buffer
 * another size class needs. Only touched pages are resident: a buffer rounded up to a power of two
 * costs what its appends wrote into it.
 */

/** Smallest buffer made: appends of small values share sizes, so buffers get reused. */
const MIN_ARENA_BYTES = 64 * 1024;

export class ArenaPool {
  private readonly free: Buffer[] = [];
  private freeBytes = 0;

  /**
   * Keep free buffers of at most `maxBytes` each while they add up to at most `keepBytes`
   * (`keepBytes` ≥ `maxBytes`: one buffer of every size that may be kept fits).
   */
  constructor(
    private readonly keepBytes: number,
    private readonly maxBytes: number,
  ) {}

  /** A buffer of at least `bytes` bytes (contents unspecified), reused when one is free. */
  take(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const length = this.free[i]!.length;
      if (length >= bytes && (best < 0 || length < this.free[best]!.length)) best = i;
    }
    if (best >= 0) {
      const arena = this.free[best]!;
      this.free.splice(best, 1);
      this.freeBytes -= arena.length;
      return arena;
    }
    let size = MIN_ARENA_BYTES;
    while (size < bytes) size *= 2;
    // Never a slice of Node's shared pool: the whole buffer is ours to hand out again.
    return Buffer.allocUnsafeSlow(size > this.maxBytes ? bytes : size);
  }

  /**
   * `arena` is no longer referenced by anything that reads it. Kept when it fits the budget; the
   * buffers already kept stay (they are the sizes appends keep asking for).
   */
  give(arena: Buffer): void {
    if (arena.length > this.maxBytes || this.freeBytes + arena.length > this.keepBytes) return;
    this.free.push(arena);
    this.freeBytes += arena.length;
  }

  /** Free buffers held (for tests and stats). */
  get held(): number {
    return this.free.length;
  }

  /** Bytes of the free buffers held (for tests and stats). */
  get heldBytes(): number {
    return this.freeBytes;
  }
}
