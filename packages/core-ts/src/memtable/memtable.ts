/**
 * The memtable (docs/ENGINE.md, "Memtable"): the newest writes, in memory, until they are flushed
 * to an L0 table. Writes must cost well under a microsecond, so it is not a sorted structure:
 *
 * - an append-only **arena**: each entry's key and value bytes are copied next to each other into
 *   large chunk buffers, and its fields (chunk, offset, lengths, seq, kind, links) live in typed
 *   arrays indexed by the entry number — no object per entry, nothing for the GC to trace;
 * - a **key table** (key-table.ts) from the user key to its newest entry (and per key id, the index
 *   of the key's first entry, the newest entry too, for the sorted view); each entry links to the
 *   previous entry of its key, so a reader at an older snapshot walks back to the version it may see;
 * - a **sorted view** for iterators and flushes (sorted-view.ts), built with one accelerator
 *   `sortKeys` call and extended incrementally.
 *
 * Entries must arrive in increasing seq order (the write path assigns seqs and applies batches in
 * that order; WAL replay does too). The per-key chains and the stable sort both rely on it: arrival
 * order within a key *is* seq order.
 *
 * Byte views handed out (`get(...).value`, iterator accessors) point into the arena. The arena never
 * rewrites a byte it has handed out, so they stay valid for as long as they are referenced; callers
 * must not write to them.
 */
import { accel, type Accelerator } from '@siltdb/bindings';
import { ErrorCodes, siltError } from '../errors.js';
import { compareBytes, Kind, MAX_KEY_BYTES, MAX_SEQ } from '../keys/internal-key.js';
import { copyValue } from '../table/bytes.js';
import { hashKey, KeyTable, type StoredKeys } from './key-table.js';
import { MemtableIterator, type MemtableIteratorOptions } from './memtable-iterator.js';
import { SortedView, type SortedRuns } from './sorted-view.js';

/** Size of an arena chunk. Entries larger than a quarter of it get a chunk of their own. */
const CHUNK_BYTES = 1 << 20;
const OWN_CHUNK_BYTES = CHUNK_BYTES >>> 2;
/**
 * Bytes counted per entry beyond its key and value while the memtable is small: the typed-array
 * fields (16+8+4+4+4 = 36) plus part of the key table's slots. Once the arrays have grown,
 * `approximateBytes` counts what they really hold instead (see there).
 */
export const ENTRY_OVERHEAD_BYTES = 48;
/** Bytes of the per-entry typed-array fields: meta 16 (kind included), seq 8, previous, key id, newest 4 each. */
const FIELD_BYTES_PER_ENTRY = 36;
/** `meta[4i + 2]`: the key length in the low bits, the kind above them. */
const KIND_SHIFT = 24;
const KEY_LENGTH_MASK = (1 << KIND_SHIFT) - 1;
const INITIAL_ENTRIES = 1024;
/** What an empty memtable's arrays hold; `approximateBytes` counts growth beyond it. */
const INITIAL_ARRAY_BYTES = FIELD_BYTES_PER_ENTRY * INITIAL_ENTRIES + KeyTable.INITIAL_BYTES;

/** What a point read finds: the newest entry of the key visible at the snapshot. */
export interface MemtableEntry {
  readonly seq: number;
  readonly kind: Kind;
  /** A view into the arena (empty for a tombstone); never to be written to. */
  readonly value: Uint8Array;
}

export interface MemtableOptions {
  /** The accelerator whose `sortKeys` builds the sorted view. Default: the process-wide `accel`. */
  readonly accelerator?: Accelerator;
}

/** Where a point read resolves the value-log pointer at `bytes[from, to)` of `key` (a value log). */
export interface SeparatedValues {
  readAt(bytes: Uint8Array, from: number, to: number, key: Uint8Array): Uint8Array;
}

