/**
 * A whole-segment scan of value-log frames (FORMAT.md §2, §8), the twin of the native
 * `segment_scan.rs`: the frames lying back to back in a run of segment bytes, each checked
 * (header, CRC32C, LZ4, record offsets), their records listed in one packed result.
 */
import type { SegmentScan } from '../accelerator.js';
import { readU32 } from './bytes.js';
import { crc32cRange } from './crc32c.js';
import { corruption } from './fail.js';
import { decompressRawBlock } from './lz4.js';
import { VarintReader } from './varint.js';

const FRAME_HEADER = 20;
const FLAG_LZ4 = 1;
const MAX_U32 = 0xffffffff;
export const SCAN_RECORD_FIELDS = 5;
export const SCAN_FRAME_FIELDS = 2;

/** A Uint32Array that grows as values are pushed. */
class U32List {
  values = new Uint32Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = new Uint32Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  done(): Uint32Array {
    return this.values.slice(0, this.length);
  }
}

/**
 * Whether `data` starts with at least one whole frame and every whole frame from its start is
 * stored uncompressed, by their headers alone. Headers that do not parse end the walk: the scan
 * reports them, or stops before them, at the same frame.
 */
function allWholeFramesRaw(data: Uint8Array): boolean {
  let at = 0;
  let whole = 0;
  while (data.length - at >= FRAME_HEADER) {
    const count = data[at + 6]! | (data[at + 7]! << 8);
    const total = FRAME_HEADER + 4 * count + readU32(data, at + 12);
    if (count === 0 || total > data.length - at) break;
    if ((data[at + 5]! & FLAG_LZ4) !== 0) return false;
    at += total;
    whole++;
  }
  return whole > 0;
}

/**
 * `data` is validated bytes; `baseOffset` a validated integer in [0, 2^32 − 1]. When every whole
 * frame is stored uncompressed nothing is copied: the result's `data` is the input itself.
 */
export function scanSegment(data: Uint8Array, baseOffset: number): SegmentScan {
  const inPlace = allWholeFramesRaw(data);
  // Bodies are mostly stored raw: the input's length is the likely output size.
  let out = inPlace ? Buffer.alloc(0) : Buffer.allocUnsafe(Math.max(64, data.length));
  let used = 0;
  const records = new U32List();
  const frames = new U32List();
  let at = 0;
  let end = baseOffset;
  while (data.length - at >= FRAME_HEADER) {
    const o = at;
    const frameOffset = baseOffset + at;
    const corrupt = (why: string) => corruption(`frame at ${frameOffset}: ${why}`);
    if (data[o] !== 0x53 || data[o + 1] !== 0x4c || data[o + 2] !== 0x56 || data[o + 3] !== 0x46) throw corrupt('bad frame magic');
    if (data[o + 4] !== 1) throw corrupt(`unknown frame version ${data[o + 4]!}`);
    const flags = data[o + 5]!;
    if ((flags & ~FLAG_LZ4) !== 0) throw corrupt(`unknown frame flags 0x${flags.toString(16)}`);
    const compressed = flags === FLAG_LZ4;
    const count = data[o + 6]! | (data[o + 7]! << 8);
    if (count === 0) throw corrupt('frame with no records');
    const rawLength = readU32(data, o + 8);
    const storedLength = readU32(data, o + 12);
    if (!compressed && storedLength !== rawLength) throw corrupt(`uncompressed frame stores ${storedLength} bytes for a ${rawLength}-byte body`);
    const bodyAt = FRAME_HEADER + 4 * count;
    const total = bodyAt + storedLength;
    if (frameOffset + total > MAX_U32) throw corrupt(`a frame of ${total} bytes ends past the 4 GiB a pointer can name`);
    if (total > data.length - at) break;
    if (!inPlace && used > 0 && used + rawLength > MAX_U32) break;
    const crc = crc32cRange(data, o + FRAME_HEADER, o + total, crc32cRange(data, o, o + 16));
    if (crc !== readU32(data, o + 16)) throw corrupt('checksum mismatch');

    let bodyStart: number;
    let reader: VarintReader;
    if (inPlace) {
      // The body is the stored bytes: offsets count from the input (a frame ends below 2^32).
      bodyStart = o + bodyAt;
      reader = new VarintReader(data, 0, o + total);
    } else {
      if (used + rawLength > out.length) {
        const grown = Buffer.allocUnsafe(Math.max(used + rawLength, 2 * out.length));
        grown.set(out.subarray(0, used));
        out = grown;
      }
      bodyStart = used;
      if (compressed) out.set(decompressRawBlock(data, o + bodyAt, o + total, rawLength), bodyStart);
      else out.set(data.subarray(o + bodyAt, o + total), bodyStart);
      used += rawLength;
      reader = new VarintReader(out, 0, used);
    }

    const frameIndex = frames.length / SCAN_FRAME_FIELDS;
    for (let i = 0; i < count; i++) {
      const start = readU32(data, o + FRAME_HEADER + 4 * i);
      const recordEnd = i + 1 < count ? readU32(data, o + FRAME_HEADER + 4 * (i + 1)) : rawLength;
      if (i === 0 && start !== 0) throw corrupt('the first record does not start at 0');
      if (start >= recordEnd || recordEnd > rawLength) throw corrupt(`record offsets are not strictly increasing within the body at record ${i}`);
      reader.pos = bodyStart + start;
      const keyLength = reader.read('frame key length');
      const keyStart = reader.pos;
      if (keyStart > bodyStart + recordEnd || keyLength > bodyStart + recordEnd - keyStart) {
        throw corrupt(`record ${i} has a ${keyLength}-byte key in ${Math.max(0, bodyStart + recordEnd - keyStart)} bytes`);
      }
      records.push(frameIndex);
      records.push(i);
      records.push(keyStart);
      records.push(keyStart + keyLength);
      records.push(bodyStart + recordEnd);
    }
    frames.push(frameOffset);
    frames.push(total);
    at += total;
    end = baseOffset + at;
  }
  return { data: inPlace ? data : out.subarray(0, used), records: records.done(), frames: frames.done(), end };
}
