/**
 * The accelerator: every byte-crunching function the engine needs, behind one interface with two
 * implementations — the Rust module `@siltdb/native` and the pure-TypeScript twin in `./ts/`.
 * Both read and write the formats of docs/FORMAT.md byte for byte, so a file written by one is read
 * by the other. Every call works on a whole block, batch, frame or merge job: crossing N-API once per
 * key would cost more than the work it saves.
 */

/** Which implementation is running. */
export type AcceleratorKind = 'native' | 'ts';

/**
 * A batch of byte strings packed into one buffer: item `i` is `data[offsets[i], offsets[i + 1])`.
 * `offsets.length` is the item count plus one; offsets are non-decreasing and end within `data`.
 */
export interface PackedBytes {
  readonly data: Uint8Array;
  readonly offsets: Uint32Array;
}

export interface FrameEncodeOptions {
  /** Try LZ4 on the frame body and keep it when it saves at least 12.5 %. Default `true`. */
  readonly compress?: boolean;
}

/** The records of one value-log frame, in their order within the frame. */
export interface DecodedFrame {
  readonly keys: PackedBytes;
  readonly values: PackedBytes;
  /** Bytes the frame occupies from the offset it was decoded at (the pointer's length hint). */
  readonly byteLength: number;
  /** Whether the stored body was LZ4-compressed. */
  readonly compressed: boolean;
}

/**
 * The records of the whole value-log frames at the start of a run of segment bytes (`scanSegment`).
 * Record `r` is `records[5r … 5r + 4]`: frame index (into `frames`), sub-index in that frame, key
 * start, value start (the key's end), value end — offsets into `data`. Frame `f` is
 * `frames[2f], frames[2f + 1]`: its offset in the segment and its length (a pointer's fields).
 */
export interface SegmentScan {
  /**
   * The frames' raw bodies, back to back (decompressed where stored compressed) — or, when every
   * frame scanned is stored uncompressed, the scanned input itself (nothing copied; the offsets
   * then count from the input's start).
   */
  readonly data: Uint8Array;
  readonly records: Uint32Array;
  readonly frames: Uint32Array;
  /** The segment offset just past the last whole frame scanned (`baseOffset` when none was). */
  readonly end: number;
}

/** The entries of a table block: `keys`, `values` and `tags` have one item per entry. */
export interface BlockEntries {
  readonly keys: PackedBytes;
  readonly values: PackedBytes;
  /** One engine-defined byte per entry (inline value, deletion, value-log pointer, …). */
  readonly tags: Uint8Array;
}

export interface BlockEncodeOptions {
  /** Entries per restart group (a full key is stored at each restart). Default 16, 1..65535. */
  readonly restartInterval?: number;
  /** Try LZ4 on the payload and keep it when it saves at least 12.5 %. Default `false`. */
  readonly compress?: boolean;
}

/**
 * The key order of `sortKeys` and `mergeRuns`. By default keys compare as unsigned bytes, a shorter
 * key first when it is a prefix of the other.
 */
export interface KeyOrderOptions {
  /**
   * With `t > 0`, each key is a user part followed by a `t`-byte trailer: keys compare by their
   * first `length − t` bytes (unsigned, a shorter prefix first), then by their last `t` bytes
   * (unsigned). `t = 8` is the engine's internal-key order (user key, then the big-endian inverted
   * sequence number; docs/ENGINE.md), in which `"a" ‖ trailer` sorts before `"a\0" ‖ trailer` and
   * `"ab" ‖ trailer` whatever the trailers — plain byte order would not. Every key must be at least
   * `t` bytes long. An integer from 0 to 255, default 0 (plain byte order).
   */
  readonly trailerBytes?: number;
}

/**
 * The result of a k-way merge: entry `j` of the merged output is item `index[j]` of run `run[j]`.
 */
export interface MergeResult {
  readonly run: Uint32Array;
  readonly index: Uint32Array;
}

