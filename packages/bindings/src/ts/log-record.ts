/**
 * Indexed-log records (docs/FORMAT.md §4): `u32 N ‖ u32 ~N ‖ u32 CRC32C(payload) ‖ payload`, all
 * little-endian. The log copies each payload into its write buffer behind 12 bytes of room; one
 * call fills in the headers of a whole batch, checksums included. Twin of the native
 * `log_record.rs`: same checks, same bytes.
 */
import { types } from 'node:util';
import { crc32cRange } from './crc32c.js';
import { invalidArgument } from './fail.js';

export const RECORD_HEADER_BYTES = 12;

/**
 * Write the header of each record in front of its payload: `spans[2k]` and `spans[2k + 1]` are
 * where payload `k` starts and ends in `buffer`. The payloads must come in order, each with a
 * header's room before it that no other record uses, and end within `buffer`; otherwise
 * `INVALID_ARGUMENT`, with `buffer` untouched.
 */
export function sealLogRecords(buffer: Uint8Array, spans: Uint32Array): void {
  if (!types.isUint8Array(buffer)) throw invalidArgument('buffer must be a Uint8Array or Buffer');
  if (!types.isUint32Array(spans)) throw invalidArgument('spans must be a Uint32Array');
  checkSpans(buffer.length, spans);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  for (let i = 0; i < spans.length; i += 2) {
    const start = spans[i]!;
    const end = spans[i + 1]!;
    const length = end - start;
    const at = start - RECORD_HEADER_BYTES;
    view.setUint32(at, length, true);
    view.setUint32(at + 4, ~length >>> 0, true);
    view.setUint32(at + 8, crc32cRange(buffer, start, end), true);
  }
}

/**
 * `sealLogRecords` for records given by where each starts: record `k`'s header is at
 * `starts[k] - shift` in `buffer` and its payload runs to the next record's start, the last one's
 * to `end`. `INVALID_ARGUMENT`, with `buffer` untouched, unless the records come in order, each at
 * least a header long, and end within `buffer`.
 */
export function sealLogRecordsAt(buffer: Uint8Array, starts: Uint32Array, shift: number, end: number): void {
  if (!types.isUint32Array(starts)) throw invalidArgument('starts must be a Uint32Array');
  for (const [name, value] of [['shift', shift], ['end', end]] as const) {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw invalidArgument(`${name} must be an integer from 0 to ${0xffffffff}, got ${value}`);
  }
  const spans = new Uint32Array(2 * starts.length);
  for (let k = 0; k < starts.length; k++) {
    const at = starts[k]! - shift;
    const next = k + 1 < starts.length ? starts[k + 1]! - shift : end;
    if (at < 0 || next < at + RECORD_HEADER_BYTES) {
      throw invalidArgument(
        `record ${k} starts at ${starts[k]} (buffer offset ${shift}) and must be followed, at least ${RECORD_HEADER_BYTES} bytes later, by the next record or the end (${end})`,
      );
    }
    spans[2 * k] = at + RECORD_HEADER_BYTES;
    spans[2 * k + 1] = next;
  }
  sealLogRecords(buffer, spans);
}

function checkSpans(bufferLength: number, spans: Uint32Array): void {
  if (spans.length % 2 !== 0) throw invalidArgument(`spans must hold (start, end) pairs, got ${spans.length} numbers`);
  // The first header may start at 0; each later one at the end of the payload before it.
  let freeFrom = 0;
  for (let i = 0; i < spans.length; i += 2) {
    const start = spans[i]!;
    const end = spans[i + 1]!;
    if (start < freeFrom + RECORD_HEADER_BYTES || end < start || end > bufferLength) {
      throw invalidArgument(
        `record ${i / 2}: payload [${start}, ${end}) needs ${RECORD_HEADER_BYTES} free bytes before it (from ${freeFrom}) and must end within the buffer (${bufferLength} bytes)`,
      );
    }
    freeFrom = end;
  }
}
