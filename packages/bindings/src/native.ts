/**
 * The native accelerator: the raw exports of `@siltdb/native` (napi-rs, built from
 * packages/native) adapted to the `Accelerator` interface. The adapter only fills in option
 * defaults and turns native errors into `SiltError`s; the native module validates everything else,
 * and its results already have the interface's shapes, so they are returned as they are.
 */
import type { Accelerator, FileView, PackedBytes, PointerReads } from './accelerator.js';
import { ErrorCodes, SiltError, type ErrorCode } from './errors.js';

/** A packed batch as the native module returns it. */
export interface NativePackedBytes {
  readonly data: Buffer;
  readonly offsets: Uint32Array;
}

/** The native `FileView` class: a view read with positional reads, which return copies. */
export interface NativeFileView {
  readonly length: number;
  readonly closed: boolean;
  read(offset: number, length: number): Buffer;
  readInto(offset: number, length: number, target: Buffer, targetOffset: number): void;
  /** The view's handle for the module's `readRecordValue`. */
  recordReader(): NativeRecordReader;
  close(): void;
}

/** An opaque handle on a native view (an N-API external): `FileView.recordReader()`. */
export type NativeRecordReader = object & { readonly __recordReader: never };

/** An opaque handle on the module's set of served segments (an N-API external): `openPointerReads()`. */
export type NativePointerReads = object & { readonly __pointerReads: never };

/**
 * The raw exports of `@siltdb/native` (see its generated index.d.ts). Every option is explicit
 * here, and the errors the module raises itself are plain `Error`s whose `code` is one of
 * `ErrorCodes`.
 */
export interface NativeBinding {
  crc32c(data: Uint8Array, seed: number): number;
  crc32cMany(items: PackedBytes): Uint32Array;
  sealLogRecords(buffer: Uint8Array, spans: Uint32Array): void;
  sealLogBatch(buffer: Uint8Array, starts: Uint32Array, shift: number, end: number): Promise<void>;
  lz4Compress(data: Uint8Array): Buffer;
  lz4Decompress(data: Uint8Array): Buffer;
  encodeFrame(keys: PackedBytes, values: PackedBytes, compress: boolean): Buffer;
  decodeFrame(
    data: Uint8Array,
    offset: number,
  ): { keys: NativePackedBytes; values: NativePackedBytes; byteLength: number; compressed: boolean };
  scanSegment(data: Uint8Array, baseOffset: number): { data?: Buffer | null; records: Uint32Array; frames: Uint32Array; end: number };
  sortKeys(keys: PackedBytes, trailerBytes: number): Uint32Array;
  mergeRuns(runs: readonly PackedBytes[], trailerBytes: number): { run: Uint32Array; index: Uint32Array };
  encodeBlock(
    keys: PackedBytes,
    values: PackedBytes,
    tags: Uint8Array,
    restartInterval: number,
    compress: boolean,
  ): Buffer;
  decodeBlock(data: Uint8Array): { keys: NativePackedBytes; values: NativePackedBytes; tags: Buffer };
  decodeDataBlocks(
    run: Uint8Array,
    spans: Uint32Array,
    indexKeys: PackedBytes,
    hasPrevious: boolean,
  ): { keys: NativePackedBytes; values: NativePackedBytes; tags: Buffer };
  checkDataBlocks(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes, hasPrevious: boolean, counts: Uint32Array): void;
  blockPointGet(payload: Uint8Array, target: Uint8Array, result: Uint8Array): boolean;
  readonly FileView: { open(path: string, expectedLength?: number | null): NativeFileView };
  readRecordValue(reader: NativeRecordReader, offset: number, length: number, index: number, key: Buffer, target: Buffer): boolean;
  openPointerReads(): NativePointerReads;
  servePointerReads(reads: NativePointerReads, segment: number, reader: NativeRecordReader): void;
  dropPointerReads(reads: NativePointerReads, segment: number): void;
  readPointerValue(reads: NativePointerReads, bytes: Buffer, from: number, key: Buffer, target: Buffer): boolean;
  blake3(data: Uint8Array, outLength: number): Buffer;
  ltHashMix(lanes: Uint8Array, keys: PackedBytes, values: PackedBytes, subtract: boolean): Buffer;
}

const siltCodes: ReadonlySet<string> = new Set(Object.values(ErrorCodes));

