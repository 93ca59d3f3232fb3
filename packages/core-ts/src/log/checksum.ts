/**
 * The CRC32C of record payloads, many records per accelerator call. Both implementations come from
 * `@siltdb/bindings` and give the same result for every input; which one runs is a matter of
 * speed. A call into the native module has a fixed cost (about 0.4–0.6 µs), so calling it once per
 * record of a few hundred bytes would cost more than the checksum; `crc32cMany` pays that cost once
 * for a whole batch of records, checksumming them in place in the buffer that holds them.
 */
import { accel } from '@siltdb/bindings';
import { readU32 } from './bytes-le.js';
import { RECORD_HEADER_BYTES } from './record-layout.js';

/**
 * Scratch offsets for `crc32cMany`, reused by every call (the call is synchronous, and the native
 * module only borrows the array for its duration). Grown on demand; past `KEPT_SPANS` entries a
 * one-off array is used instead, so a huge scan does not pin its array for the life of the process.
 */
let scratch = new Uint32Array(2048);
const KEPT_SPANS = 1 << 18;

/**
 * The payload checksums of `count` consecutive records whose headers are sound and that lie within
 * `bytes`, the first at `from`. One accelerator call for all of them: the records are passed as one
 * packed batch whose items alternate payload, next header, payload, …, so nothing is copied (the
 * header items' checksums are computed and ignored). The checksum of record `i` is `result[2 * i]`.
 */
export function payloadChecksums(bytes: Uint8Array, from: number, count: number): Uint32Array {
  if (count === 0) return new Uint32Array(0);
  const needed = 2 * count;
  let spans = scratch;
  if (spans.length < needed) {
    spans = new Uint32Array(Math.max(needed, 2 * spans.length));
    if (spans.length <= KEPT_SPANS) scratch = spans;
  }
  let at = from;
  for (let i = 0; i < needed; i += 2) {
    const payload = at + RECORD_HEADER_BYTES;
    at = payload + readU32(bytes, at);
    spans[i] = payload;
    spans[i + 1] = at;
  }
  return accel.crc32cMany({ data: bytes, offsets: spans.length === needed ? spans : spans.subarray(0, needed) });
}
