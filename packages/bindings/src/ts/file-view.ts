/**
 * File views over positional reads, as the native accelerator's: a truncated file shows up as a
 * short read (`SHORT_FILE`), and reads are copies that leave nothing mapped into the process.
 */
import { constants as bufferConstants } from 'node:buffer';
import fs from 'node:fs';
import type { FileView, FileViewOptions } from '../accelerator.js';
import { ErrorCodes, SiltError } from '../errors.js';
import { invalidArgument } from './fail.js';
import { copyRecordValue } from './frame.js';
import { optionsObject, requireInteger } from './validate.js';

/** One `readSync` moves at most 2 GiB (and Linux stops near there anyway), so larger reads loop. */
const MAX_READ_CHUNK = 1 << 30;
/** The largest frame a view's record-read scratch buffer grows to. */
const MAX_SCRATCH = 64 * 1024;

function ioError(action: string, path: string, cause: unknown): SiltError {
  return new SiltError(ErrorCodes.IO_ERROR, `${action} ${path}: ${(cause as Error).message}`, { cause });
}

/**
 * A view dropped without `close()` would leak its descriptor; closing it when the view is collected
 * bounds the leak. Explicit close unregisters first, so a descriptor number is never closed twice
 * (by then the OS may have handed it to someone else).
 */
const leakedDescriptors = new FinalizationRegistry<number>((fd) => {
  try {
    fs.closeSync(fd);
  } catch {
    // Nothing to report to: the view that owned the descriptor no longer exists.
  }
});

class PositionalFileView implements FileView {
  readonly length: number;
  #fd: number;
  #closed = false;
  #scratch: Buffer = Buffer.alloc(0);
  readonly #path: string;

  constructor(path: string, fd: number, length: number) {
    this.#path = path;
    this.#fd = fd;
    this.length = length;
    leakedDescriptors.register(this, fd, this);
  }

  get closed(): boolean {
    return this.#closed;
  }

  read(offset: number, length: number): Buffer {
    if (this.#closed) throw new SiltError(ErrorCodes.CLOSED, `file view of ${this.#path} is closed`);
    requireInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    requireInteger(length, 'length', 0, Number.MAX_SAFE_INTEGER);
    this.#checkRange(offset, length);
    if (length > bufferConstants.MAX_LENGTH) {
      throw invalidArgument(`cannot read ${length} bytes into one Buffer (at most ${bufferConstants.MAX_LENGTH})`);
    }
    const out = Buffer.allocUnsafe(length);
    this.#readFully(offset, length, out, 0);
    return out;
  }

  /** `OUT_OF_RANGE` when the range leaves the view. */
  #checkRange(offset: number, length: number): void {
    if (offset + length > this.length) {
      throw new SiltError(
        ErrorCodes.OUT_OF_RANGE,
        `read of ${length} bytes at ${offset} is past the ${this.length}-byte view of ${this.#path}`,
      );
    }
  }

  readInto(offset: number, length: number, target: Uint8Array, targetOffset = 0): void {
    if (!(target instanceof Uint8Array)) throw invalidArgument('target must be a Uint8Array');
    if (this.#closed) throw new SiltError(ErrorCodes.CLOSED, `file view of ${this.#path} is closed`);
    requireInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    requireInteger(length, 'length', 0, Number.MAX_SAFE_INTEGER);
    requireInteger(targetOffset, 'targetOffset', 0, Number.MAX_SAFE_INTEGER);
    if (targetOffset + length > target.length) {
      throw invalidArgument(`${length} bytes at ${targetOffset} do not fit a ${target.length}-byte target`);
    }
    this.#checkRange(offset, length);
    this.#readFully(offset, length, target, targetOffset);
  }

  readRecordValue(offset: number, length: number, index: number, key: Uint8Array, target: Uint8Array): boolean {
    if (!(key instanceof Uint8Array)) throw invalidArgument('key must be a Uint8Array');
    if (!(target instanceof Uint8Array)) throw invalidArgument('target must be a Uint8Array');
    requireInteger(index, 'index', 0, 0xffff);
    if (this.#closed) throw new SiltError(ErrorCodes.CLOSED, `file view of ${this.#path} is closed`);
    requireInteger(offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    requireInteger(length, 'length', 0, Number.MAX_SAFE_INTEGER);
    this.#checkRange(offset, length);
    // The value is copied out of the frame, so one scratch buffer per view serves every read of a
    // frame up to MAX_SCRATCH bytes (a view per segment keeps no more than that); longer ones get their own.
    let frame: Buffer;
    if (length > MAX_SCRATCH) frame = Buffer.allocUnsafe(length);
    else {
      if (this.#scratch.length < length) this.#scratch = Buffer.allocUnsafe(Math.min(MAX_SCRATCH, Math.max(length, 2 * this.#scratch.length)));
      frame = this.#scratch.subarray(0, length);
    }
    this.#readFully(offset, length, frame, 0);
    return copyRecordValue(frame, index, key, target);
  }

  #readFully(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = fs.readSync(this.#fd, target, targetOffset + done, Math.min(length - done, MAX_READ_CHUNK), offset + done);
      } catch (cause) {
        throw ioError('cannot read', this.#path, cause);
      }
      if (n === 0) {
        throw new SiltError(
          ErrorCodes.SHORT_FILE,
          `${this.#path} ends at ${offset + done}, inside the ${this.length}-byte view: it was truncated`,
        );
      }
      done += n;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    leakedDescriptors.unregister(this);
    const fd = this.#fd;
    this.#fd = -1;
    try {
      fs.closeSync(fd);
    } catch (cause) {
      throw ioError('cannot close', this.#path, cause);
    }
  }
}

/** Whether `view` is one this twin's `openFileView` opened. */
export function isPositionalFileView(view: unknown): view is FileView {
  return view instanceof PositionalFileView;
}

export function openFileView(path: unknown, options: unknown): FileView {
  if (typeof path !== 'string' || path.length === 0) throw invalidArgument('path must be a non-empty string');
  const opts = optionsObject(options, 'options');
  const expected =
    opts.expectedLength === undefined
      ? undefined
      : requireInteger(opts.expectedLength, 'options.expectedLength', 0, Number.MAX_SAFE_INTEGER);

  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (cause) {
    throw ioError('cannot open', path, cause);
  }
  try {
    let stats: fs.Stats;
    try {
      stats = fs.fstatSync(fd);
    } catch (cause) {
      throw ioError('cannot stat', path, cause);
    }
    // A directory opens read-only on some systems but cannot be mapped or read as bytes.
    if (!stats.isFile()) {
      const cause = Object.assign(new Error(`${path} is not a regular file`), {
        code: stats.isDirectory() ? 'EISDIR' : 'EINVAL',
      });
      throw ioError('cannot view', path, cause);
    }
    if (expected !== undefined && stats.size < expected) {
      throw new SiltError(ErrorCodes.SHORT_FILE, `${path} has ${stats.size} bytes, ${expected} expected`);
    }
    return new PositionalFileView(path, fd, expected ?? stats.size);
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}