// napi-rs rejects an argument it cannot convert before our code runs: with its own status as the
// code (not a typed array, not a number, a missing field), or with V8's TypeError when it reads a
// field of null or undefined. Either way the caller passed a bad argument.
const napiArgumentStatuses: ReadonlySet<string> = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
  'ArrayBufferExpected',
]);

function invalidArgument(message: string): SiltError {
  return new SiltError(ErrorCodes.INVALID_ARGUMENT, message);
}

function rethrow(error: unknown): never {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && siltCodes.has(code)) {
    throw new SiltError(code as ErrorCode, (error as Error).message, { cause: error });
  }
  if ((typeof code === 'string' && napiArgumentStatuses.has(code)) || error instanceof TypeError) {
    throw new SiltError(ErrorCodes.INVALID_ARGUMENT, (error as Error).message, { cause: error });
  }
  throw error;
}

/**
 * Options are `undefined` or an object, as in the TypeScript accelerator. Defaults replace
 * `undefined` only: a `null` field goes on to the native module and is rejected there.
 */
function optionsOf<T extends object>(options: T | undefined): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw invalidArgument(`options must be an object or undefined, got ${String(options)}`);
  }
  return options;
}

/** The record-reader handle behind each view this adapter made, for `PointerReads.serve`. */
const recordReaders = new WeakMap<FileView, NativeRecordReader>();

function adaptFileView(view: NativeFileView, binding: NativeBinding): FileView {
  // A point read calls the module's function with this handle, not a method of the view: a
  // method call on a native class instance costs an unwrap and napi-rs's borrow checks each time.
  const reader = view.recordReader();
  const adapted: FileView = {
    get length() {
      return view.length;
    },
    get closed() {
      return view.closed;
    },
    read(offset, length) {
      try {
        return view.read(offset, length);
      } catch (error) {
        rethrow(error);
      }
    },
    readInto(offset, length, target, targetOffset = 0) {
      if (!(target instanceof Uint8Array)) throw invalidArgument('target must be a Uint8Array');
      // The module takes Buffers; a Buffer over the same memory costs no copy.
      const buffer = Buffer.isBuffer(target) ? target : Buffer.from(target.buffer, target.byteOffset, target.byteLength);
      try {
        view.readInto(offset, length, buffer, targetOffset);
      } catch (error) {
        rethrow(error);
      }
    },
    readRecordValue(offset, length, index, key, target) {
      // One test on a point read's path, the reason in a cold function (`& 0xffff` keeps exactly
      // the integers of [0, 65535]).
      if (!(key instanceof Uint8Array) || !(target instanceof Uint8Array) || (index & 0xffff) !== index) badRecordRead(key, target, index);
      try {
        // The module reads any Uint8Array's bytes in place (N-API's buffer info covers every
        // ArrayBufferView), so a point read passes its key and value target without a Buffer
        // wrapper each (an object per call on the hottest path).
        return binding.readRecordValue(reader, offset, length, index, key as Buffer, target as Buffer);
      } catch (error) {
        rethrow(error);
      }
    },
    close() {
      view.close();
    },
  };
  recordReaders.set(adapted, reader);
  return adapted;
}

function adaptPointerReads(binding: NativeBinding): PointerReads {
  const reads = binding.openPointerReads();
  return {
    serve(segment, view) {
      const reader = recordReaders.get(view);
      if (reader === undefined) throw invalidArgument("view must come from this accelerator's openFileView");
      try {
        binding.servePointerReads(reads, segment, reader);
      } catch (error) {
        rethrow(error);
      }
    },
    drop(segment) {
      try {
        binding.dropPointerReads(reads, segment);
      } catch (error) {
        rethrow(error);
      }
    },
    read(bytes, from, key, target) {
      try {
        // The module reads any Uint8Array in place (N-API's buffer info covers every view).
        return binding.readPointerValue(reads, bytes as Buffer, from, key as Buffer, target as Buffer);
      } catch (error) {
        rethrow(error);
      }
    },
  };
}

/** Why `readRecordValue`'s arguments were refused. */
function badRecordRead(key: unknown, target: unknown, index: number): never {
  if (!(key instanceof Uint8Array)) throw invalidArgument('key must be a Uint8Array');
  if (!(target instanceof Uint8Array)) throw invalidArgument('target must be a Uint8Array');
  throw invalidArgument(`index must be an integer in [0, 65535], got ${String(index)}`);
}

