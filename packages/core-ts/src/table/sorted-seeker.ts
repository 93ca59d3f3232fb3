/**
 * Newest-entry lookups in one table for user keys given in ascending order (a value-log rewrite
 * checks thousands of keys against the same tables). Where `TableReader.get` starts every lookup
 * from scratch — a binary search of the index, a block-cache probe, a binary search of the block's
 * restart points — the seeker only moves forward: it stays in the current block while the key is
 * not past the block's last key, steps forward from the previous answer when the next one is near,
 * and gallops along the index when it is not. Each block is fetched (and checked, on a cache miss)
 * once per run of keys; blocks the cache does not hold are read and checked several at a time
 * into the seeker's own memory, and not cached (`TableReader.passingBlock`).
 *
 * A seeker reads the table as it is when `seek` runs and keeps a block it fetched; it holds no
 * reference that keeps the table open — use it within one synchronous turn, like `get`.
 */
import { compareBytes, TRAILER_BYTES } from '../keys/internal-key.js';
import { readU32 } from './bytes.js';
import type { StoredBlock } from './stored-block.js';
import { PassingRun, type TableReader } from './table-reader.js';
import { readVarint, varintValue } from './block-varint.js';

export class SortedTableSeeker {
  /** The current block, -1 before the first seek, `blockCount` once every key is past the table. */
  private b = -1;
  private block: StoredBlock | null = null;
  /**
   * Where blocks the cache does not hold are read, several at a time: the seeker moves forward
   * through the table once, so they are not cached.
   */
  private readonly run = new PassingRun();
  /** The current block's payload (empty when none). */
  data: Uint8Array = new Uint8Array(0);
  private entriesEnd = 0;
  private restartCount = 0;
  /** The current entry: its offset (-1: none), its internal key rebuilt in `key[0, keyLength)`. */
  private pos = -1;
  private key = new Uint8Array(64);
  private keyLength = 0;
  /** Where the entry after the current one starts, and the index of the next restart point after the current entry (and its offset). */
  private nextPos = 0;
  private nextRestart = 0;
  private nextRestartAt = 0;
  kind = 0;
  valueFrom = 0;
  valueTo = 0;

  constructor(readonly reader: TableReader) {}

  /**
   * Move to the first entry whose user key is ≥ `userKey`; true when that entry has `userKey`
   * (then `kind`, `data`, `valueFrom`, `valueTo` describe it: the key's newest entry in the table).
   * `userKey` must not sort before the previous call's (the caller checks the order: a key
   * sought out of order may be reported absent).
   */
  seek(userKey: Uint8Array): boolean {
    const n = userKey.length;
    const reader = this.reader;
    const count = reader.blockCount;
    if (this.b >= count) return false;
    const { data: index, offsets } = reader.indexKeys;
    // Block b holds every user key in (index user key of b − 1, index user key of b].
    let b = this.b;
    if (b < 0 || compareBytes(index, offsets[b]!, offsets[b + 1]! - TRAILER_BYTES, userKey, 0, n) < 0) {
      b = this.nextBlock(b < 0 ? 0 : b + 1, userKey);
      this.b = b;
      if (b >= count) {
        this.release();
        return false;
      }
      const block = reader.passingBlock(b, this.run);
      this.block = block;
      this.data = block.data;
      this.entriesEnd = block.entriesEnd;
      this.restartCount = block.restartCount;
      this.pos = -1;
    }
    // The answer is in this block (its last key is ≥ the target), at or after the current entry.
    // Past the next restart point, search the restart points; before it, walk.
    if (this.pos < 0) {
      this.startAtRestart(this.lastRestartBelow(0, userKey));
    } else if (this.nextRestart < this.restartCount && this.restartUserKeyBelow(this.nextRestart, userKey)) {
      // Usually the next key is a restart interval or two ahead: step rather than bisect.
      let r = this.nextRestart;
      while (r + 1 < this.restartCount && this.restartUserKeyBelow(r + 1, userKey)) r++;
      this.startAtRestart(r);
    }
    return this.walkTo(userKey);
  }

  /** Let go of the current block. */
  release(): void {
    this.block = null;
    this.data = new Uint8Array(0);
    this.pos = -1;
  }