export interface FileViewOptions {
  /**
   * The length the caller expects (for example a synced length recorded by a checkpoint). The view
   * exposes exactly this many bytes and opening fails with `SHORT_FILE` when the file is shorter.
   * Default: the file's length at open.
   */
  readonly expectedLength?: number;
}

/**
 * A read-only view of a file that returns copies. Natively, reads of 64 KiB and more (compaction
 * inputs, value-log scans) copy out of a memory mapping and release the pages they touched,
 * and shorter ones (a block, a frame) are positional reads (`pread`), which leave nothing mapped
 * into the process; the TypeScript twin uses positional reads throughout. A file truncated under
 * the view is `SHORT_FILE` either way.
 */
export interface FileView {
  /** The number of readable bytes. */
  readonly length: number;
  readonly closed: boolean;
  /**
   * Copy `length` bytes starting at `offset`. Throws `OUT_OF_RANGE` past the view's length,
   * `SHORT_FILE` when the file was truncated under the view, `CLOSED` after `close()`.
   */
  read(offset: number, length: number): Buffer;
  /**
   * Copy `length` bytes starting at `offset` into `target` from `targetOffset` (default 0): a read
   * into memory the caller allocated and the garbage collector manages. `INVALID_ARGUMENT` when
   * `target` is not a Uint8Array or the bytes do not fit it (checked before the view's range), then
   * the errors of `read`. After an error the bytes of `target` in the range are unspecified.
   */
  readInto(offset: number, length: number, target: Uint8Array, targetOffset?: number): void;
  /**
   * A value-log point read in one call: the value of record `index` of the frame at `offset`
   * (`length` bytes, the frame exactly) copied into `target`, whose length must be the value's.
   * The frame is checked as `decodeFrame` checks it (its CRC32C over the bytes read, the copy
   * included) and the record must hold `key`: `CORRUPTION` otherwise, never data. Returns false,
   * `target` untouched, when the frame is compressed (decode it instead). Natively the bytes come
   * from the view's memory mapping (no system call per read); the twin reads the frame positionally.
   * Errors of `readInto` too; after an error the bytes of `target` are unspecified. Views the
   * accelerators open always have it; other implementations of this interface (in-memory views) may not.
   */
  readRecordValue?(offset: number, length: number, index: number, key: Uint8Array, target: Uint8Array): boolean;
  /** Release the mapping or file descriptor. Idempotent. */
  close(): void;
}

/**
 * Value-log point reads straight from a pointer (docs/FORMAT.md §8.3): the database serves each
 * segment once it has checked the segment's header, with the accelerator's own view of its file, and a
 * read then hands over the 23 pointer bytes where they lie (a memtable's arena, a table's block)
 * and memory for the value. Natively the pointer is parsed, the segment found, the frame checked
 * and the value copied in one call.
 */
export interface PointerReads {
  /**
   * Resolve pointers into `segment` through `view` from now on, replacing the segment's earlier
   * view. `view` must come from this accelerator's `openFileView` (`INVALID_ARGUMENT` otherwise);
   * pointers to frames past its length are not served, so a segment that grows is served again
   * with a longer view. `INVALID_ARGUMENT` for a segment that is not an integer in [1, 2^53).
   */
  serve(segment: number, view: FileView): void;
  /** Stop resolving pointers into `segment` (before its view closes). Idempotent. */
  drop(segment: number): void;
  /**
   * Copy into `target` the value of the record that the pointer at `bytes[from, from + 23)` names,
   * when that record holds `key` and `target` is exactly the value's length (the pointer's record
   * bytes less the key and its varint), checked as `FileView.readRecordValue` checks it; true then.
   * False in every other case — a segment not served, a frame past the served view or compressed,
   * a malformed pointer, a frame that fails its checks — and `target`'s bytes are unspecified: the
   * caller's full read path then reads the value or reports why (`CORRUPTION` for the last two).
   * `INVALID_ARGUMENT` only when `bytes`, `key` or `target` is not a Uint8Array or `from` is not a
   * non-negative integer.
   */
  read(bytes: Uint8Array, from: number, key: Uint8Array, target: Uint8Array): boolean;
}

