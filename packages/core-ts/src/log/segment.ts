/**
 * One segment file of a log, as the log tracks it in memory: where its records start, how far it is
 * written and synced, and its open handle. Only the last segment (the active one) is appended to;
 * the others are sealed and never change until a truncation removes them.
 */
import { join } from 'node:path';
import type { Vfs, VfsFile } from '../vfs/types.js';
import { segmentFileName } from './file-names.js';
import { INDEX_STAMP_BYTES } from './index-stamp.js';
import { OffsetList } from './offset-list.js';

export class Segment {
  readonly path: string;
  /**
   * Start offsets of the records, or null for a sealed segment that was not read since the log
   * was opened (opening reads only the last segment; the others are verified when first read).
   */
  offsets: OffsetList | null;
  /** Records in the segment; for an unread sealed segment, the count its successor's name implies. */
  count: number;
  /** Offset after the last record assigned to the segment, pending writes included. */
  end: number;
  file: VfsFile | null = null;
  /** Whether `file` was opened for writing (the active segment's is). */
  fileWritable = false;
  /** Whether the file exists (a segment is created on disk by the write of its first batch). */
  onDisk: boolean;
  /** Whether the file's directory entry is durable (the directory was synced after creating it). */
  entryDurable: boolean;
  /**
   * Whether the segment's stamp says its predecessor was sealed without waiting for a sync
   * (format version 2 or 3): set by the writer when it frames the stamp, and by recovery from the file.
   */
  sealsPredecessorLazily = false;
  /**
   * `none` mode: whether the background seal of this segment finished — and with it the seal of
   * every segment before it (seals run in order).
   */
  sealSynced = false;
  /** Whether the stamp is in the file (the writer wrote the batch that created it, or the file was there). */
  stampWritten: boolean;
  /** Whether bytes were written since the last fsync. */
  unsynced = false;
  /** A read of a sealed segment's whole file in progress, shared by concurrent readers. */
  loading: Promise<Uint8Array> | null = null;
  /** Reads using `file` right now. */
  private users = 0;
  /** The writer is done with `file`: close it as soon as no read uses it. */
  private retired = false;

  constructor(
    dir: string,
    readonly start: number,
    state: { offsets: OffsetList | null; count: number; end: number; onDisk: boolean },
  ) {
    this.path = join(dir, segmentFileName(start));
    this.offsets = state.offsets;
    this.count = state.count;
    this.end = state.end;
    this.onDisk = state.onDisk;
    this.entryDurable = state.onDisk;
    this.stampWritten = state.onDisk;
  }

  /**
   * A segment that exists only in memory until its first batch is written, with room for the
   * offsets of `expectedRecords` (the count of the segment it follows: growing the list by
   * doubling from small, reallocating and copying it some twenty times, costs a busy log of small
   * entries a few percent of its appends).
   */
  static fresh(dir: string, start: number, expectedRecords = 0): Segment {
    const offsets = new OffsetList([], expectedRecords);
    return new Segment(dir, start, { offsets, count: 0, end: INDEX_STAMP_BYTES, onDisk: false });
  }

  /** The index after the segment's last record. */
  get endIndex(): number {
    return this.start + this.count;
  }

  /** File offset where record `index` starts (the segment must be loaded). */
  recordStart(index: number): number {
    return this.offsets!.at(index - this.start);
  }

  /** File offset where record `index` ends (the segment must be loaded). */
  recordEnd(index: number): number {
    return index + 1 < this.endIndex ? this.offsets!.at(index + 1 - this.start) : this.end;
  }

  /** Forget every record from `index` on. */
  dropFrom(index: number): void {
    if (index >= this.endIndex) return;
    const keep = index - this.start;
    if (this.offsets !== null) {
      if (keep < this.offsets.length) this.end = this.offsets.at(keep);
      this.offsets.truncate(keep);
    }
    this.count = keep;
  }

  /**
   * Run `use` with an open handle to the file: the segment's own while it has one (the active
   * segment's), else a read-only handle opened for this read alone — so a log holds one descriptor
   * for writing, not one per segment it ever read.
   */
  async withFile<R>(vfs: Vfs, use: (file: VfsFile) => Promise<R>): Promise<R> {
    if (this.file !== null) {
      this.users++;
      try {
        return await use(this.file);
      } finally {
        if (--this.users === 0 && this.retired) this.closeQuietly();
      }
    }
    const file = await vfs.open(this.path, { mode: 'read' });
    try {
      return await use(file);
    } finally {
      await file.close().catch(() => {});
    }
  }

  /**
   * The writer has moved on (the segment was sealed, and synced): close its handle now, or when
   * the last read using it finishes. A close error cannot lose anything that was synced.
   */
  retire(): void {
    this.retired = true;
    if (this.users === 0) this.closeQuietly();
  }

  /** Open the file for writing again (a truncation made this segment the active one). */
  async reopenForWriting(vfs: Vfs): Promise<VfsFile> {
    await this.closeFile();
    this.retired = false;
    this.file = await vfs.open(this.path, { mode: 'readwrite' });
    this.fileWritable = true;
    return this.file;
  }

  async closeFile(): Promise<void> {
    const file = this.file;
    this.file = null;
    this.fileWritable = false;
    await file?.close();
  }

  private closeQuietly(): void {
    this.closeFile().catch(() => {});
  }
}
