/**
 * Reading entries back from segment files. Every record is verified on every read (header check
 * and CRC32C) before its payload reaches the codec, so a read never returns bytes that were not
 * written; anything wrong is `CORRUPTION`, never skipped.
 */
import { ErrorCodes, siltError, type SiltError } from '../errors.js';
import type { Vfs, VfsFile } from '../vfs/types.js';
import type { Codec } from './codec.js';
import { decodeIndexStamp, INDEX_STAMP_BYTES, SEGMENT_MAGIC, unknownStampVersion } from './index-stamp.js';
import { OffsetList } from './offset-list.js';
import { RECORD_HEADER_BYTES, firstBadChecksum, headerDefect, recordPayloadLength, scanRecords, type RecordDefect } from './record.js';
import type { Segment } from './segment.js';

/** The whole content of a file, read with positional reads. */
export async function readWholeFile(file: VfsFile, knownLength?: number): Promise<Uint8Array> {
  const length = knownLength ?? (await file.size());
  const bytes = new Uint8Array(length);
  let filled = 0;
  while (filled < length) {
    const count = await file.read(bytes, filled, length - filled, filled);
    if (count === 0) break;
    filled += count;
  }
  return filled === length ? bytes : bytes.subarray(0, filled);
}

/**
 * Read a sealed segment that was not read since open, verify all of it, and record its offsets.
 * It must hold exactly the records its name and its successor's name imply, with nothing after
 * them: a sealed segment was synced whole before the next one was created.
 */
export function loadSealedSegment(vfs: Vfs, segment: Segment): Promise<Uint8Array> {
  if (segment.loading === null) {
    const loading = (async () => {
      const bytes = await segment.withFile(vfs, (file) => readWholeFile(file));
      verifySealedSegment(segment, bytes);
      return bytes;
    })();
    segment.loading = loading;
    // Forgotten once settled: after success the offsets serve later reads, and after a failure the
    // next read tries again (and fails again if it must).
    const forget = (): void => {
      if (segment.loading === loading) segment.loading = null;
    };
    loading.then(forget, forget);
  }
  return segment.loading;
}

function verifySealedSegment(segment: Segment, bytes: Uint8Array): void {
  if (segment.offsets !== null) return;
  if (decodeIndexStamp(bytes, SEGMENT_MAGIC) !== segment.start) {
    const version = unknownStampVersion(bytes, SEGMENT_MAGIC);
    if (version !== null) throw corruption(segment, `it has segment format version ${version}, which this version of SiltDB cannot read`);
    throw corruption(segment, `its header is not a valid segment header for index ${segment.start}`);
  }
  const scan = scanRecords(bytes, INDEX_STAMP_BYTES, bytes.length);
  if (scan.defect !== null) {
    throw defectError(segment, segment.start + scan.offsets.length, scan.end, scan.defect);
  }
  if (scan.offsets.length !== segment.count) {
    throw corruption(
      segment,
      `it holds ${scan.offsets.length} records but the next segment starts at index ${segment.start + segment.count}`,
    );
  }
  segment.offsets = new OffsetList(scan.offsets);
  segment.end = scan.end;
}

/** Decode entries [from, to) of one segment into `out`. */
export async function readSegmentEntries<T>(
  vfs: Vfs,
  segment: Segment,
  from: number,
  to: number,
  codec: Codec<T>,
  out: T[],
): Promise<void> {
  if (segment.offsets === null) {
    const bytes = await loadSealedSegment(vfs, segment);
    // Verified as a whole by the load: decode straight from the same bytes.
    for (let index = from; index < to; index++) {
      const start = segment.recordStart(index) + RECORD_HEADER_BYTES;
      out.push(decodeEntry(codec, bytes.subarray(start, segment.recordEnd(index)), segment, index));
    }
    return;
  }
  const base = segment.recordStart(from);
  const length = segment.recordEnd(to - 1) - base;
  const bytes = new Uint8Array(length);
  await segment.withFile(vfs, async (file) => {
    for (let filled = 0; filled < length; ) {
      const count = await file.read(bytes, filled, length - filled, base + filled);
      if (count === 0) throw corruption(segment, `the file ends at offset ${base + filled}, inside record ${from}…${to - 1}`);
      filled += count;
    }
  });
  // Verify first (headers record by record, then every checksum in one batch), then decode. The
  // entries before the first bad record are still decoded before its error is thrown, so a codec
  // failure in one of them is reported first, as a record-by-record pass would.
  let sound = to;
  // Records whose checksums are verified: a record whose sound header holds the wrong length still
  // has its checksum checked first (over the length its header states, which lies within `bytes`).
  let checked = to - from;
  let failure: SiltError | null = null;
  for (let index = from; index < to; index++) {
    const start = segment.recordStart(index) - base;
    const end = segment.recordEnd(index) - base;
    const defect = headerDefect(bytes, start, end);
    if (defect !== null) {
      failure = defectError(segment, index, start + base, defect);
      checked = index - from;
    } else if (recordPayloadLength(bytes, start) !== end - start - RECORD_HEADER_BYTES) {
      failure = corruption(segment, `record ${index} at offset ${start + base} does not have the length it was written with`);
      checked = index - from + 1;
    }
    if (failure !== null) {
      sound = index;
      break;
    }
  }
  const bad = firstBadChecksum(bytes, 0, checked);
  if (bad >= 0) {
    sound = from + bad;
    failure = defectError(segment, sound, segment.recordStart(sound), 'bad-checksum');
  }
  for (let index = from; index < sound; index++) {
    const start = segment.recordStart(index) - base + RECORD_HEADER_BYTES;
    out.push(decodeEntry(codec, bytes.subarray(start, segment.recordEnd(index) - base), segment, index));
  }
  if (failure !== null) throw failure;
}

export function decodeEntry<T>(codec: Codec<T>, payload: Uint8Array, segment: Segment, index: number): T {
  try {
    return codec.decode(payload);
  } catch (error) {
    throw siltError(ErrorCodes.CORRUPTION, `entry ${index} in ${segment.path} passed its checksum but the codec cannot decode it`, error);
  }
}

export function defectError(segment: Segment, index: number, offset: number, defect: RecordDefect): SiltError {
  const what: Record<RecordDefect, string> = {
    'short-header': 'is cut off inside its header',
    'bad-header': 'has a damaged header',
    'short-payload': 'is cut off inside its payload',
    'bad-checksum': 'fails its checksum',
  };
  return corruption(segment, `record ${index} at offset ${offset} ${what[defect]}`);
}

function corruption(segment: Segment, why: string): SiltError {
  return siltError(ErrorCodes.CORRUPTION, `${segment.path} is corrupt: ${why}`);
}
