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
 * Keys are (table file number, block offset). File numbers are unique for the life of a database
 * and tables are immutable, so a cached block never goes stale; a cache must not be shared between
 * databases, whose file numbers overlap. Lookups go through a map per file (two `Map.get`s, no
 * string key built per lookup), and `evictFile` drops a deleted table's blocks at once.
 */
import { ErrorCodes, SiltError } from '../errors.js';
import type { StoredBlock } from './stored-block.js';

/** Bookkeeping per cached block: key sizes, map entries and list links, roughly. */
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

interface Node {
  readonly fileNumber: number;
  readonly offset: number;
  readonly block: StoredBlock;
  readonly charge: number;
  /** Position in the ring. */
  readonly slot: number;
  /** Hit since the hand last passed: spared once. */
  referenced: boolean;
}

export class BlockCache {
  readonly capacityBytes: number;
  private readonly files = new Map<number, Map<number, Node>>();
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

  /** The cached block, marked referenced; counts a hit or a miss. */
  get(fileNumber: number, offset: number): StoredBlock | undefined {
    const node = this.files.get(fileNumber)?.get(offset);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    node.referenced = true;
    return node.block;
  }

  /**
   * Cache `block`, evicting blocks to stay within the budget. A block larger than the whole budget
   * is not cached: it would only flush everything else out.
   */
  insert(fileNumber: number, offset: number, block: StoredBlock): void {
    const charge = block.charge + ENTRY_OVERHEAD;
    if (charge > this.capacityBytes) return;
    const existing = this.files.get(fileNumber)?.get(offset);
    if (existing !== undefined) this.remove(existing, this.files.get(fileNumber)!);
    while (this.bytes + charge > this.capacityBytes && this.blocks > 0) this.evictOne();
    let perFile = this.files.get(fileNumber);
    if (perFile === undefined) {
      perFile = new Map();
      this.files.set(fileNumber, perFile);
    }
    const slot = this.freeSlots.length > 0 ? this.freeSlots.pop()! : this.ring.push(null) - 1;
    const node: Node = { fileNumber, offset, block, charge, slot, referenced: false };
    this.ring[slot] = node;
    perFile.set(offset, node);
    this.bytes += charge;
    this.blocks++;
  }

  /** Drop every block of a table (its file was deleted); not counted as evictions. */
  evictFile(fileNumber: number): void {
    const perFile = this.files.get(fileNumber);
    if (perFile === undefined) return;
    for (const node of [...perFile.values()]) this.remove(node, perFile);
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
      this.remove(node, this.files.get(node.fileNumber)!);
      this.evictions++;
      return;
    }
  }

  private remove(node: Node, perFile: Map<number, Node>): void {
    this.ring[node.slot] = null;
    this.freeSlots.push(node.slot);
    perFile.delete(node.offset);
    if (perFile.size === 0) this.files.delete(node.fileNumber);
    this.bytes -= node.charge;
    this.blocks--;
  }
}