export class Memtable implements StoredKeys {
  private readonly accelerator: Accelerator;
  // --- the arena: entry i's fields are element i of each array ---
  private chunks: Uint8Array[] = [];
  private chunk: Uint8Array = new Uint8Array(0);
  private chunkIndex = -1;
  private chunkUsed = 0;
  /** Capacity of the field arrays. */
  private capacity = INITIAL_ENTRIES;
  /**
   * Where an entry's bytes are, four u32 per entry, interleaved so one cache line serves a lookup:
   * `[4i]` chunk, `[4i + 1]` offset in the chunk, `[4i + 2]` key length (low 24 bits; a key is at
   * most 65,536 bytes) with the kind in the top 8 bits, `[4i + 3]` value length (the value follows
   * the key). A point read then finds the kind on the cache line it reads the key from.
   */
  private meta = new Uint32Array(4 * INITIAL_ENTRIES);
  private seqOf = new Float64Array(INITIAL_ENTRIES);
  /** The previous (older) entry of the same key, or -1. */
  private previousOf = new Int32Array(INITIAL_ENTRIES);
  /** The key id of the entry: the index of the first entry of its user key. */
  private keyIdOf = new Int32Array(INITIAL_ENTRIES);
  /** For a key id, the newest entry of that key (meaningless at other indexes). */
  private newestOf = new Int32Array(INITIAL_ENTRIES);
  private count = 0;
  private readonly keyTable = new KeyTable();
  private readonly view: SortedView;
  private bytes = 0;
  /** Key and value bytes stored in the arena. */
  private arenaBytes = 0;
  private firstSeq = 0;
  private lastSeq = 0;
  private isFrozen = false;

  constructor(options: MemtableOptions = {}) {
    this.accelerator = options.accelerator ?? accel;
    this.view = new SortedView(this);
  }

  /** Entries added (every version of every key). */
  get entryCount(): number {
    return this.count;
  }

  /** Distinct user keys. */
  get keyCount(): number {
    return this.keyTable.size;
  }

  /** The seq of the oldest entry, 0 when empty. */
  get minSeq(): number {
    return this.firstSeq;
  }

  /** The seq of the newest entry, 0 when empty. */
  get maxSeq(): number {
    return this.lastSeq;
  }