  /**
   * From the current entry, step forward to the first entry whose user key is ≥ `userKey`; true
   * when it equals it. `d`, the first byte where the current user key and `userKey` differ, lets
   * most steps skip the key: an entry sharing more than `d` bytes with a smaller predecessor that
   * differs from the target at `d` is smaller too, so neither its comparison nor its key bytes
   * are needed (the bytes before `d` it shares are the target's; `key` is rebuilt from there at
   * the next entry compared).
   */
  private walkTo(userKey: Uint8Array): boolean {
    const n = userKey.length;
    const data = this.data;
    let key = this.key;
    let m = this.keyLength - TRAILER_BYTES;
    let d = 0;
    const common0 = m < n ? m : n;
    while (d < common0 && key[d] === userKey[d]) d++;
    if ((d < m && d < n && key[d]! > userKey[d]!) || ((d >= m || d >= n) && m >= n)) return d === m && m === n;
    let pos = this.nextPos;
    let entry = pos;
    let kind = 0;
    let valueFrom = 0;
    let valueLength = 0;
    let keyLength = 0;
    // Invariant: the entry before `pos` is smaller than the target, and differs from it first at
    // byte d < its user length when `differing`.
    let differing = d < m && d < n;
    const restartCount = this.restartCount;
    for (;;) {
      entry = pos;
      if (pos === this.nextRestartAt) {
        this.nextRestart++;
        this.nextRestartAt = this.nextRestart < restartCount ? readU32(data, this.entriesEnd + 4 * this.nextRestart) : this.entriesEnd;
      }
      let shared = data[pos]!;
      let unshared: number;
      if (shared < 0x80 && data[pos + 1]! < 0x80 && data[pos + 2]! < 0x80) {
        unshared = data[pos + 1]!;
        valueLength = data[pos + 2]!;
        pos += 3;
      } else {
        pos = readVarint(data, pos);
        shared = varintValue;
        pos = readVarint(data, pos);
        unshared = varintValue;
        pos = readVarint(data, pos);
        valueLength = varintValue;
      }
      kind = data[pos++]!;
      keyLength = shared + unshared;
      if (differing && shared > d) {
        // Smaller, like its predecessor: skip it, key bytes and all.
        pos += unshared + valueLength;
        continue;
      }
      if (key.length < keyLength) {
        const grown = new Uint8Array(Math.max(keyLength, 2 * key.length));
        grown.set(key.subarray(0, shared));
        key = grown;
        this.key = grown;
      }
      for (let i = 0; i < unshared; i++) key[shared + i] = data[pos + i]!;
      pos += unshared;
      valueFrom = pos;
      pos += valueLength;
      m = keyLength - TRAILER_BYTES;
      if (shared < d) d = shared;
      const common = m < n ? m : n;
      while (d < common && key[d] === userKey[d]) d++;
      differing = d < m && d < n;
      // The block's last key is ≥ the target: the walk stops within the block.
      if (differing ? key[d]! > userKey[d]! : m >= n) break;
    }
    this.pos = entry;
    this.keyLength = keyLength;
    this.kind = kind;
    this.valueFrom = valueFrom;
    this.valueTo = valueFrom + valueLength;
    this.nextPos = pos;
    return d === m && m === n;
  }

  /** Decode the entry at restart point `r` (keys there share nothing) as the current entry. */
  private startAtRestart(r: number): void {
    const data = this.data;
    const at = readU32(data, this.entriesEnd + 4 * r);
    let pos = readVarint(data, at + 1);
    const keyLength = varintValue;
    pos = readVarint(data, pos);
    const valueLength = varintValue;
    this.kind = data[pos++]!;
    if (this.key.length < keyLength) this.key = new Uint8Array(Math.max(keyLength, 2 * this.key.length));
    const key = this.key;
    for (let i = 0; i < keyLength; i++) key[i] = data[pos + i]!;
    pos += keyLength;
    this.pos = at;
    this.keyLength = keyLength;
    this.valueFrom = pos;
    this.valueTo = pos + valueLength;
    this.nextPos = pos + valueLength;
    this.nextRestart = r + 1;
    this.nextRestartAt = r + 1 < this.restartCount ? readU32(data, this.entriesEnd + 4 * (r + 1)) : this.entriesEnd;
  }

  /** Whether the user key at restart point `r` is < `userKey`. */
  private restartUserKeyBelow(r: number, userKey: Uint8Array): boolean {
    const data = this.data;
    const at = readU32(data, this.entriesEnd + 4 * r);
    // A restart entry shares nothing: varint 0, varint unshared, varint value length, tag, key.
    let pos = readVarint(data, at + 1);
    const keyLength = varintValue;
    pos = readVarint(data, pos);
    pos++;
    return compareBytes(data, pos, pos + keyLength - TRAILER_BYTES, userKey, 0, userKey.length) < 0;
  }

  /** The last restart point from `from` on whose user key is < `userKey` (`from` when there is none). */
  private lastRestartBelow(from: number, userKey: Uint8Array): number {
    let low = from;
    let high = this.restartCount - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (this.restartUserKeyBelow(mid, userKey)) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /** The first block from `from` on whose index user key is ≥ `userKey` (`blockCount` when none): galloping, then bisecting. */
  private nextBlock(from: number, userKey: Uint8Array): number {
    const { data, offsets } = this.reader.indexKeys;
    const count = this.reader.blockCount;
    const below = (b: number): boolean => compareBytes(data, offsets[b]!, offsets[b + 1]! - TRAILER_BYTES, userKey, 0, userKey.length) < 0;
    let low = from;
    let step = 1;
    let high = from;
    while (high < count && below(high)) {
      low = high + 1;
      high += step;
      step *= 2;
    }
    if (high > count) high = count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (below(mid)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
