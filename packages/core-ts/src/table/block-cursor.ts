/**
 * A cursor over one stored block (stored-block.ts), searching its payload in place: a binary search
 * over the restart points, whose keys are stored whole, then a short forward walk (at most one
 * restart interval) rebuilding each prefix-compressed key into a scratch buffer the cursor owns.
 * Stepping forward decodes one entry; stepping back re-walks from the restart point before it, as
 * prefix compression only reads forward.
 *
 * The block was checked when it was loaded, so the walk trusts its varints and lengths.
 *
 * `key` is the cursor's scratch buffer: `key[0, keyLength)` is the current internal key, valid until
 * the cursor moves. The value is `data[valueFrom, valueTo)` of the block's payload.
 */
import { TRAILER_BYTES } from '../keys/internal-key.js';
import { compareInternalAt } from './key-search.js';
import { restartOffset, type StoredBlock } from './stored-block.js';
import { readVarint, varintValue } from './block-varint.js';

/** Keys shorter than this are copied byte by byte: cheaper than a `subarray` view and `set`. */
const BYTEWISE_COPY_LIMIT = 48;

export class BlockCursor {
  block: StoredBlock | null = null;
  data: Uint8Array = new Uint8Array(0);
  key: Uint8Array = new Uint8Array(32);
  keyLength = 0;
  kind = 0;
  valueFrom = 0;
  valueTo = 0;
  /** Offset of the current entry in `data`, -1 when the cursor is not on an entry. */
  offset = -1;
  /** Offset of the entry after the current one (`entriesEnd` after the last). */
  nextOffset = 0;
  private entriesEnd = 0;

  get valid(): boolean {
    return this.offset >= 0;
  }

  /** Use `block` (nothing positioned yet); null lets go of the previous block. */
  reset(block: StoredBlock | null): void {
    this.block = block;
    this.data = block === null ? new Uint8Array(0) : block.data;
    this.entriesEnd = block === null ? 0 : block.entriesEnd;
    this.offset = -1;
  }

  invalidate(): void {
    this.offset = -1;
  }

  /** The user key's end in `key` (it starts at 0). */
  get userKeyLength(): number {
    return this.keyLength - TRAILER_BYTES;
  }

  seekToFirst(): void {
    this.decodeAt(0);
  }

  seekToLast(): void {
    const block = this.block!;
    this.decodeAt(restartOffset(block, block.restartCount - 1));
    while (this.nextOffset < this.entriesEnd) this.decodeAt(this.nextOffset);
  }

  /** At the first entry ≥ `target` (an internal key); false (not on an entry) when none is. */
  seekAtLeast(target: Uint8Array): boolean {
    const block = this.block!;
    const data = this.data;
    // The last restart point whose key is < target: the answer is in its interval or the next one's
    // first entry, which the forward walk reaches either way.
    let low = 0;
    let high = block.restartCount - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      const at = restartOffset(block, mid);
      // A restart entry shares nothing: varint 0, varint unshared, varint value length, tag, key.
      let pos = readVarint(data, at + 1);
      const unshared = varintValue;
      while (data[pos++]! >= 0x80);
      pos++;
      if (compareInternalAt(data, pos, pos + unshared, target) < 0) low = mid;
      else high = mid - 1;
    }
    this.decodeAt(restartOffset(block, low));
    for (;;) {
      if (compareInternalAt(this.key, 0, this.keyLength, target) >= 0) return true;
      if (this.nextOffset >= this.entriesEnd) {
        this.offset = -1;
        return false;
      }
      this.decodeAt(this.nextOffset);
    }
  }

  /** Step forward; false (not on an entry) past the last entry. */
  next(): boolean {
    if (this.nextOffset >= this.entriesEnd) {
      this.offset = -1;
      return false;
    }
    this.decodeAt(this.nextOffset);
    return true;
  }

  /** Step back; false (not on an entry) before the first entry. */
  prev(): boolean {
    const target = this.offset;
    if (target <= 0) {
      this.offset = -1;
      return false;
    }
    const block = this.block!;
    // The last restart point before the current entry, then forward to the entry just before it.
    let low = 0;
    let high = block.restartCount - 1;
    while (low < high) {
      const mid = (low + high + 1) >>> 1;
      if (restartOffset(block, mid) < target) low = mid;
      else high = mid - 1;
    }
    this.decodeAt(restartOffset(block, low));
    while (this.nextOffset < target) this.decodeAt(this.nextOffset);
    return true;
  }

  /** Decode the entry at `pos`, whose key shares its prefix with the current key (0 at a restart). */
  private decodeAt(pos: number): void {
    const data = this.data;
    this.offset = pos;
    let shared = data[pos++]!;
    let unshared: number;
    let valueLength: number;
    if (shared < 0x80) {
      unshared = data[pos++]!;
      if (unshared >= 0x80) {
        pos--;
        unshared = 0;
        pos = readVarint(data, pos);
        unshared = varintValue;
      }
    } else {
      pos = readVarint(data, pos - 1);
      shared = varintValue;
      pos = readVarint(data, pos);
      unshared = varintValue;
    }
    valueLength = data[pos++]!;
    if (valueLength >= 0x80) {
      pos = readVarint(data, pos - 1);
      valueLength = varintValue;
    }
    this.kind = data[pos++]!;
    const keyLength = shared + unshared;
    let key = this.key;
    if (key.length < keyLength) {
      const grown = new Uint8Array(Math.max(keyLength, 2 * key.length));
      grown.set(key.subarray(0, shared));
      key = grown;
      this.key = grown;
    }
    if (unshared < BYTEWISE_COPY_LIMIT) {
      for (let i = 0; i < unshared; i++) key[shared + i] = data[pos + i]!;
    } else {
      key.set(data.subarray(pos, pos + unshared), shared);
    }
    pos += unshared;
    this.keyLength = keyLength;
    this.valueFrom = pos;
    this.valueTo = pos + valueLength;
    this.nextOffset = pos + valueLength;
  }
}
