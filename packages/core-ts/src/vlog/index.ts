/** The value log: segments in lanes, frames of records, pointers (DESIGN §4, docs/FORMAT.md §8). */
export { decodePointer, encodePointer, isPointerAt, POINTER_BYTES, type ValuePointer } from './pointer.js';
export { COLD_LANE, parseSegmentFileName, segmentFileName, segmentPath, SEGMENT_HEADER_BYTES, VLOG_DIR } from './segment-file.js';
export {
  DEFAULT_FRAME_BYTES,
  DEFAULT_FRAME_RECORDS,
  DEFAULT_SEGMENT_BYTES,
  recordBytesOf,
  scanValidEnd,
  ValueLog,
  type RecordedSegment,
  type SegmentInfo,
  type ValueLogOptions,
  type ValueLogStats,
} from './value-log.js';
export { separateValues, DEFAULT_VALUE_THRESHOLD } from './separation.js';
export { chargePointer, chargePointerAt, chargesOf, compactionLedgerChanges, flushLedgerChanges } from './ledger-glue.js';
export { linkValueLogSegments } from './checkpoint.js';
export { verifyLedger, type LedgerReport, type LedgerSegmentCheck, type VerifyLedgerOptions } from './verify.js';
