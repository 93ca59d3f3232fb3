/**
 * The open table readers of a database: each table is opened once (footer, index, filter and
 * properties in memory) and shared by every read, iterator and version that lists it; data blocks
 * go through one shared `BlockCache`. A reader is closed, its blocks evicted and its file unlinked
 * only when the manifest reports the table obsolete (no live version lists it).
 *
 * On the real file system the reader's file view comes from the accelerator (natively a mapping for bulk reads and `pread` for blocks,
 * positional reads in TypeScript). Any other `Vfs` (the fault-injecting one in tests) has no file
 * descriptors to map, so the table's bytes are read through the `Vfs` when it is opened and served
 * from memory.
 */
import type { Accelerator, FileView, FileViewOptions } from '@siltdb/bindings';
import { ErrorCodes, siltError } from '../errors.js';
import type { TableMeta as ManifestTableMeta } from '../manifest/index.js';
import { BlockCache, TableReader, type TableMeta as BuiltTableMeta } from '../table/index.js';
import { nodeVfs, NodeVfs } from '../vfs/node-vfs.js';
import type { Vfs } from '../vfs/types.js';
import { tablePath } from './files.js';

/** A table's bytes held in memory, read through a Vfs that is not the real file system. */
class MemoryFileView implements FileView {
  private closedFlag = false;
  constructor(
    private readonly path: string,
    private readonly bytes: Uint8Array,
  ) {}

  get length(): number {
    return this.bytes.length;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  read(offset: number, length: number): Buffer {
    if (this.closedFlag) throw siltError(ErrorCodes.CLOSED, `file view of ${this.path} is closed`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.bytes.length) {
      throw siltError(ErrorCodes.OUT_OF_RANGE, `read of ${length} bytes at ${offset} is past the ${this.bytes.length}-byte view of ${this.path}`);
    }
    return Buffer.from(this.bytes.subarray(offset, offset + length));
  }

  readInto(offset: number, length: number, target: Uint8Array, targetOffset = 0): void {
    if (!(target instanceof Uint8Array) || !Number.isSafeInteger(targetOffset) || targetOffset < 0 || targetOffset + length > target.length) {
      throw siltError(ErrorCodes.INVALID_ARGUMENT, `${length} bytes at ${targetOffset} do not fit the target`);
    }
    target.set(this.read(offset, length), targetOffset);
  }

  close(): void {
    this.closedFlag = true;
  }
}

export class TableSet {
  readonly cache: BlockCache;
  private readonly readers = new Map<number, TableReader>();
  private readonly direct: boolean;

  constructor(
    private readonly dir: string,
    private readonly vfs: Vfs,
    private readonly accelerator: Accelerator,
    cacheBytes: number,
  ) {
    this.cache = new BlockCache(cacheBytes);
    this.direct = vfs === nodeVfs || vfs instanceof NodeVfs;
  }

  get size(): number {
    return this.readers.size;
  }

  /** Open (once) the reader of table `fileNumber`, checking its length against the manifest's. */
  async open(fileNumber: number, expectedLength: number): Promise<TableReader> {
    const existing = this.readers.get(fileNumber);
    if (existing !== undefined) return existing;
    const path = tablePath(this.dir, fileNumber);
    let accelerator = this.accelerator;
    if (!this.direct) {
      const bytes = await this.vfs.readFile(path);
      if (bytes.length < expectedLength) {
        throw siltError(ErrorCodes.SHORT_FILE, `${path} has ${bytes.length} bytes; the manifest records ${expectedLength}`);
      }
      const view = new MemoryFileView(path, bytes.subarray(0, expectedLength));
      accelerator = Object.create(this.accelerator, {
        openFileView: { value: (_path: string, _options?: FileViewOptions): FileView => view },
      }) as Accelerator;
    }
    const again = this.readers.get(fileNumber);
    if (again !== undefined) return again;
    const reader = TableReader.open(path, { fileNumber, cache: this.cache, expectedLength, accelerator });
    this.readers.set(fileNumber, reader);
    return reader;
  }

  /** Open every table in `tables` that is not open yet. */
  async openAll(tables: Iterable<{ readonly table: ManifestTableMeta }>): Promise<void> {
    for (const { table } of tables) await this.open(table.fileNumber, table.size);
  }

  /** The open reader of table `fileNumber`; every table of a live version has one. */
  get(fileNumber: number): TableReader {
    const reader = this.readers.get(fileNumber);
    if (reader === undefined) throw siltError(ErrorCodes.CORRUPTION, `table ${fileNumber} is listed by a version but not open`);
    return reader;
  }

  /** Close the reader of an obsolete table and drop its cached blocks. */
  drop(fileNumber: number): void {
    const reader = this.readers.get(fileNumber);
    if (reader === undefined) return;
    this.readers.delete(fileNumber);
    reader.close();
    this.cache.evictFile(fileNumber);
  }

  closeAll(): void {
    for (const fileNumber of [...this.readers.keys()]) this.drop(fileNumber);
  }
}
