/**
 * The value log (DESIGN §4, docs/ENGINE.md "Value log"): append-only segment files in lanes, each
 * a run of checksummed frames of K records (key + value). Values the engine separates are appended
 * here and replaced by a `ValuePointer` everywhere else.
 *
 * - **Lanes.** Each lane appends to one segment at a time and seals it once the next frame would
 *   pass the target size. A lane only rotates when it appends, so an idle lane never makes a new
 *   file (the TreeDB lane churn made hundreds of tiny files per lane). Foreground lanes take new
 *   writes; the cold lane (255) takes rewrite output, so values that survived a rewrite die together.
 * - **Appends** return pointers synchronously: the lane reserves the frame's offset and queues the
 *   write. Until the write lands, reads of the frame are served from the queued bytes.
 * - **Durability.** `sync()` makes every append issued before it durable (one datasync per lane,
 *   shared by concurrent callers). Sealing a segment syncs it. Nothing after a segment's valid end
 *   is trusted: open scans unsealed segments for the last whole, checksummed frame and truncates
 *   what follows — never below a length the ledger or a checkpoint recorded, since a recorded
 *   length is only ever taken from synced bytes.
 * - **Reads** are synchronous (getSync): one coarse read per frame through the segment's source,
 *   decoded and checked by the accelerator, then kept in a small frame cache.
 */
import { packBytes, type Accelerator, type DecodedFrame, type PointerReads, type SegmentScan } from '@siltdb/bindings';
import { join } from 'node:path';
import { ErrorCodes, isSiltError, siltError } from '../errors.js';
import { nodeVfs, NodeVfs } from '../vfs/node-vfs.js';
import type { Vfs, VfsFile } from '../vfs/types.js';
import { FrameCache } from './frame-cache.js';
import { frameRecord } from './frame-record.js';
import { layoutRawFrame, sealRawFrames, varintLength } from './raw-frame.js';
import { ArenaPool } from './arena-pool.js';
import {
  decodePointer,
  POINTER_BYTES,
  POINTER_VERSION,
  writePointerFields,
  type ValuePointer,
} from './pointer.js';
import {
  checkSegmentHeader,
  COLD_LANE,
  encodeSegmentHeader,
  frameLengthAt,
  parseSegmentFileName,
  SEGMENT_HEADER_BYTES,
  segmentPath,
  VLOG_DIR,
} from './segment-file.js';
import { FileViewSource, MemorySource, type SegmentSource } from './segment-source.js';

export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
/** Raw bytes per frame: a point read fetches and checks a whole frame, so frames stay small. */
export const DEFAULT_FRAME_BYTES = 4 * 1024;
export const DEFAULT_FRAME_RECORDS = 64;
export const DEFAULT_FRAME_CACHE_BYTES = 8 * 1024 * 1024;
/** A segment offset is a u32 in pointers: segments stay well below 4 GiB. */
export const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;

export interface ValueLogOptions {
  readonly vfs?: Vfs;
  readonly accelerator: Accelerator;
  /** Seal a segment once the next frame would take it past this. Default 16 MiB. */
  readonly segmentBytes?: number;
  /** Lanes for new writes (0 … n − 1). Default 1. */
  readonly foregroundLanes?: number;
  /** Close a frame once its records reach this many raw bytes. Default 4 KiB. */
  readonly frameBytes?: number;
  /** At most this many records per frame. Default 64. */
  readonly frameRecords?: number;
  /** LZ4 per frame, kept when it saves ≥ 12.5 %. Default true. */
  readonly compress?: boolean;
  readonly frameCacheBytes?: number;
  /**
   * Lengths recorded by the ledger or a checkpoint, taken from synced bytes: nothing below one is
   * ever truncated or scanned again. A `sealed` segment is complete at its length and is never
   * appended to (a checkpoint seals everything it links: the source database may still append to
   * the same file).
   */
  readonly recorded?: ReadonlyMap<number, RecordedSegment>;
  /** Never write, truncate or delete (read-only opens). */
  readonly readOnly?: boolean;
}

export interface RecordedSegment {
  readonly length: number;
  readonly sealed: boolean;
}

export interface SegmentInfo {
  readonly segment: number;
  readonly lane: number;
  /** Bytes written and readable. */
  readonly length: number;
  /** Bytes known durable. */
  readonly synced: number;
  /** No more appends: the segment is complete at `length` (or its recorded length). */
  readonly sealed: boolean;
}

export interface ValueLogStats {
  readonly segments: number;
  readonly bytes: number;
  readonly lanes: readonly { readonly lane: number; readonly segments: number; readonly bytes: number; readonly active: number | null }[];
  readonly frameCache: { readonly bytes: number; readonly hits: number; readonly misses: number };
  readonly framesWritten: number;
  readonly recordsWritten: number;
}

class Segment {
  /** Readable bytes (landed writes). */
  length = 0;
  synced = 0;
  sealed = false;
  /** Frames reserved but not yet written, by offset. */
  readonly pending = new Map<number, Uint8Array>();
  file: VfsFile | null = null;
  /**
   * The file being created for a segment a lane just started: frames bound for it are issued as
   * soon as it is open, without waiting for the previous segment's writes (see `rotate`).
   */
  opening: Promise<VfsFile> | null = null;
  /** Whether the header was checked (sealed segments are opened without reading them). */
  headerChecked = false;
  syncing: Promise<void> | null = null;
  /** Whether the file's directory entry is durable (new segments are created without a directory sync). */
  entryDurable = true;
  /**
   * `[offset, length]` of every frame placed in the segment, for a segment this process created
   * and until `frameDirectory` hands them out (or newer segments push it out): the directory
   * without reading a frame header back.
   */
  placed: number[] | null = null;
  /** Whether the source makes a point read in one accelerator call (`readRecordValue`). */
  readonly recordReads: boolean;
  constructor(
    readonly lane: number,
    readonly number: number,
    readonly path: string,
    readonly source: SegmentSource,
  ) {
    this.recordReads = source.readRecordValue !== undefined;
  }
}

/** Frames appended back to back to one segment, not yet queued for writing. */
interface FrameRun {
  segment: Segment | null;
  offset: number;
  frames: Uint8Array[];
  bytes: number;
  /** The buffer raw frames are laid out in, and `[start, end]` of those not sealed yet. */
  arena: Buffer | null;
  unsealed: number[];
}

/**
 * An append's frames go to the file in writes of about this many bytes, each issued as soon as its
 * frames are laid out: the kernel copies one part into the page cache (on a threadpool thread)
 * while this thread lays out the next, instead of the whole append waiting for its last frame.
 */