export function createNativeAccelerator(binding: NativeBinding): Accelerator {
  return {
    kind: 'native',
    crc32c(data, seed) {
      try {
        return binding.crc32c(data, seed === undefined ? 0 : seed);
      } catch (error) {
        rethrow(error);
      }
    },
    crc32cMany(items) {
      try {
        return binding.crc32cMany(items);
      } catch (error) {
        rethrow(error);
      }
    },
    sealLogRecords(buffer, spans) {
      try {
        binding.sealLogRecords(buffer, spans);
      } catch (error) {
        rethrow(error);
      }
    },
    sealLogBatch(buffer, starts, shift, end) {
      try {
        return binding.sealLogBatch(buffer, starts, shift, end).catch(rethrow);
      } catch (error) {
        // (A bad argument is thrown by the call itself; the caller gets it as a rejection.)
        return Promise.reject(error).catch(rethrow);
      }
    },
    lz4Compress(data) {
      try {
        return binding.lz4Compress(data);
      } catch (error) {
        rethrow(error);
      }
    },
    lz4Decompress(data) {
      try {
        return binding.lz4Decompress(data);
      } catch (error) {
        rethrow(error);
      }
    },
    encodeFrame(keys, values, options) {
      const { compress } = optionsOf(options);
      try {
        return binding.encodeFrame(keys, values, compress === undefined ? true : compress);
      } catch (error) {
        rethrow(error);
      }
    },
    decodeFrame(data, offset = 0) {
      try {
        return binding.decodeFrame(data, offset);
      } catch (error) {
        rethrow(error);
      }
    },
    scanSegment(data, baseOffset = 0) {
      try {
        const scan = binding.scanSegment(data, baseOffset);
        // No data: every frame was stored raw, the records index the input (nothing was copied).
        return { data: scan.data ?? data, records: scan.records, frames: scan.frames, end: scan.end };
      } catch (error) {
        rethrow(error);
      }
    },
    sortKeys(keys, options) {
      const { trailerBytes } = optionsOf(options);
      try {
        return binding.sortKeys(keys, trailerBytes === undefined ? 0 : trailerBytes);
      } catch (error) {
        rethrow(error);
      }
    },
    mergeRuns(runs, options) {
      const { trailerBytes } = optionsOf(options);
      try {
        return binding.mergeRuns(runs, trailerBytes === undefined ? 0 : trailerBytes);
      } catch (error) {
        rethrow(error);
      }
    },
    encodeBlock(entries, options) {
      const { restartInterval, compress } = optionsOf(options);
      try {
        return binding.encodeBlock(
          entries.keys,
          entries.values,
          entries.tags,
          restartInterval === undefined ? 16 : restartInterval,
          compress === undefined ? false : compress,
        );
      } catch (error) {
        rethrow(error);
      }
    },
    decodeBlock(data) {
      try {
        return binding.decodeBlock(data);
      } catch (error) {
        rethrow(error);
      }
    },
    decodeDataBlocks(run, spans, indexKeys, hasPrevious) {
      try {
        return binding.decodeDataBlocks(run, spans, indexKeys, hasPrevious);
      } catch (error) {
        rethrow(error);
      }
    },
    checkDataBlocks(run, spans, indexKeys, hasPrevious, counts) {
      try {
        binding.checkDataBlocks(run, spans, indexKeys, hasPrevious, counts);
      } catch (error) {
        rethrow(error);
      }
    },
    blockPointGet(payload, target, result) {
      try {
        return binding.blockPointGet(payload, target, result);
      } catch (error) {
        rethrow(error);
      }
    },
    openFileView(path, options) {
      const { expectedLength } = optionsOf(options);
      // The native option is nullable; here only `undefined` means "the file's length".
      if (expectedLength === null) throw invalidArgument('options.expectedLength must be a number, got null');
      try {
        return adaptFileView(binding.FileView.open(path, expectedLength), binding);
      } catch (error) {
        rethrow(error);
      }
    },
    openPointerReads() {
      return adaptPointerReads(binding);
    },
    blake3(data, outLength) {
      try {
        return binding.blake3(data, outLength === undefined ? 32 : outLength);
      } catch (error) {
        rethrow(error);
      }
    },
    ltHashMix(lanes, keys, values, subtract) {
      try {
        return binding.ltHashMix(lanes, keys, values, subtract === undefined ? false : subtract);
      } catch (error) {
        rethrow(error);
      }
    },
  };
}