export interface Accelerator {
  readonly kind: AcceleratorKind;

  /** CRC32C of `data`; pass a previous result as `seed` to extend it over more bytes. */
  crc32c(data: Uint8Array, seed?: number): number;
  /**
   * The CRC32C of each item of `items` (each from a zero seed, as `crc32c(item)` computes it), in
   * item order: entry `i` of the result is the checksum of item `i`. One call for a whole batch of
   * records, where calling `crc32c` per record would pay the per-call cost (an N-API crossing for
   * the native module) once per record. Items may be empty (checksum 0); `offsets[0]` need not be 0,
   * so a caller can checksum ranges of a larger buffer in place. Throws `INVALID_ARGUMENT` for a
   * malformed `PackedBytes`.
   */
  crc32cMany(items: PackedBytes): Uint32Array;
  /**
   * Fill in, in place, the 12-byte header of each indexed-log record of a batch (docs/FORMAT.md
   * §4: u32 N ‖ u32 ~N ‖ u32 CRC32C(payload)) in front of its payload: `spans[2k]`, `spans[2k + 1]`
   * are where payload `k` starts and ends in `buffer`. One call per batch of records. Throws
   * `INVALID_ARGUMENT` (with `buffer` untouched) unless the payloads come in order, each with 12
   * bytes before it that no other record uses, and end within `buffer`.
   */
  sealLogRecords(buffer: Uint8Array, spans: Uint32Array): void;
  /**
   * `sealLogRecords` for a whole batch, its records given by where each starts: record `k`'s header
   * is at `starts[k] - shift` in `buffer`, and its payload runs to the next record's start (the
   * last one's to `end`). The native accelerator computes it on a libuv threadpool thread, so the
   * caller must leave `buffer` and `starts` alone until the promise settles; the TypeScript one
   * computes it before returning. Rejects with `INVALID_ARGUMENT` (with `buffer` untouched) unless
   * the records come in order, each at least 12 bytes long, and end within `buffer`.
   */
  sealLogBatch(buffer: Uint8Array, starts: Uint32Array, shift: number, end: number): Promise<void>;

  /** LZ4 block with a 4-byte little-endian size prefix (lz4-napi `compressSync` format). */
  lz4Compress(data: Uint8Array): Buffer;
  /** Inverse of `lz4Compress`; accepts any valid size-prefixed LZ4 block. */
  lz4Decompress(data: Uint8Array): Buffer;

  /** Encode one value-log frame holding `keys.length` records (1..65535). */
  encodeFrame(keys: PackedBytes, values: PackedBytes, options?: FrameEncodeOptions): Buffer;
  /** Decode and verify the frame starting at `offset` (default 0) of `data`. */
  decodeFrame(data: Uint8Array, offset?: number): DecodedFrame;
  /**
   * Scan the value-log frames lying back to back in `data`, a segment's bytes from `baseOffset`
   * (default 0; a frame boundary, at most 2^32 − 1) on: one call for a few MiB of a segment. Stops
   * before a frame that does not lie wholly within `data` (read on from `end`) and before a body
   * that would take `data` of the result past 2^32 − 1 bytes once a frame was scanned. A frame
   * within `data` that does not check, or a header that does not (even of a frame cut short), is
   * `CORRUPTION`.
   */
  scanSegment(data: Uint8Array, baseOffset?: number): SegmentScan;

  /**
   * A stable permutation ordering the keys by unsigned bytes (shorter prefix first), or with
   * `options.trailerBytes` by user part, then trailer (see `KeyOrderOptions`). Throws
   * `INVALID_ARGUMENT` for a malformed batch or options, or a key shorter than the trailer.
   */
  sortKeys(keys: PackedBytes, options?: KeyOrderOptions): Uint32Array;

