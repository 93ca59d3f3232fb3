/**
 * The TypeScript twin of the native module's pointer reads (`readPointerValue`): value-log point
 * reads from the 23 pointer bytes where they lie (docs/FORMAT.md §8.3), through the views of the
 * segments the database served. The same checks, in the same order, so either accelerator serves
 * the same reads and leaves the same ones (`null`) to the caller's full read path.
 */
import type { FileView, PointerReads } from '../accelerator.js';
import { readU32 } from './bytes.js';
import { invalidArgument } from './fail.js';
import { isPositionalFileView } from './file-view.js';
import { requireBytes, requireInteger } from './validate.js';
import { varintLength } from './varint.js';

const POINTER_BYTES = 23;
const POINTER_VERSION = 1;
/** No frame starts inside a segment's header (FORMAT §8.1). */
const SEGMENT_HEADER_BYTES = 20;
/** A frame's smallest length: its 20-byte header and one 4-byte record offset. */
const MIN_FRAME_BYTES = 24;
const MAX_U32 = 0xffffffff;

export class PositionalPointerReads implements PointerReads {
  readonly #views = new Map<number, FileView>();

  serve(segment: number, view: FileView): void {
    requireInteger(segment, 'segment', 1, Number.MAX_SAFE_INTEGER);
    if (!isPositionalFileView(view)) throw invalidArgument("view must come from this accelerator's openFileView");
    this.#views.set(segment, view);
  }

  drop(segment: number): void {
    requireInteger(segment, 'segment', 1, Number.MAX_SAFE_INTEGER);
    this.#views.delete(segment);
  }

  read(bytes: Uint8Array, from: number, key: Uint8Array, target: Uint8Array): boolean {
    requireBytes(bytes, 'bytes');
    requireInteger(from, 'from', 0, Number.MAX_SAFE_INTEGER);
    requireBytes(key, 'key');
    requireBytes(target, 'target');
    if (from + POINTER_BYTES > bytes.length || bytes[from] !== POINTER_VERSION) return false;
    const high = readU32(bytes, from + 5);
    const segment = high * 2 ** 32 + readU32(bytes, from + 1);
    const frameOffset = readU32(bytes, from + 9);
    const frameLength = readU32(bytes, from + 13);
    const index = bytes[from + 17]! | (bytes[from + 18]! << 8);
    const recordBytes = readU32(bytes, from + 19);
    if (high > 0x1fffff || segment === 0 || recordBytes === 0 || frameLength < MIN_FRAME_BYTES || frameOffset + frameLength > MAX_U32) return false;
    if (recordBytes - varintLength(key.length) - key.length !== target.length) return false;
    const view = this.#views.get(segment);
    if (view === undefined || view.closed || frameOffset < SEGMENT_HEADER_BYTES || frameOffset + frameLength > view.length) return false;
    try {
      return view.readRecordValue!(frameOffset, frameLength, index, key, target);
    } catch {
      // The full read path reads the frame again and reports why.
      return false;
    }
  }
}
