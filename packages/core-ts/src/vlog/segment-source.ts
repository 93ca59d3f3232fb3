/**
 * Synchronous byte access to one segment, so `getSync` can resolve a pointer without awaiting.
 * On the real file system: the accelerator's file view (natively a mapping for bulk reads and `pread` for frames, positional reads in
 * TypeScript), one coarse `read` per frame. Any other `Vfs` (the fault-injecting one in tests) has no
 * descriptor to map, so the segment's bytes are kept in memory, read once at open and mirrored on
 * every append.
 */
import type { Accelerator, FileView, PointerReads } from '@siltdb/bindings';

export interface SegmentSource {
  /** A copy (or stable view) of `[offset, offset + length)`; the range lies within `readable`. */
  read(offset: number, length: number, readable: number): Uint8Array;
  /**
   * A point read in one accelerator call, where the source can make one: the value of record
   * `index` of the frame at `[offset, offset + length)` copied into `out` (exactly the value's
   * length) after the frame's checksum and the record's key were checked (`CORRUPTION` otherwise).
   * False when the frame is compressed (the caller decodes it).
   */
  readRecordValue?(offset: number, length: number, readable: number, index: number, key: Uint8Array, out: Uint8Array): boolean;
  /**
   * Where the source reads through an accelerator's file view: let `reads` resolve pointers into
   * segment `segment` through the view from now on, kept current as the view is reopened, dropped
   * at `close`. A no-op once served.
   */
  servePointerReads?(reads: PointerReads, segment: number): void;
  /** Bytes were written at `offset` (the in-memory mirror keeps them). */
  appended(data: Uint8Array, offset: number): void;
  /**
   * Open the file now, covering `readable` bytes, instead of at the first read: a read-only
   * database holds every segment its version may reach from open on, so the writer's GC deleting
   * one (the reader's version still references it) unlinks a name, never the bytes.
   */
  pin(readable: number): void;
  close(): void;
}

export class FileViewSource implements SegmentSource {
  private view: FileView | null = null;
  /** The view's length, kept here: reading it from a native view crosses N-API. */
  private viewLength = 0;
  /** Where pointer reads of this segment are served, once they are. */
  private served: { readonly reads: PointerReads; readonly segment: number } | null = null;

  constructor(
    private readonly path: string,
    private readonly accelerator: Accelerator,
  ) {}

  read(offset: number, length: number, readable: number): Uint8Array {
    const view = this.viewCovering(offset + length, readable);
    // Into memory the garbage collector manages: a native `read` hands back a buffer over a Rust
    // allocation, which cost ~2× the time per 16 KiB frame read (allocation, finalizer, collection).
    // Never a slice of Node's shared pool either: a value read may be a view of these bytes.
    const out = Buffer.allocUnsafeSlow(length);
    view.readInto(offset, length, out, 0);
    return out;
  }

  readRecordValue(offset: number, length: number, readable: number, index: number, key: Uint8Array, out: Uint8Array): boolean {
    const view = this.view !== null && offset + length <= this.viewLength ? this.view : this.viewCovering(offset + length, readable);
    // Views the accelerator opens always make record reads.
    return view.readRecordValue!(offset, length, index, key, out);
  }

  /** The view, opened again over `readable` bytes when it ends before `end`. */
  private viewCovering(end: number, readable: number): FileView {
    // A view covers the file as it was when opened: bytes appended later need a fresh one.
    return this.view === null || end > this.viewLength ? this.reopen(readable) : this.view;
  }

  /** Open the view anew over `readable` bytes, serving pointer reads through it if they were. */
  private reopen(readable: number): FileView {
    this.view?.close();
    // Not left pointing at the closed view should the open fail (the next read tries again).
    this.view = null;
    const view = this.accelerator.openFileView(this.path, { expectedLength: readable });
    this.view = view;
    this.viewLength = readable;
    this.served?.reads.serve(this.served.segment, view);
    return view;
  }

  servePointerReads(reads: PointerReads, segment: number): void {
    if (this.view === null || this.served !== null) return;
    reads.serve(segment, this.view);
    this.served = { reads, segment };
  }

  appended(): void {}

  pin(readable: number): void {
    if (this.view === null || this.viewLength < readable) this.reopen(readable);
  }

  close(): void {
    this.served?.reads.drop(this.served.segment);
    this.served = null;
    this.view?.close();
    this.view = null;
  }
}

export class MemorySource implements SegmentSource {
  private bytes: Uint8Array;
  private length: number;

  constructor(initial: Uint8Array) {
    this.bytes = initial.slice();
    this.length = initial.length;
  }

  read(offset: number, length: number): Uint8Array {
    return this.bytes.subarray(offset, offset + length);
  }

  appended(data: Uint8Array, offset: number): void {
    const end = offset + data.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2, 4096));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(data, offset);
    if (end > this.length) this.length = end;
  }

  /** The bytes were read at open: nothing to hold. */
  pin(): void {}

  close(): void {
    this.bytes = new Uint8Array(0);
    this.length = 0;
  }
}
