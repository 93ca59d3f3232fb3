/**
 * The block cache: checked data blocks (stored-block.ts: each block's payload bytes, decompressed,
 * searched in place) shared by every open table of a database, within a byte budget counted in the
 * bytes the blocks really hold in memory.
 *
 * Eviction is CLOCK (second chance), an approximation of least-recently-used: a hit only sets the
 * block's `referenced` flag, and a hand sweeping the ring of cached blocks evicts the first one
 * whose flag is clear, clearing the flags it passes. A true LRU list relinks three nodes scattered
 * over the heap on every hit; with tens of thousands of cached blocks those are cache misses that
 * cost a random point read ~8 % of its time (profiled on the peer benchmark's readrandom). New
 * blocks start unreferenced, so a block read once (a scan, a compaction-free sweep) goes first.
 *
 * Keys are (table file number, block number). File numbers are unique for the life of a database
 * and tables are immutable, so a cached block never goes stale; a cache must not be shared between
 * databases, whose file numbers overlap. A lookup is one `Map.get` over the few open files, then an
 * array indexed by block number, whose element is the cache's own record of the block: it carries
 * the block's fields itself (it *is* a `StoredBlock`), so a hit touches one object, not a map
 * entry, a node and then the block. `evictFile` drops a deleted table's blocks at once.
 */
import { ErrorCodes, SiltError } from '../errors.js';
import type { StoredBlock } from './stored-block.js';

/** Bookkeeping per cached block: the record's extra fields, its array and ring slots, roughly. */
const ENTRY_OVERHEAD = 96;

export interface BlockCacheStats {
  readonly capacityBytes: number;
  /** Decoded bytes currently held (overhead included). */
  readonly bytes: number;
  readonly blocks: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
}

/** The cache's record of a block: the block's own fields, then the cache's. */
interface Node extends StoredBlock {
  readonly fileNumber: number;
  readonly index: number;
  /** Position in the ring. */
  readonly slot: number;
  /** Hit since the hand last passed: spared once. */
  referenced: boolean;
}

export class BlockCache {
  readonly capacityBytes: number;
  /** Per file, its cached blocks by block number (null: not cached). */
  private readonly files = new Map<number, (Node | null)[]>();
  /** Every cached block has a slot; null slots are free (listed in `freeSlots`). */
  private ring: (Node | null)[] = [];
  private freeSlots: number[] = [];
  private hand = 0;
  private bytes = 0;
  private blocks = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;

  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < 0) {
      throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'block cache capacity must be a non-negative safe integer');
    }
    this.capacityBytes = capacityBytes;
  }

  /**
   * Size the per-file array of `fileNumber` for `blockCount` blocks up front (a reader does when it
   * opens), so it never grows element by element. Optional: `insert` grows it as needed.
   */
  reserve(fileNumber: number, blockCount: number): void {
    const perFile = this.files.get(fileNumber);
    if (perFile === undefined) this.files.set(fileNumber, nullArray(blockCount));
    else if (perFile.length < blockCount) this.files.set(fileNumber, grown(perFile, blockCount));
  }

  /** The cached block `index` of table `fileNumber`, marked referenced; counts a hit or a miss. */
  get(fileNumber: number, index: number): StoredBlock | undefined {
    const node = this.files.get(fileNumber)?.[index];
    if (node === undefined || node === null) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    node.referenced = true;
    return node;
  }

  /**
   * Cache `block`, evicting blocks to stay within the budget, and return what to use from now on:
   * the cache's record of the block (the same bytes), or `block` itself when it is not cached — a
   * block larger than the whole budget, which would only flush everything else out.
   */
  insert(fileNumber: number, index: number, block: StoredBlock): StoredBlock {
    if (!Number.isSafeInteger(index) || index < 0) throw new SiltError(ErrorCodes.INVALID_ARGUMENT, 'a block number is a non-negative safe integer');
    const charge = block.charge + ENTRY_OVERHEAD;
    if (charge > this.capacityBytes) return block;
    let perFile = this.files.get(fileNumber);
    const existing = perFile?.[index];
    if (existing !== undefined && existing !== null) this.remove(existing);
    while (this.bytes + charge > this.capacityBytes && this.blocks > 0) this.evictOne();
    perFile = this.files.get(fileNumber);
    if (perFile === undefined || perFile.length <= index) {
      perFile = perFile === undefined ? nullArray(Math.max(16, index + 1)) : grown(perFile, Math.max(index + 1, 2 * perFile.length));
      this.files.set(fileNumber, perFile);
    }
    const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.ring.push(null) - 1;
    const node: Node = {
      data: block.data,
      entriesEnd: block.entriesEnd,
      restartCount: block.restartCount,
      count: block.count,
      charge,
      fileNumber,
      index,
      slot,
      referenced: false,
    };
    this.ring[slot] = node;
    perFile[index] = node;
    this.bytes += charge;
    this.blocks++;
    return node;
  }

  /** Drop every block of a table (its file was deleted); not counted as evictions. */
  evictFile(fileNumber: number): void {
    const perFile = this.files.get(fileNumber);
    if (perFile === undefined) return;
    for (const node of perFile) if (node !== null) this.remove(node);
    this.files.delete(fileNumber);
  }

  clear(): void {
    this.files.clear();
    this.ring = [];
    this.freeSlots = [];
    this.hand = 0;
    this.bytes = 0;
    this.blocks = 0;
  }

  stats(): BlockCacheStats {
    return {
      capacityBytes: this.capacityBytes,
      bytes: this.bytes,
      blocks: this.blocks,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
    };
  }

  /** Advance the hand to the first unreferenced block (sparing the referenced ones once) and evict it. */
  private evictOne(): void {
    const ring = this.ring;
    for (;;) {
      if (this.hand >= ring.length) this.hand = 0;
      const node = ring[this.hand++];
      if (node === null || node === undefined) continue;
      if (node.referenced) {
        node.referenced = false;
        continue;
      }
      this.remove(node);
      this.evictions++;
      return;
    }
  }

  /** Unlink a cached block (its per-file array stays, even empty: the reader reserved it). */
  private remove(node: Node): void {
    this.ring[node.slot] = null;
    this.freeSlots.push(node.slot);
    const perFile = this.files.get(node.fileNumber);
    if (perFile !== undefined && perFile[node.index] === node) perFile[node.index] = null;
    this.bytes -= node.charge;
    this.blocks--;
  }
}

function nullArray(length: number): (Node | null)[] {
  return new Array<Node | null>(length).fill(null);
}

function grown(old: (Node | null)[], length: number): (Node | null)[] {
  const next = nullArray(length);
  for (let i = 0; i < old.length; i++) next[i] = old[i]!;
  return next;
}