  /**
   * What rotation at `memtableBytes` counts: the memory the memtable really holds — key and value
   * bytes in the arena, the per-entry fields and the key table at their allocated capacity (grown
   * 1.5× and 2× at a time, so up to a third and a half of them is slack) — beyond the arrays an
   * empty memtable starts with, and never less than key and value bytes plus
   * `ENTRY_OVERHEAD_BYTES` per entry (so a tiny memtable still counts its entries). With 16-byte
   * keys and 100-byte values a full memtable holds 175–200 bytes an entry, not the 164 the
   * per-entry estimate alone would count (docs/ENGINE.md "Memory").
   */
  get approximateBytes(): number {
    const held = this.arenaBytes + FIELD_BYTES_PER_ENTRY * this.capacity + this.keyTable.byteLength - INITIAL_ARRAY_BYTES;
    return held > this.bytes ? held : this.bytes;
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  /**
   * Make the memtable immutable: `add` fails with `CLOSED` from now on (the shared error set has no
   * `READ_ONLY` code yet). Reads and iterators are unaffected.
   */
  freeze(): void {
    this.isFrozen = true;
  }

  /**
   * Append one entry. `seq` must exceed every seq added before; a `Delete` carries an empty value.
   * Checks happen before anything is stored, so a rejected call changes nothing.
   */
  add(seq: number, kind: Kind, userKey: Uint8Array, value: Uint8Array): void {
    if (this.isFrozen) throw siltError(ErrorCodes.CLOSED, 'the memtable is frozen: it takes no more writes');
    if (!Number.isInteger(seq) || seq <= this.lastSeq || seq > MAX_SEQ) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `seq ${String(seq)} must be an integer in (${this.lastSeq}, ${MAX_SEQ}]`);
    }
    if (kind !== Kind.Put && kind !== Kind.Delete && kind !== Kind.Pointer) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `unknown entry kind ${String(kind)}`);
    }
    if (!(userKey instanceof Uint8Array) || userKey.length > MAX_KEY_BYTES) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `the key must be a Uint8Array of at most ${MAX_KEY_BYTES} bytes`);
    }
    if (!(value instanceof Uint8Array)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the value must be a Uint8Array');
    if (kind === Kind.Delete && value.length !== 0) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'a delete carries an empty value');

    const entry = this.count;
    if (entry === this.capacity) this.growFields();
    const keyLength = userKey.length;
    const valueLength = value.length;
    const size = keyLength + valueLength;
    let target: Uint8Array;
    let at: number;
    if (size > OWN_CHUNK_BYTES) {
      // A large entry gets an exact-size chunk of its own; the current chunk stays open.
      target = new Uint8Array(size);
      at = 0;
      this.meta[4 * entry] = this.chunks.push(target) - 1;
    } else {
      if (this.chunkIndex < 0 || this.chunkUsed + size > this.chunk.length) this.newChunk();
      target = this.chunk;
      at = this.chunkUsed;
      this.chunkUsed = at + size;
      this.meta[4 * entry] = this.chunkIndex;
    }
    // Small copies by hand: `TypedArray.prototype.set` has a fixed cost larger than 16 byte moves.
    if (keyLength <= 32) for (let i = 0; i < keyLength; i++) target[at + i] = userKey[i]!;
    else target.set(userKey, at);
    if (valueLength <= 32) for (let i = 0; i < valueLength; i++) target[at + keyLength + i] = value[i]!;
    else target.set(value, at + keyLength);
    this.meta[4 * entry + 1] = at;
    this.meta[4 * entry + 2] = keyLength | (kind << KIND_SHIFT);
    this.meta[4 * entry + 3] = valueLength;
    this.seqOf[entry] = seq;

    const hash = hashKey(userKey);
    const slot = this.keyTable.find(hash, userKey, this);
    const previous = this.keyTable.idAt(slot);
    if (previous < 0) {
      this.keyTable.insertAt(slot, hash, entry);
      this.keyIdOf[entry] = entry;
      this.previousOf[entry] = -1;
      this.newestOf[entry] = entry;
    } else {
      const keyId = this.keyIdOf[previous]!;
      this.keyTable.replaceAt(slot, entry);
      this.keyIdOf[entry] = keyId;
      this.previousOf[entry] = previous;
      this.newestOf[keyId] = entry;
    }
    this.count = entry + 1;
    this.bytes += size + ENTRY_OVERHEAD_BYTES;
    this.arenaBytes += size;
    if (this.firstSeq === 0) this.firstSeq = seq;
    this.lastSeq = seq;
  }

  /** The newest entry of `userKey` with seq ≤ `snapshotSeq` (default: the newest), or undefined. */
  get(userKey: Uint8Array, snapshotSeq: number = MAX_SEQ): MemtableEntry | undefined {
    const entry = this.find(userKey, snapshotSeq);
    if (entry < 0) return undefined;
    return { seq: this.seqOf[entry]!, kind: this.kindAt(entry), value: this.valueAt(entry) };
  }

  /**
   * The entry index `get` would report, or -1: for callers that read fields without an object.
   * `hash`, when given, must be `memtableKeyHash(userKey)`: a read that probes several memtables
   * hashes once.
   */
  find(userKey: Uint8Array, snapshotSeq: number = MAX_SEQ, hash?: number): number {
    if (!(userKey instanceof Uint8Array)) throw siltError(ErrorCodes.INVALID_ARGUMENT, 'the key must be a Uint8Array');
    const h = hash ?? hashKey(userKey);
    // The key table's probe (`KeyTable.find` with `keyEquals`) written out: a point read's memtable
    // lookup is this one function while the process warms up and for the optimizing compiler.
    // The key table holds the key's newest entry: no second lookup.
    const keyTable = this.keyTable;
    const cells = keyTable.cells;
    const mask = keyTable.mask;
    const meta = this.meta;
    const length = userKey.length;
    let slot = h & mask;
    let entry = -1;
    for (;;) {
      const stored = cells[2 * slot]!;
      if (stored === 0) return -1;
      const candidate = stored - 1;
      if (cells[2 * slot + 1] === h && (meta[4 * candidate + 2]! & KEY_LENGTH_MASK) === length) {
        const chunk = this.chunks[meta[4 * candidate]!]!;
        const start = meta[4 * candidate + 1]!;
        let i = 0;
        while (i < length && chunk[start + i] === userKey[i]) i++;
        if (i === length) {
          entry = candidate;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    // The common read (no snapshot, or one at least as new as everything) needs no walk.
    if (snapshotSeq >= this.lastSeq) return entry;
    while (entry >= 0 && this.seqOf[entry]! > snapshotSeq) entry = this.previousOf[entry]!;
    return entry;
  }

  /** An iterator over the entries in internal-key order, as of now (later adds are not seen). */
  iterator(options: MemtableIteratorOptions = {}): MemtableIterator {
    return new MemtableIterator(this, options);
  }

  /** Counters of the sorted view, for tests and stats. */
  get viewStats(): { readonly sortedEntries: number; readonly rebuilds: number; readonly tailSorts: number } {
    return this.view.stats;
  }

  // --- the arena, for the view, the iterator and the key table ---

  /** @internal The sorted runs covering every entry added so far. */
  sortedRuns(): SortedRuns {
    return this.view.runs(this.count);
  }

  /** @internal */
  sortKeysOf(from: number, to: number): Uint32Array {
    // Pack the user keys of entries [from, to) into one buffer: the accelerator takes one batch.
    let total = 0;
    for (let e = from; e < to; e++) total += (this.meta[4 * e + 2]! & KEY_LENGTH_MASK);
    const data = new Uint8Array(total);
    const offsets = new Uint32Array(to - from + 1);
    let at = 0;
    for (let e = from; e < to; e++) {
      const chunk = this.chunks[this.meta[4 * e]!]!;
      const start = this.meta[4 * e + 1]!;
      const length = (this.meta[4 * e + 2]! & KEY_LENGTH_MASK);
      if (length <= 32) for (let i = 0; i < length; i++) data[at + i] = chunk[start + i]!;
      else data.set(chunk.subarray(start, start + length), at);
      at += length;
      offsets[e - from + 1] = at;
    }
    return this.accelerator.sortKeys({ data, offsets });
  }

  /** @internal */
  keyIdAt(entry: number): number {
    return this.keyIdOf[entry]!;
  }

  /** @internal */
  newestEntryOf(keyId: number): number {
    return this.newestOf[keyId]!;
  }

  /** @internal */
  previousEntry(entry: number): number {
    return this.previousOf[entry]!;
  }

  /** @internal */
  seqAt(entry: number): number {
    return this.seqOf[entry]!;
  }

  /**
   * @internal A point read's answer from entry `entry` of `userKey`: a copy of its value, undefined
   * for a tombstone, a pointer's value by `values`. One call from the found entry to the value: a
   * read's field helpers (`kindAt`, `chunkAt`, …) were each compiled alone while the process warmed
   * up and then again inlined into the read.
   */
  entryValue(entry: number, userKey: Uint8Array, values: SeparatedValues): Uint8Array | undefined {
    const meta = this.meta;
    const lengthAndKind = meta[4 * entry + 2]!;
    const kind = lengthAndKind >>> KIND_SHIFT;
    if (kind === Kind.Delete) return undefined;
    const chunk = this.chunks[meta[4 * entry]!]!;
    const keyEnd = meta[4 * entry + 1]! + (lengthAndKind & KEY_LENGTH_MASK);
    const valueEnd = keyEnd + meta[4 * entry + 3]!;
    return kind === Kind.Pointer ? values.readAt(chunk, keyEnd, valueEnd, userKey) : copyValue(chunk, keyEnd, valueEnd);
  }

  /** @internal */
  kindAt(entry: number): Kind {
    return (this.meta[4 * entry + 2]! >>> KIND_SHIFT) as Kind;
  }

  /** @internal A view of the entry's user key. */
  userKeyAt(entry: number): Uint8Array {
    const start = this.meta[4 * entry + 1]!;
    return this.chunks[this.meta[4 * entry]!]!.subarray(start, start + (this.meta[4 * entry + 2]! & KEY_LENGTH_MASK));
  }

  /** @internal The arena chunk holding the entry's key and then its value. */
  chunkAt(entry: number): Uint8Array {
    return this.chunks[this.meta[4 * entry]!]!;
  }

  /** @internal Where the entry's user key starts in its chunk. */
  keyStartAt(entry: number): number {
    return this.meta[4 * entry + 1]!;
  }

  /** @internal Where the entry's user key ends (and its value starts) in its chunk. */
  keyEndAt(entry: number): number {
    return this.meta[4 * entry + 1]! + (this.meta[4 * entry + 2]! & KEY_LENGTH_MASK);
  }

  /** @internal Where the entry's value ends in its chunk. */
  valueEndAt(entry: number): number {
    return this.meta[4 * entry + 1]! + (this.meta[4 * entry + 2]! & KEY_LENGTH_MASK) + this.meta[4 * entry + 3]!;
  }

  /** @internal A view of the entry's value. */
  valueAt(entry: number): Uint8Array {
    const start = this.meta[4 * entry + 1]! + (this.meta[4 * entry + 2]! & KEY_LENGTH_MASK);
    return this.chunks[this.meta[4 * entry]!]!.subarray(start, start + this.meta[4 * entry + 3]!);
  }

  /** @internal Order of the user keys of entries `a` and `b`. */
  compareEntries(a: number, b: number): number {
    if (this.keyIdOf[a] === this.keyIdOf[b]) return 0;
    const aStart = this.meta[4 * a + 1]!;
    const bStart = this.meta[4 * b + 1]!;
    return compareBytes(
      this.chunks[this.meta[4 * a]!]!,
      aStart,
      aStart + (this.meta[4 * a + 2]! & KEY_LENGTH_MASK),
      this.chunks[this.meta[4 * b]!]!,
      bStart,
      bStart + (this.meta[4 * b + 2]! & KEY_LENGTH_MASK),
    );
  }

  /** @internal Order of the user key of `entry` against `key`. */
  compareEntryWith(entry: number, key: Uint8Array): number {
    const start = this.meta[4 * entry + 1]!;
    return compareBytes(this.chunks[this.meta[4 * entry]!]!, start, start + (this.meta[4 * entry + 2]! & KEY_LENGTH_MASK), key, 0, key.length);
  }

  /** @internal `StoredKeys` for the key table: `entry` is any entry of the stored key (its newest). */
  keyEquals(entry: number, key: Uint8Array): boolean {
    const length = this.meta[4 * entry + 2]! & KEY_LENGTH_MASK;
    if (length !== key.length) return false;
    const chunk = this.chunks[this.meta[4 * entry]!]!;
    const start = this.meta[4 * entry + 1]!;
    for (let i = 0; i < length; i++) if (chunk[start + i] !== key[i]) return false;
    return true;
  }

  private newChunk(): void {
    this.chunk = new Uint8Array(CHUNK_BYTES);
    this.chunkIndex = this.chunks.push(this.chunk) - 1;
    this.chunkUsed = 0;
  }

  private growFields(): void {
    // 1.5× rather than 2×: a full memtable's fields (37 bytes an entry) then carry at most a third
    // of slack instead of up to half — ~13 MiB less for a 64 MiB memtable of small entries.
    const capacity = Math.ceil(this.capacity * 1.5);
    const grow = <A extends Uint32Array | Int32Array | Float64Array | Uint8Array>(old: A, make: (n: number) => A): A => {
      const next = make(capacity);
      next.set(old as never);
      return next;
    };
    this.meta = grow(this.meta, (n) => new Uint32Array(4 * n));
    this.seqOf = grow(this.seqOf, (n) => new Float64Array(n));
    this.previousOf = grow(this.previousOf, (n) => new Int32Array(n));
    this.keyIdOf = grow(this.keyIdOf, (n) => new Int32Array(n));
    this.newestOf = grow(this.newestOf, (n) => new Int32Array(n));
    this.capacity = capacity;
  }
}

/**
 * The hash a memtable's key table files a user key under (the same in every memtable): the hash
 * function itself, not a wrapper — a point read calls it first, and while a process warms up each
 * call layer runs interpreted.
 */
export const memtableKeyHash: (userKey: Uint8Array) => number = hashKey;
