/**
 * The point-read index of a memtable: user key → the arena index of the key's newest entry (an
 * "id": any entry of the key serves to compare its bytes), an open-addressing hash table over the
 * key bytes already stored in the arena. Holding the newest entry rather than the first saves a
 * point read one more random memory access.
 *
 * ENGINE.md sketches this as a `Map` keyed by the latin1 string of the key. Measured on Node 20
 * with 1M random 16-byte keys, building that string and probing the Map costs ~0.7–0.85 µs per
 * insert and ~0.6 µs per lookup (the fresh string must be allocated and hashed each time), which
 * alone would eat the whole "well under a microsecond" write budget. Hashing the bytes in place and
 * comparing against the arena allocates nothing and costs a fraction of that, so the memtable uses
 * this table instead; its contract is the Map's: one slot per distinct user key.
 */

/**
 * Hash of a key's bytes: four bytes at a time (little-endian words, the 1–3 tail bytes as one
 * more), each xored in, multiplied, folded and multiplied again, then a murmur3 finaliser to spread
 * low bits. Word steps rather than FNV-1a's byte steps: a point read hashes its key before anything
 * else, and while a process warms up each `Math.imul` is a call in the interpreter — a 16-byte key
 * takes 8 instead of 16. Over 2^20 keys of four shapes (16-digit decimals, 4-byte big-endian
 * integers, a prefix and a u64, 32 hex digits) the 32-bit hashes collide 0–119 times, about what
 * random hashes would (~128); one multiplication per word instead collided 4,096 times on the
 * decimals. Only this process's tables hold these hashes.
 */
export function hashKey(bytes: Uint8Array): number {
  const to = bytes.length;
  let h = 0x811c9dc5 ^ to;
  let i = 0;
  for (; i + 4 <= to; i += 4) {
    h = Math.imul(h ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)), 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  }
  if (i < to) {
    let tail = bytes[i]!;
    if (i + 1 < to) tail |= bytes[i + 1]! << 8;
    if (i + 2 < to) tail |= bytes[i + 2]! << 16;
    h = Math.imul(h ^ tail, 0x9e3779b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** Where the table's keys live: the arena, which compares the key of entry `id` with a probe key. */
export interface StoredKeys {
  keyEquals(id: number, key: Uint8Array): boolean;
}

/**
 * Slot `s` is the pair `cells[2s]` = `id + 1` (0 = empty) and `cells[2s + 1]` = the key's hash,
 * interleaved so a probe touches one cache line; bytes are compared only when the full 32-bit
 * hashes agree. Load stays at most 1/2, so probes are short.
 */
export class KeyTable {
  /** Bytes of an empty table's cells. */
  static readonly INITIAL_BYTES = 2048 * 4;
  /**
   * The slots and the slot mask, read directly by the memtable's point-read probe (its `find`).
   * Fields, not getters: a getter is one more call per read while a process warms up. Both are
   * replaced when the table grows — read them again after an insert — and only this class writes them.
   */
  cells = new Int32Array(2048);
  mask = 1023;
  private used = 0;

  get size(): number {
    return this.used;
  }

  /** Bytes the slots occupy (load ≤ 1/2 and doubling: 16–32 bytes per key once grown). */
  get byteLength(): number {
    return this.cells.byteLength;
  }

  /**
   * The slot of `key` (hash `hash`): either the slot holding it (`idAt(result) >= 0`) or the empty
   * slot where it belongs. `keys.keyEquals` compares a stored key with the probe key (an object
   * method rather than a closure, so a probe allocates nothing).
   */
  find(hash: number, key: Uint8Array, keys: StoredKeys): number {
    const { cells, mask } = this;
    let slot = hash & mask;
    for (;;) {
      const stored = cells[2 * slot]!;
      if (stored === 0) return slot;
      if (cells[2 * slot + 1] === hash && keys.keyEquals(stored - 1, key)) return slot;
      slot = (slot + 1) & mask;
    }
  }

  /** The id in `slot` (from `find`), or -1 when the slot is empty. */
  idAt(slot: number): number {
    return this.cells[2 * slot]! - 1;
  }

  /** Point the occupied `slot` at another entry of the same key (its newer version). */
  replaceAt(slot: number, id: number): void {
    this.cells[2 * slot] = id + 1;
  }

  /** Fill the empty `slot` returned by `find` for `hash`. */
  insertAt(slot: number, hash: number, id: number): void {
    this.cells[2 * slot] = id + 1;
    this.cells[2 * slot + 1] = hash;
    if (++this.used * 2 > this.mask + 1) this.grow();
  }

  private grow(): void {
    const old = this.cells;
    const cells = new Int32Array(old.length * 2);
    const mask = (cells.length >>> 1) - 1;
    for (let i = 0; i < old.length; i += 2) {
      const stored = old[i]!;
      if (stored === 0) continue;
      const hash = old[i + 1]!;
      let slot = hash & mask;
      while (cells[2 * slot] !== 0) slot = (slot + 1) & mask;
      cells[2 * slot] = stored;
      cells[2 * slot + 1] = hash;
    }
    this.cells = cells;
    this.mask = mask;
  }
}