  /**
   * Merge runs that are each strictly ascending in the key order of `options` (unsigned bytes by
   * default; see `KeyOrderOptions`). `runs[0]` is the newest: when several runs hold the same key
   * (the same bytes), only the entry of the lowest-numbered run is emitted. Throws
   * `INVALID_ARGUMENT` for a malformed run or options, a key shorter than the trailer, or a run
   * that is not strictly ascending.
   */
  mergeRuns(runs: readonly PackedBytes[], options?: KeyOrderOptions): MergeResult;

  /** Encode one table block (prefix compression, restart points, CRC32C trailer). */
  encodeBlock(entries: BlockEntries, options?: BlockEncodeOptions): Buffer;
  /** Verify and decode a whole table block. */
  decodeBlock(data: Uint8Array): BlockEntries;
  /**
   * Check and decode a run of a table's consecutive stored data blocks (compaction's range reads):
   * block `i` is `run[spans[2i], spans[2i] + spans[2i + 1])`; `indexKeys` holds the index key of the
   * block before the run (ignored unless `hasPrevious`), then each block's own. Every check of
   * FORMAT §5.2 is made (checksum, restarts, varints, bounds, kinds, tombstone values, internal-key
   * order within and across blocks, last key = index key); any failure is `CORRUPTION`. Returns the
   * entries of all the blocks in order, keys expanded.
   */
  decodeDataBlocks(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes, hasPrevious: boolean): BlockEntries;
  /**
   * Every check of `decodeDataBlocks`, with the same errors, without its output: for a reader that
   * walks the stored blocks itself (a single forward pass that does not cache what it reads).
   * Block `i`'s entry count is written to `counts[i]`; `INVALID_ARGUMENT` when `counts` is not a
   * Uint32Array with room for every block.
   */
  checkDataBlocks(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes, hasPrevious: boolean, counts: Uint32Array): void;
  /**
   * A table's point lookup in one data block: in the block's `payload` (FORMAT.md §3, checksum
   * trailer removed and decompressed: entries, restart array, restart count), the first entry at or
   * after the internal key `target` (user key ‖ 8-byte trailer) in internal-key order. When that
   * entry holds `target`'s user key, writes its value's start and end in `payload` (u32
   * little-endian at bytes 0 and 4), its tag (byte 8) and its key's trailer (bytes 12..20) into
   * `result` (at least 20 bytes) and returns true; returns false otherwise. One call per block a
   * point read visits. `INVALID_ARGUMENT` for a target shorter than a trailer or a short `result`,
   * `CORRUPTION` for a payload that does not parse (every varint, length and offset is checked).
   */
  blockPointGet(payload: Uint8Array, target: Uint8Array, result: Uint8Array): boolean;

  /** Open a read-only view of a file. */
  openFileView(path: string, options?: FileViewOptions): FileView;
  /** An empty set of served segments for value-log point reads (one per value log). */
  openPointerReads(): PointerReads;

  /** BLAKE3 of `data` with `outLength` bytes of extendable output (default 32, the plain hash; 0..2^24). */
  blake3(data: Uint8Array, outLength?: number): Buffer;
  /**
   * LtHash (docs/FORMAT.md, "Versioned store"): the state `lanes` (1024 little-endian u16 lanes,
   * 2048 bytes) with every pair (`keys[i]`, `values[i]`) mixed in — or out, with `subtract` — lane-wise
   * mod 2^16; returns the new state and leaves `lanes` alone. A pair's element is the first 2048
   * bytes of the BLAKE3 extendable output of `u32le(len key) ‖ key ‖ u32le(len value) ‖ value`; a
   * pair with an empty key or value contributes nothing. One call per change set, never per key.
   * Throws `INVALID_ARGUMENT` for a state that is not 2048 bytes or unequal key and value counts.
   */
  ltHashMix(lanes: Uint8Array, keys: PackedBytes, values: PackedBytes, subtract?: boolean): Buffer;
}