const WRITE_CHUNK_BYTES = 512 * 1024;

/**
 * Segments whose frame directories, recorded as frames are placed, are kept until asked for: the
 * staleness sampler asks once per sealed segment, soon after the seal; each costs 8 bytes per frame.
 */
const MAX_PLACED_DIRECTORIES = 16;

/** The most frames a lane stores raw, untried, after LZ4 attempts that did not pay. */
export const MAX_COMPRESS_BACKOFF = 64;

class Lane {
  current: Segment | null = null;
  /** Where the next frame goes in `current`. */
  end = 0;
  chain: Promise<void> = Promise.resolve();
  failure: unknown = null;
  /**
   * Frames left to store raw without an LZ4 attempt, and how many the next failed attempt skips.
   * A lane's values tend to be alike (incompressible media, or text): after an attempt that did not
   * save 12.5 % the next 1, 2, 4 … 64 frames are not tried; one that pays resets the backoff.
   */
  skipCompress = 0;
  compressBackoff = 0;
  /** Syncs of sealed segments queued or running (appends to the next segment do not wait for them). */
  readonly seals = new Set<Promise<void>>();
  /** The last seal sync queued: a lane's seals run one after another. */
  lastSeal: Promise<void> = Promise.resolve();
  constructor(readonly id: number) {}

  /** Whether to try LZ4 on the next frame (of `raw` body bytes); counts a skipped frame. */
  tryCompress(raw: number): boolean {
    if (raw < MIN_COMPRESS_BODY) return false;
    if (this.skipCompress === 0) return true;
    this.skipCompress--;
    return false;
  }

  /** The outcome of an attempt: whether the frame was stored compressed. */
  compressed(paid: boolean): void {
    this.compressBackoff = paid ? 0 : Math.min(MAX_COMPRESS_BACKOFF, Math.max(1, 2 * this.compressBackoff));
    this.skipCompress = this.compressBackoff;
  }
}

/**
 * Sealed segments of one lane whose syncs may be queued before appends wait for one. The syncs run
 * one at a time (a second datasync on the same disk does not make the first faster, and each holds
 * a threadpool thread that the WAL's and the lanes' writes need), so a burst of writes faster than
 * the disk syncs is absorbed by a few segments' worth of page cache before it is slowed down.
 */
const MAX_SEALS_QUEUED = 4;

/** FORMAT §2: bodies shorter than this are never compressed, so trying tells nothing. */
const MIN_COMPRESS_BODY = 64;

/** One frame of an append: records `[from, to)`, encoded by the accelerator (an LZ4 attempt) or laid out raw. */
interface PlannedFrame {
  readonly from: number;
  readonly to: number;
  readonly length: number;
  encoded: Uint8Array | null;
}

/**
 * The lanes `sync` and `written` wait for. `foreground`: not the cold lane, whose rewrite output no
 * WAL entry points at (swapped pointers have no WAL record; a flush syncs every lane before its
 * edit), so an acknowledged write never waits for a rewrite's copies. A write still waits for every
 * foreground lane: replay stops at the first batch whose pointers do not resolve, so an earlier
 * write's frames in another lane must have landed (or be durable) before a later one is
 * acknowledged.
 */
export type LaneScope = 'all' | 'foreground';

function inScope(lane: Lane, scope: LaneScope): boolean {
  return scope === 'all' || lane.id !== COLD_LANE;
}

/** The raw length a record takes in a frame body, which the ledger charges its segment. */
export function recordBytesOf(keyLength: number, valueLength: number): number {
  return varintLength(keyLength) + keyLength + valueLength;
}

