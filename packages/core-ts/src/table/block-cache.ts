/**
 * The block cache: checked data blocks (stored-block.ts: each block's payload bytes, decompressed,
 * searched in place) shared by every open table of a database, least recently used first out,
 * within a byte budget counted in the bytes the blocks really hold in memory.
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
  /** Towards the most recently used end. */
  newer: Node | null;
  older: Node | null;
}

export class BlockCache {
  readonly capacityBytes: number;
  private readonly files = new Map<number, Map<number, Node>>();
  /** Most and least recently used ends of the LRU list. */
  private newest: Node | null = null;
  private oldest: Node | null = null;
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

  /** The cached block, marked most recently used; counts a hit or a miss. */
  get(fileNumber: number, offset: number): StoredBlock | undefined {
    const node = this.files.get(fileNumber)?.get(offset);
    if (node === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (node !== this.newest) {
      this.unlink(node);
      this.pushNewest(node);
    }
    return node.block;
  }

  /**
   * Cache `block`, evicting least recently used blocks to stay within the budget. A block larger
   * than the whole budget is not cached: it would only flush everything else out.
   */
  insert(fileNumber: number, offset: number, block: StoredBlock): void {
    const charge = block.charge + ENTRY_OVERHEAD;
    if (charge > this.capacityBytes) return;
    const existing = this.files.get(fileNumber)?.get(offset);
    if (existing !== undefined) this.remove(existing, this.files.get(fileNumber)!);
    let perFile = this.files.get(fileNumber);
    if (perFile === undefined) {
      perFile = new Map();
      this.files.set(fileNumber, perFile);
    }
    const node: Node = { fileNumber, offset, block, charge, newer: null, older: null };
    perFile.set(offset, node);
    this.pushNewest(node);
    this.bytes += charge;
    this.blocks++;
    while (this.bytes > this.capacityBytes && this.oldest !== null) {
      const victim = this.oldest;
      this.remove(victim, this.files.get(victim.fileNumber)!);
      this.evictions++;
    }
  }

  /** Drop every block of a table (its file was deleted); not counted as evictions. */
  evictFile(fileNumber: number): void {
    const perFile = this.files.get(fileNumber);
    if (perFile === undefined) return;
    for (const node of [...perFile.values()]) this.remove(node, perFile);
  }

  clear(): void {
    this.files.clear();
    this.newest = null;
    this.oldest = null;
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

  private remove(node: Node, perFile: Map<number, Node>): void {
    this.unlink(node);
    perFile.delete(node.offset);
    if (perFile.size === 0) this.files.delete(node.fileNumber);
    this.bytes -= node.charge;
    this.blocks--;
  }

  private unlink(node: Node): void {
    if (node.newer !== null) node.newer.older = node.older;
    else this.newest = node.older;
    if (node.older !== null) node.older.newer = node.newer;
    else this.oldest = node.newer;
    node.newer = null;
    node.older = null;
  }

  private pushNewest(node: Node): void {
    node.older = this.newest;
    node.newer = null;
    if (this.newest !== null) this.newest.newer = node;
    this.newest = node;
    if (this.oldest === null) this.oldest = node;
  }
}