/** `frames` with neighbours that are adjacent in one buffer (raw frames in an arena) joined into one view. */
function contiguous(frames: readonly Uint8Array[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let i = 0;
  while (i < frames.length) {
    const first = frames[i]!;
    let end = first.byteOffset + first.length;
    let j = i + 1;
    while (j < frames.length && frames[j]!.buffer === first.buffer && frames[j]!.byteOffset === end) end += frames[j++]!.length;
    chunks.push(j === i + 1 ? first : new Uint8Array(first.buffer, first.byteOffset, end - first.byteOffset));
    i = j;
  }
  return chunks;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function integer(value: number | undefined, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw siltError(ErrorCodes.INVALID_ARGUMENT, `${name} must be an integer in [${min}, ${max}]`);
  return value;
}

/** The end of the last whole, checksummed frame of a segment's bytes (its header checked first). */
export function scanValidEnd(bytes: Uint8Array, accelerator: Accelerator, from = SEGMENT_HEADER_BYTES): number {
  let at = from;
  while (at + 20 <= bytes.length) {
    const length = frameLengthAt(bytes.subarray(at, at + 20));
    if (length < 0 || at + length > bytes.length) break;
    try {
      accelerator.decodeFrame(bytes.subarray(at, at + length), 0);
    } catch (error) {
      if (isSiltError(error) && error.code === ErrorCodes.CORRUPTION) break;
      throw error;
    }
    at += length;
  }
  return at;
}

export class ValueLog {
  private readonly segments = new Map<number, Segment>();
  private readonly lanes = new Map<number, Lane>();
  private readonly cache: FrameCache;
  /**
   * Buffers raw frames are laid out in, reused once their writes landed: a write batch's few MiB
   * are; a rewrite's copy of a segment's live records (up to a segment) is not kept (4 buffers of
   * up to 8 MiB parked ~20 MiB of idle memory in the 500k-key churn benchmark).
   */
  private readonly arenas = new ArenaPool(8 * 1024 * 1024, 4 * 1024 * 1024);
  /**
   * Appends whose pointers have not reached a memtable yet, per segment: GC must not take a
   * segment that pointers are on their way to (they are in no memtable, table or ledger entry
   * until the write applies or the swap lands). `settle` ends an append's hold.
   */
  private readonly inFlight = new Map<number, number>();
  private readonly heldBy = new WeakMap<readonly Uint8Array[], readonly number[]>();
  /** Segments holding a `placed` directory, oldest first (at most `MAX_PLACED_DIRECTORIES`). */
  private readonly placedDirectories: Segment[] = [];
  private nextSegment = 1;
  private closed = false;
  private framesWritten = 0;
  private recordsWritten = 0;
  readonly foregroundLanes: number;
  private readonly segmentBytes: number;
  private readonly frameBytes: number;
  private readonly frameRecords: number;
  private readonly compress: boolean;
  private readonly direct: boolean;
  private readonly readOnly: boolean;
  /**
   * Point reads from the pointer bytes in one accelerator call, for segments on the real file
   * system once a read through the full path checked their header (`null` for other file systems).
   */
  private readonly pointerReads: PointerReads | null;

  private constructor(
    readonly dir: string,
    private readonly vfs: Vfs,
    private readonly accelerator: Accelerator,
    options: ValueLogOptions,
  ) {
    this.segmentBytes = integer(options.segmentBytes, 'valueLogSegmentBytes', DEFAULT_SEGMENT_BYTES, 4096, MAX_SEGMENT_BYTES);
    this.foregroundLanes = integer(options.foregroundLanes, 'valueLogLanes', 1, 1, COLD_LANE);
    this.frameBytes = integer(options.frameBytes, 'frameBytes', DEFAULT_FRAME_BYTES, 1, MAX_SEGMENT_BYTES);
    this.frameRecords = integer(options.frameRecords, 'frameRecords', DEFAULT_FRAME_RECORDS, 1, 65535);
    this.compress = options.compress ?? true;
    this.cache = new FrameCache(integer(options.frameCacheBytes, 'frameCacheBytes', DEFAULT_FRAME_CACHE_BYTES, 0, Number.MAX_SAFE_INTEGER));
    this.direct = vfs === nodeVfs || vfs instanceof NodeVfs;
    this.pointerReads = this.direct ? accelerator.openPointerReads() : null;
    this.readOnly = options.readOnly ?? false;
  }

  /**
   * Open the value log of the database in `dbDir`: find its segments, scan the unsealed ones for
   * their valid end (truncating a torn tail), and resume each lane's newest unsealed segment.
   */
  static async open(dbDir: string, options: ValueLogOptions): Promise<ValueLog> {
    const vfs = options.vfs ?? nodeVfs;
    const log = new ValueLog(dbDir, vfs, options.accelerator, options);
    const recorded = options.recorded ?? new Map<number, RecordedSegment>();
    const dir = join(dbDir, VLOG_DIR);
    let names: string[] = [];
    if (await vfs.exists(dir)) names = await vfs.readdir(dir);
    else if (!log.readOnly) await vfs.mkdir(dir, { recursive: true, durable: true });
    const unsealed: Segment[] = [];
    for (const name of names) {
      const parsed = parseSegmentFileName(name);
      if (parsed === null) continue;
      const { lane, segment: number } = parsed;
      const path = segmentPath(dbDir, lane, number);
      log.nextSegment = Math.max(log.nextSegment, number + 1);
      const known = recorded.get(number);
      if (known?.sealed === true) {
        const bytes = log.direct ? null : await vfs.readFile(path);
        if (bytes !== null && bytes.length < known.length) throw siltError(ErrorCodes.SHORT_FILE, `${path} has ${bytes.length} bytes; the manifest records ${known.length}`);
        const segment = new Segment(lane, number, path, log.sourceFor(path, bytes?.subarray(0, known.length)));
        segment.length = segment.synced = known.length;
        segment.sealed = true;
        log.segments.set(number, segment);
        continue;
      }
      const bytes = await vfs.readFile(path);
      const trusted = known?.length ?? 0;
      if (bytes.length < trusted) throw siltError(ErrorCodes.SHORT_FILE, `${path} has ${bytes.length} bytes; the manifest records ${trusted}`);
      let validEnd = 0;
      try {
        checkSegmentHeader(bytes, lane, number, log.accelerator, path);
        validEnd = scanValidEnd(bytes, log.accelerator, Math.max(trusted, SEGMENT_HEADER_BYTES));
      } catch (error) {
        if (!isSiltError(error) || error.code !== ErrorCodes.CORRUPTION || trusted > 0) throw error;
      }
      if (validEnd === 0) {
        // A segment whose header never became durable holds nothing anyone could point at.
        if (!log.readOnly) await vfs.unlink(path);
        continue;
      }
      if (validEnd < bytes.length && !log.readOnly) await vfs.truncate(path, validEnd);
      const segment = new Segment(lane, number, path, log.sourceFor(path, bytes.subarray(0, validEnd)));
      segment.length = segment.synced = validEnd;
      segment.headerChecked = true;
      log.segments.set(number, segment);
      unsealed.push(segment);
    }
    for (const number of recorded.keys()) log.nextSegment = Math.max(log.nextSegment, number + 1);
    if (log.readOnly) log.pinAll(recorded);
    // Each lane resumes its newest unsealed segment; older unsealed ones are complete.
    unsealed.sort((a, b) => a.number - b.number);
    for (const segment of unsealed) {
      const lane = log.lane(segment.lane);
      if (lane.current !== null) lane.current.sealed = true;
      lane.current = segment;
      lane.end = segment.length;
    }
    if (!log.readOnly) {
      for (const lane of log.lanes.values()) {
        const segment = lane.current;
        if (segment !== null) segment.file = await vfs.open(segment.path, { mode: 'readwrite' });
      }
    }
    return log;
  }

  /**
   * Read-only: every segment the manifest records must be here, and is opened now. A writer's GC
   * drops a segment from the ledger before unlinking it, so a recorded segment that is missing
   * (or vanishes before we hold it) was deleted after our manifest read: the error makes
   * the read-only open read the manifest again (db/open.ts retries).
   */
  private pinAll(recorded: ReadonlyMap<number, RecordedSegment>): void {
    for (const number of recorded.keys()) {
      if (!this.segments.has(number)) throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${number}, which the manifest records, is missing`);
    }
    try {
      for (const segment of this.segments.values()) segment.source.pin(segment.length);
    } catch (error) {
      for (const segment of this.segments.values()) segment.source.close();
      throw error;
    }
  }

  private sourceFor(path: string, bytes: Uint8Array | null | undefined): SegmentSource {
    return this.direct ? new FileViewSource(path, this.accelerator) : new MemorySource(bytes ?? new Uint8Array(0));
  }

  private lane(id: number): Lane {
    let lane = this.lanes.get(id);
    if (lane === undefined) this.lanes.set(id, (lane = new Lane(id)));
    return lane;
  }

  /** The foreground lane for a write whose first separated key is `key` (stable per key). */
  laneFor(key: Uint8Array): number {
    if (this.foregroundLanes === 1) return 0;
    let hash = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key[i]!, 0x01000193);
    return (hash >>> 0) % this.foregroundLanes;
  }

  /**
   * Append records (key i with value i) to `lane`, in frames of up to `frameRecords` records and
   * about `frameBytes` raw bytes; returns their encoded pointers at once. The writes land in the
   * background, in order; `sync()` waits for them and makes them durable.
   */
  append(laneId: number, keys: readonly Uint8Array[], values: readonly Uint8Array[]): Uint8Array[] {
    if (this.readOnly) throw siltError(ErrorCodes.READ_ONLY, 'the value log was opened read-only');
    if (this.closed) throw siltError(ErrorCodes.CLOSED, 'the value log is closed');
    if (!Number.isInteger(laneId) || laneId < 0 || laneId > COLD_LANE) throw siltError(ErrorCodes.INVALID_ARGUMENT, `bad lane ${laneId}`);
    const lane = this.lane(laneId);
    if (lane.failure !== null) throw lane.failure;
    if (keys.length !== values.length) throw siltError(ErrorCodes.INVALID_ARGUMENT, `an append needs as many values as keys (${keys.length} keys, ${values.length} values)`);
    const pointers: Uint8Array[] = [];
    const frames = this.planFrames(lane, keys, values);
    // The frames not compressed by the accelerator, laid out back to back in one buffer: each value
    // is copied once, into the bytes that go to the file.
    let rawBytes = 0;
    for (const frame of frames) if (frame.encoded === null) rawBytes += frame.length;
    const arena = rawBytes > 0 ? this.arenas.take(rawBytes) : null;
    let at = 0;
    // Frames bound for the same segment go to the disk in one `writev` per `WRITE_CHUNK_BYTES`.
    const run: FrameRun = { segment: null, offset: 0, frames: [], bytes: 0, arena, unsealed: [] };
    const segmentsTouched = new Set<number>();
    // Every pointer of the append in one allocation (one small buffer each measured 2–4× the time).
    const pointerBytes = new Uint8Array(POINTER_BYTES * keys.length);
    for (const frame of frames) {
      if (frame.encoded === null) {
        const end = layoutRawFrame(arena!, at, keys, values, frame.from, frame.to);
        frame.encoded = new Uint8Array(arena!.buffer, arena!.byteOffset + at, end - at);
        run.unsealed.push(at, end);
        at = end;
      }
      segmentsTouched.add(this.placeFrame(lane, frame, keys, values, pointerBytes, pointers, run));
      if (run.bytes >= WRITE_CHUNK_BYTES) this.writeRun(lane, run);
    }
    this.writeRun(lane, run);
    if (arena !== null) {
      // Every frame in the arena has landed (and left `pending`) once the lane gets here; after a
      // failed write the lane skips this and the arena is simply collected.
      const done = arena;
      this.enqueue(lane, async () => this.arenas.give(done));
    }
    // Hold each segment these pointers name until the caller settles them.
    const held: number[] = [];
    for (const segment of segmentsTouched) {
      held.push(segment);
      this.inFlight.set(segment, (this.inFlight.get(segment) ?? 0) + 1);
    }
    this.heldBy.set(pointers, held);
    return pointers;
  }

  /**
   * The pointers `append` returned are in a memtable now (or will never be used): GC may take
   * their segments again once nothing else holds them. Idempotent.
   */
  settle(pointers: readonly Uint8Array[]): void {
    const held = this.heldBy.get(pointers);
    if (held === undefined) return;
    this.heldBy.delete(pointers);
    for (const segment of held) {
      const count = (this.inFlight.get(segment) ?? 0) - 1;
      if (count > 0) this.inFlight.set(segment, count);
      else this.inFlight.delete(segment);
    }
  }

  /** Whether an append's pointers into `segment` have not settled yet. */
  hasInFlight(segment: number): boolean {
    return this.inFlight.has(segment);
  }

  /**
   * Split an append into frames of up to `frameRecords` records and about `frameBytes` raw bytes,
   * and encode the ones the lane tries to compress (the others are laid out raw by `append`).
   */
  private planFrames(lane: Lane, keys: readonly Uint8Array[], values: readonly Uint8Array[]): PlannedFrame[] {
    const frames: PlannedFrame[] = [];
    let start = 0;
    while (start < keys.length) {
      let end = start;
      let raw = 0;
      while (end < keys.length && end - start < this.frameRecords && (end === start || raw < this.frameBytes)) {
        raw += recordBytesOf(keys[end]!.length, values[end]!.length);
        end++;
      }
      if (this.compress && lane.tryCompress(raw)) {
        const encoded = this.accelerator.encodeFrame(packBytes(keys.slice(start, end)), packBytes(values.slice(start, end)), { compress: true });
        lane.compressed((encoded[5]! & 1) !== 0);
        frames.push({ from: start, to: end, length: encoded.length, encoded });
      } else {
        frames.push({ from: start, to: end, length: 20 + 4 * (end - start) + raw, encoded: null });
      }
      start = end;
    }
    return frames;
  }

  /** Give an encoded frame its place in the lane's segment; returns the segment it went to. */
  private placeFrame(
    lane: Lane,
    planned: PlannedFrame,
    keys: readonly Uint8Array[],
    values: readonly Uint8Array[],
    pointerBytes: Uint8Array,
    pointers: Uint8Array[],
    run: FrameRun,
  ): number {
    const frame = planned.encoded!;
    if (lane.current === null || (lane.end > SEGMENT_HEADER_BYTES && lane.end + frame.length > this.segmentBytes)) {
      this.writeRun(lane, run);
      this.rotate(lane);
    }
    const segment = lane.current!;
    const offset = lane.end;
    lane.end += frame.length;
    segment.pending.set(offset, frame);
    segment.placed?.push(offset, frame.length);
    if (run.segment === null) {
      run.segment = segment;
      run.offset = offset;
    }
    run.frames.push(frame);
    run.bytes += frame.length;
    for (let i = planned.from; i < planned.to; i++) {
      const at = i * POINTER_BYTES;
      writePointerFields(pointerBytes, at, segment.number, offset, frame.length, i - planned.from, recordBytesOf(keys[i]!.length, values[i]!.length));
      pointers.push(pointerBytes.subarray(at, at + POINTER_BYTES));
    }
    this.framesWritten++;
    this.recordsWritten += planned.to - planned.from;
    return segment.number;
  }

  /**
   * Write the frames gathered in `run` (one `writev`), and empty it. The write is issued at once
   * when the segment's file is open (else as soon as it is, or by the lane); it lands — becomes readable from
   * the file, counts toward `written()` — in the lane's order either way. Writes issued together
   * may reach the file in any order: each has its own range, and a crash keeps at most a prefix of
   * whole frames (open truncates after the last whole, checksummed one).
   */
  private writeRun(lane: Lane, run: FrameRun): void {
    if (run.unsealed.length > 0) {
      sealRawFrames(run.arena!, run.unsealed, this.accelerator);
      run.unsealed = [];
    }
    const segment = run.segment;
    if (segment === null) return;
    const frames = run.frames;
    const first = run.offset;
    run.segment = null;
    run.frames = [];
    run.bytes = 0;
    const chunks = contiguous(frames);
    const write = (file: VfsFile): Promise<void> => (chunks.length === 1 ? file.write(chunks[0]!, first) : file.writev(chunks, first));
    let issued: Promise<void> | null = null;
    if (lane.failure === null) {
      if (segment.file !== null) issued = write(segment.file);
      else if (segment.opening !== null) issued = segment.opening.then(write);
    }
    // Its failure is the lane's, reported by the step below.
    issued?.catch(() => {});
    this.enqueue(lane, async () => {
      await (issued ?? write(segment.file!));
      let at = first;
      for (const frame of frames) {
        segment.source.appended(frame, at);
        segment.pending.delete(at);
        at += frame.length;
      }
      segment.length = at;
    });
  }

  /** Seal the lane's segment (synced and closed in the background) and start the next one. */
  private rotate(lane: Lane): void {
    const old = lane.current;
    if (old !== null) {
      old.sealed = true;
      // Sealing syncs the segment: in the background, once its writes landed, so appends to the
      // next segment need not wait for a 16 MiB datasync; `sync()` and `close()` wait for it.
      this.enqueue(lane, async () => {
        while (lane.seals.size >= MAX_SEALS_QUEUED) await Promise.race(lane.seals);
        const seal: Promise<void> = lane.lastSeal
          .then(() => this.closeSegmentFile(old))
          .catch((error: unknown) => {
            lane.failure ??= error;
          })
          .finally(() => lane.seals.delete(seal));
        lane.seals.add(seal);
        lane.lastSeal = seal;
      });
    }
    const number = this.nextSegment++;
    const path = segmentPath(this.dir, lane.id, number);
    const segment = new Segment(lane.id, number, path, this.sourceFor(path, null));
    this.segments.set(number, segment);
    lane.current = segment;
    lane.end = SEGMENT_HEADER_BYTES;
    const header = encodeSegmentHeader(lane.id, number, this.accelerator);
    segment.pending.set(0, header);
    segment.headerChecked = true;
    segment.entryDurable = false;
    segment.placed = [];
    this.placedDirectories.push(segment);
    if (this.placedDirectories.length > MAX_PLACED_DIRECTORIES) this.placedDirectories.shift()!.placed = null;
    // The file is created now, not once the previous segment's writes landed: the header and the
    // first frames go to it concurrently with those writes (waiting made every rotation cost an
    // open, a header write and the first append's writes one after another, ~3 ms per 16 MiB of
    // 16 KiB values). They still land — become readable, count toward `written()` — in the lane's
    // order. A crash may keep bytes of the new segment while the old one's tail is lost: open
    // keeps each unsealed segment's whole, checksummed frames, and WAL replay stops at the first
    // batch whose pointers do not resolve, so the new segment's frames are only unreferenced bytes.
    // The directory entry is made durable before the first sync of the segment's bytes.
    const opening = this.vfs.open(path, { mode: 'exclusive' }).then((file) => (segment.file = file));
    segment.opening = opening;
    const headerWritten = opening.then((file) => file.write(header, 0));
    // Their failures are the lane's, reported by the step below (and by the frames' steps).
    headerWritten.catch(() => {});
    this.enqueue(lane, async () => {
      await headerWritten;
      segment.opening = null;
      segment.source.appended(header, 0);
      segment.length = SEGMENT_HEADER_BYTES;
      segment.pending.delete(0);
    });
  }

  private async closeSegmentFile(segment: Segment): Promise<void> {
    const file = segment.file;
    if (file === null) return;
    const end = segment.length;
    await this.makeEntryDurable(segment);
    await file.datasync();
    segment.synced = Math.max(segment.synced, end);
    segment.file = null;
    await file.close();
  }

  private async makeEntryDurable(segment: Segment): Promise<void> {
    if (segment.entryDurable) return;
    await this.vfs.syncDir(join(this.dir, VLOG_DIR));
    segment.entryDurable = true;
  }

  private enqueue(lane: Lane, step: () => Promise<void>): void {
    lane.chain = lane.chain.then(async () => {
      if (lane.failure !== null) return;
      try {
        await step();
      } catch (error) {
        lane.failure = error;
      }
    });
  }

  /** Make every append issued so far durable (and readable from disk). */
  async sync(lanes: LaneScope = 'all'): Promise<void> {
    await Promise.all([...this.lanes.values()].filter((lane) => inScope(lane, lanes)).map((lane) => this.syncLane(lane)));
  }

  /** Wait until every append issued so far has landed (not necessarily durable). */
  async written(lanes: LaneScope = 'all'): Promise<void> {
    for (const lane of this.lanes.values()) {
      if (!inScope(lane, lanes)) continue;
      await lane.chain;
      if (lane.failure !== null) throw lane.failure;
    }
  }

  private async syncLane(lane: Lane): Promise<void> {
    await lane.chain;
    if (lane.seals.size > 0) await Promise.all(lane.seals);
    if (lane.failure !== null) throw lane.failure;
    const segment = lane.current;
    if (segment === null || segment.file === null) return;
    const target = segment.length;
    if (segment.synced < target) await this.makeEntryDurable(segment);
    while (segment.synced < target) {
      if (segment.syncing !== null) {
        await segment.syncing;
        continue;
      }
      const file = segment.file;
      if (file === null) break;
      const end = segment.length;
      segment.syncing = file
        .datasync()
        .then(() => {
          segment.synced = Math.max(segment.synced, end);
        })
        .finally(() => {
          segment.syncing = null;
        });
      await segment.syncing;
    }
  }

  /** The value a pointer names (a copy). `key`, when given, must be the record's key. */
  read(pointerBytes: Uint8Array, key?: Uint8Array): Uint8Array {
    return this.readAt(pointerBytes, 0, pointerBytes.length, key);
  }

  /**
   * `read` of the pointer at `bytes[from, to)` (in a memtable's arena, a table's block). A point
   * read's common case — an uncompressed frame on disk, neither cached nor queued — is decoded in
   * place and served by one accelerator call: no view of the pointer, no pointer object.
   */
  readAt(bytes: Uint8Array, from: number, to: number, key?: Uint8Array): Uint8Array {
    // A served segment's uncompressed frame: one accelerator call from the pointer's bytes to the
    // value. Everything else — and whatever that call leaves, errors included — takes the full path.
    if (this.pointerReads !== null && key !== undefined && to - from === POINTER_BYTES) {
      // The value's length: the pointer's record bytes (FORMAT §8.3, offset 19) less the key and
      // its varint. A length the record does not have is refused by the call.
      const keyLength = key.length;
      const valueLength =
        (bytes[from + 19]! | (bytes[from + 20]! << 8) | (bytes[from + 21]! << 16)) + bytes[from + 22]! * 0x1000000 - (keyLength < 0x80 ? 1 : varintLength(keyLength)) - keyLength;
      if (valueLength >= 0) {
        // Memory of its own the garbage collector manages, as a plain Uint8Array, not zero-filled:
        // the call writes every byte before the value is handed out, and it is dropped unseen
        // otherwise. (Zeroing 16 KiB that the copy then overwrites cost ~15 % of a large read.)
        const out = new Uint8Array(Buffer.allocUnsafeSlow(valueLength).buffer, 0, valueLength);
        if (this.pointerReads.read(bytes, from, key, out)) return out;
      }
    }
    return this.readUnservedAt(bytes, from, to, key);
  }

  /**
   * `readAt` past the accelerator's pointer reads: the first read of each segment (which checks
   * its header, then serves the segment), reads of frames not landed when the segment was served,
   * compressed or cached frames, other file systems, and every failure (which this path reports).
   */
  private readUnservedAt(bytes: Uint8Array, from: number, to: number, key: Uint8Array | undefined): Uint8Array {
    // One function from the pointer to the accelerator call, its rare cases in cold methods: while
    // a process warms up every function on this path runs unoptimised and is then compiled (small
    // helpers alone first, then again inside each caller they are inlined into), and that compile
    // work runs on the other core this read competes for. The checks of `isPointerAt` and the pointer's fields (FORMAT §8.3), read in place; a pointer
    // they refuse is decoded by `readDecodedAt`, which throws why.
    if (key === undefined || to - from !== POINTER_BYTES || bytes[from] !== POINTER_VERSION || bytes[from + 8] !== 0 || bytes[from + 7]! > 0x1f) {
      return this.readDecodedAt(bytes, from, to, key);
    }
    const segmentNumber =
      (bytes[from + 1]! | (bytes[from + 2]! << 8) | (bytes[from + 3]! << 16)) +
      bytes[from + 4]! * 0x1000000 +
      (bytes[from + 5]! | (bytes[from + 6]! << 8) | (bytes[from + 7]! << 16)) * 2 ** 32;
    const frameOffset = (bytes[from + 9]! | (bytes[from + 10]! << 8) | (bytes[from + 11]! << 16)) + bytes[from + 12]! * 0x1000000;
    const frameLength = (bytes[from + 13]! | (bytes[from + 14]! << 8) | (bytes[from + 15]! << 16)) + bytes[from + 16]! * 0x1000000;
    const subIndex = bytes[from + 17]! | (bytes[from + 18]! << 8);
    const recordBytes = (bytes[from + 19]! | (bytes[from + 20]! << 8) | (bytes[from + 21]! << 16)) + bytes[from + 22]! * 0x1000000;
    if (segmentNumber === 0 || recordBytes === 0 || frameLength < 24 || frameOffset > 0xffffffff - frameLength) return this.readDecodedAt(bytes, from, to, key);
    const segment = this.segments.get(segmentNumber);
    if (
      segment === undefined ||
      !segment.recordReads ||
      (segment.pending.size !== 0 && segment.pending.has(frameOffset)) ||
      (this.cache.size !== 0 && this.cache.has(segmentNumber, frameOffset))
    ) {
      return this.readDecodedAt(bytes, from, to, key);
    }
    // A frame not in the cache: check it and take the one record, without decoding the rest.
    const keyLength = key.length;
    const valueLength = recordBytes - (keyLength < 0x80 ? 1 : varintLength(keyLength)) - keyLength;
    if (valueLength < 0 || !segment.headerChecked || frameOffset < SEGMENT_HEADER_BYTES || frameOffset + frameLength > segment.length) {
      this.checkRecordRead(segment, frameOffset, frameLength, subIndex, valueLength);
    }
    // Memory of its own the garbage collector manages, exactly the value's bytes (nothing else
    // of the frame stays reachable), as a plain Uint8Array. Not zero-filled: the call below
    // writes every byte before the value is handed out (and on an error or a compressed frame
    // the memory is dropped unread). Zeroing 16 KiB that the copy then overwrites cost ~15 %
    // of a steady-state large-value read (main-thread CPU samples, same-run pairs).
    const out = new Uint8Array(Buffer.allocUnsafeSlow(valueLength).buffer, 0, valueLength);
    let copied: boolean;
    try {
      // The frame's checksum and the record's key are checked in the same call.
      copied = segment.source.readRecordValue!(frameOffset, frameLength, segment.length, subIndex, key, out);
    } catch (error) {
      throw this.recordReadError(error, segmentNumber, frameOffset, subIndex);
    }
    // Not copied: a compressed frame, decoded below.
    if (!copied) return this.readDecodedAt(bytes, from, to, key);
    // The header is checked by now: serve the segment from here on (a no-op once it is served; its
    // source keeps the served view current).
    if (this.pointerReads !== null) segment.source.servePointerReads?.(this.pointerReads, segment.number);
    return out;
  }

  /** `readAt`'s checks that fail only for a corrupt pointer or segment (and check a segment's header once). */
  private checkRecordRead(segment: Segment, frameOffset: number, frameLength: number, subIndex: number, valueLength: number): void {
    if (valueLength < 0) throw this.corruptAt(segment.number, frameOffset, subIndex, 'record length differs from the pointer');
    if (!segment.headerChecked) this.checkHeaderOnce(segment);
    if (frameOffset < SEGMENT_HEADER_BYTES || frameOffset + frameLength > segment.length) {
      throw siltError(ErrorCodes.CORRUPTION, `value-log frame ${segment.number}@${frameOffset}+${frameLength} is outside the segment's ${segment.length} bytes`);
    }
  }

  /** The error a failed record read throws: a corruption names the record. */
  private recordReadError(error: unknown, segment: number, frameOffset: number, subIndex: number): unknown {
    return isSiltError(error) && error.code === ErrorCodes.CORRUPTION ? this.corruptAt(segment, frameOffset, subIndex, error.message) : error;
  }

  /** `readAt` of a pointer past the one-call case, or malformed (decoding it throws why). */
  private readDecodedAt(bytes: Uint8Array, from: number, to: number, key: Uint8Array | undefined): Uint8Array {
    return this.readDecoded(decodePointer(from === 0 && to === bytes.length ? bytes : bytes.subarray(from, to)), key);
  }

  /** `read` past the one-call case: queued, cached or compressed frames, in-memory segments, no key. */
  private readDecoded(pointer: ValuePointer, key: Uint8Array | undefined): Uint8Array {
    if (this.cache.size === 0 || !this.cache.has(pointer.segment, pointer.frameOffset)) {
      const segment = this.segments.get(pointer.segment);
      const fresh = this.direct && segment !== undefined && !segment.pending.has(pointer.frameOffset);
      const bytes = this.storedFrame(pointer.segment, pointer.frameOffset, pointer.frameLength);
      const record = frameRecord(bytes, pointer.subIndex, this.accelerator);
      if (record !== null) {
        if (recordBytesOf(record.key.length, record.value.length) !== pointer.recordBytes) throw this.corrupt(pointer, 'record length differs from the pointer');
        if (key !== undefined && !sameBytes(record.key, key)) throw this.corrupt(pointer, 'the record holds another key');
        // A fresh read from a file view is ours: the value can be a view of it. Queued frames and
        // in-memory segments are shared, so their values are copied.
        return fresh ? new Uint8Array(record.value.buffer, record.value.byteOffset, record.value.length) : new Uint8Array(record.value);
      }
    }
    const frame = this.frame(pointer.segment, pointer.frameOffset, pointer.frameLength);
    const count = frame.keys.offsets.length - 1;
    const i = pointer.subIndex;
    if (i >= count) throw this.corrupt(pointer, `sub-index ${i} is past the frame's ${count} records`);
    const keyOffsets = frame.keys.offsets;
    const valueOffsets = frame.values.offsets;
    const keyLength = keyOffsets[i + 1]! - keyOffsets[i]!;
    const valueLength = valueOffsets[i + 1]! - valueOffsets[i]!;
    if (recordBytesOf(keyLength, valueLength) !== pointer.recordBytes) throw this.corrupt(pointer, 'record length differs from the pointer');
    if (key !== undefined) {
      const data = frame.keys.data;
      const from = keyOffsets[i]!;
      let same = keyLength === key.length;
      for (let j = 0; same && j < keyLength; j++) same = data[from + j] === key[j];
      if (!same) throw this.corrupt(pointer, 'the record holds another key');
    }
    // A plain copy: the decoded frame may be a Buffer, whose `slice` would share its memory.
    return new Uint8Array(frame.values.data.subarray(valueOffsets[i]!, valueOffsets[i + 1]!));
  }

  /** Whether a pointer resolves to an intact record (WAL replay stops at the first that does not). */
  resolves(pointerBytes: Uint8Array, key: Uint8Array): boolean {
    try {
      this.read(pointerBytes, key);
      return true;
    } catch (error) {
      if (isSiltError(error) && (error.code === ErrorCodes.CORRUPTION || error.code === ErrorCodes.SHORT_FILE || error.code === ErrorCodes.OUT_OF_RANGE)) return false;
      throw error;
    }
  }

  /** The decoded frame at `offset` of `segmentNumber` (checked: CRC, length). */
  frame(segmentNumber: number, offset: number, length: number): DecodedFrame {
    const cached = this.cache.get(segmentNumber, offset);
    if (cached !== undefined) {
      if (cached.byteLength !== length) throw siltError(ErrorCodes.CORRUPTION, `value-log frame ${segmentNumber}@${offset} is ${cached.byteLength} bytes, the pointer says ${length}`);
      return cached;
    }
    const bytes = this.storedFrame(segmentNumber, offset, length);
    const frame = this.accelerator.decodeFrame(bytes, 0);
    if (frame.byteLength !== length) throw siltError(ErrorCodes.CORRUPTION, `value-log frame ${segmentNumber}@${offset} is ${frame.byteLength} bytes, the pointer says ${length}`);
    this.cache.set(segmentNumber, offset, frame);
    return frame;
  }

  private checkHeaderOnce(segment: Segment): void {
    if (!segment.headerChecked && segment.length >= SEGMENT_HEADER_BYTES) {
      checkSegmentHeader(segment.source.read(0, SEGMENT_HEADER_BYTES, segment.length), segment.lane, segment.number, this.accelerator, segment.path);
      segment.headerChecked = true;
    }
  }

  /** The stored bytes of the frame at `offset` (queued or on disk), the segment's header checked once. */
  private storedFrame(segmentNumber: number, offset: number, length: number): Uint8Array {
    const segment = this.segments.get(segmentNumber);
    if (segment === undefined) throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${segmentNumber} does not exist`);
    this.checkHeaderOnce(segment);
    let bytes = segment.pending.get(offset);
    if (bytes === undefined) {
      if (offset < SEGMENT_HEADER_BYTES || offset + length > segment.length) {
        throw siltError(ErrorCodes.CORRUPTION, `value-log frame ${segmentNumber}@${offset}+${length} is outside the segment's ${segment.length} bytes`);
      }
      bytes = segment.source.read(offset, length, segment.length);
    }
    if (bytes.length !== length) throw siltError(ErrorCodes.CORRUPTION, `value-log frame ${segmentNumber}@${offset}: the pointer's length ${length} is not the frame's`);
    return bytes;
  }

  /** Every frame of a segment, in order, from its landed bytes: `{ offset, frame }`. */
  *frames(segmentNumber: number): Generator<{ offset: number; frame: DecodedFrame }> {
    const segment = this.segments.get(segmentNumber);
    if (segment === undefined) throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${segmentNumber} does not exist`);
    let at = SEGMENT_HEADER_BYTES;
    while (at < segment.length) {
      if (at + 20 > segment.length) throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${segmentNumber} ends inside a frame header at ${at}`);
      const length = frameLengthAt(segment.source.read(at, 20, segment.length));
      if (length < 0) throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${segmentNumber} has no frame at ${at}`);
      yield { offset: at, frame: this.frame(segmentNumber, at, length) };
      at += length;
    }
  }

  /**
   * The records of the whole frames of a segment from `offset` (a frame boundary) on, from about
   * `maxBytes` of its landed bytes (more when one frame is longer): one read and one accelerator
   * call for a few MiB, past the frame cache — a rewrite scans a 16 MiB segment in a few of these
   * instead of one read and one decode per frame. `CORRUPTION` for a frame that does not check
   * and for a segment that ends inside a frame.
   */
  scanFrames(segmentNumber: number, offset: number, maxBytes: number): SegmentScan {
    const segment = this.segments.get(segmentNumber);
    if (segment === undefined) throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${segmentNumber} does not exist`);
    if (!segment.headerChecked && segment.length >= SEGMENT_HEADER_BYTES) {
      checkSegmentHeader(segment.source.read(0, SEGMENT_HEADER_BYTES, segment.length), segment.lane, segment.number, this.accelerator, segment.path);
      segment.headerChecked = true;
    }
    const end = segment.length;
    if (offset >= end) return this.accelerator.scanSegment(new Uint8Array(0), offset);
    let length = Math.min(Math.max(1, maxBytes), end - offset);
    for (;;) {
      const scan = this.accelerator.scanSegment(segment.source.read(offset, length, end), offset);
      if (scan.end > offset) return scan;
      // Nothing whole in what was read: the next frame is longer, read it whole.
      const frameLength = end - offset >= 20 ? frameLengthAt(segment.source.read(offset, 20, end)) : -1;
      if (frameLength <= length || offset + frameLength > end) {
        throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${segmentNumber} ends inside the frame at ${offset}`);
      }
      length = frameLength;
    }
  }

  /**
   * Where each landed frame of a segment lies — `[offset, length]` pairs, from the frame headers
   * alone (not checked: a reader of a frame checks it) — so a sampler can pick frames spread across
   * a sealed segment without reading all of it. `CORRUPTION` when a header does not parse. A sealed
   * segment this process wrote, all of whose frames landed, answers from the directory recorded as
   * its frames were placed (once: a second call reads the headers).
   */
  frameDirectory(segmentNumber: number): Uint32Array {
    const segment = this.segments.get(segmentNumber);
    if (segment === undefined) throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${segmentNumber} does not exist`);
    const end = segment.length;
    const placed = segment.placed;
    if (placed !== null && segment.sealed && segment.pending.size === 0) {
      const last = placed.length - 2;
      if (last < 0 ? end === SEGMENT_HEADER_BYTES : placed[last]! + placed[last + 1]! === end) {
        this.dropPlaced(segment);
        return Uint32Array.from(placed);
      }
    }
    const pairs: number[] = [];
    let at = SEGMENT_HEADER_BYTES;
    while (at < end) {
      const length = end - at >= 20 ? frameLengthAt(segment.source.read(at, 20, end)) : -1;
      if (length < 0 || at + length > end) throw siltError(ErrorCodes.CORRUPTION, `value-log segment ${segmentNumber} has no whole frame at ${at}`);
      pairs.push(at, length);
      at += length;
    }
    return Uint32Array.from(pairs);
  }

  private dropPlaced(segment: Segment): void {
    segment.placed = null;
    const i = this.placedDirectories.indexOf(segment);
    if (i >= 0) this.placedDirectories.splice(i, 1);
  }

  private corrupt(pointer: ValuePointer, why: string) {
    return this.corruptAt(pointer.segment, pointer.frameOffset, pointer.subIndex, why);
  }

  private corruptAt(segment: number, frameOffset: number, subIndex: number, why: string) {
    return siltError(ErrorCodes.CORRUPTION, `value pointer to segment ${segment} frame @${frameOffset} record ${subIndex}: ${why}`);
  }

  info(segmentNumber: number): SegmentInfo | undefined {
    const s = this.segments.get(segmentNumber);
    return s === undefined ? undefined : { segment: s.number, lane: s.lane, length: s.length, synced: s.synced, sealed: s.sealed };
  }

  /** Every segment, by number. */
  segmentInfos(): SegmentInfo[] {
    return [...this.segments.values()]
      .sort((a, b) => a.number - b.number)
      .map((s) => ({ segment: s.number, lane: s.lane, length: s.length, synced: s.synced, sealed: s.sealed }));
  }

  /** The segments lanes are appending to (never deleted by GC). */
  activeSegments(): Set<number> {
    const active = new Set<number>();
    for (const lane of this.lanes.values()) if (lane.current !== null && !lane.current.sealed) active.add(lane.current.number);
    return active;
  }

  /** Delete a sealed segment's file (GC; the caller knows nothing reaches it). */
  async remove(segmentNumber: number): Promise<void> {
    const segment = this.segments.get(segmentNumber);
    if (segment === undefined) return;
    if (!segment.sealed) throw siltError(ErrorCodes.INVALID_ARGUMENT, `value-log segment ${segmentNumber} is still being appended to`);
    if (this.readOnly) throw siltError(ErrorCodes.READ_ONLY, 'the value log was opened read-only');
    this.segments.delete(segmentNumber);
    this.dropPlaced(segment);
    this.cache.evictSegment(segmentNumber);
    segment.source.close();
    await this.vfs.unlink(segment.path);
  }

  stats(): ValueLogStats {
    const lanes = new Map<number, { lane: number; segments: number; bytes: number; active: number | null }>();
    let bytes = 0;
    for (const s of this.segments.values()) {
      const entry = lanes.get(s.lane) ?? { lane: s.lane, segments: 0, bytes: 0, active: null };
      entry.segments++;
      entry.bytes += s.length;
      if (!s.sealed) entry.active = s.number;
      lanes.set(s.lane, entry);
      bytes += s.length;
    }
    return {
      segments: this.segments.size,
      bytes,
      lanes: [...lanes.values()].sort((a, b) => a.lane - b.lane),
      frameCache: { bytes: this.cache.size, hits: this.cache.hits, misses: this.cache.misses },
      framesWritten: this.framesWritten,
      recordsWritten: this.recordsWritten,
    };
  }

  /** Land and sync every append, close the files. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let failure: unknown = null;
    for (const lane of this.lanes.values()) {
      await lane.chain;
      if (lane.seals.size > 0) await Promise.all(lane.seals);
      failure ??= lane.failure;
      const segment = lane.current;
      if (segment !== null && segment.file !== null) {
        try {
          if (lane.failure === null) await this.closeSegmentFile(segment);
          else await segment.file.close();
        } catch (error) {
          failure ??= error;
        }
      }
    }
    for (const segment of this.segments.values()) segment.source.close();
    if (failure !== null) throw failure;
  }
}
