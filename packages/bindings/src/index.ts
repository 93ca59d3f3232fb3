export type {
  Accelerator,
  AcceleratorKind,
  BlockEncodeOptions,
  BlockEntries,
  DecodedFrame,
  FileView,
  FileViewOptions,
  FrameEncodeOptions,
  KeyOrderOptions,
  MergeResult,
  PackedBytes,
  PointerReads,
  SegmentScan,
} from './accelerator.js';
export { ErrorCodes, SiltError, isSiltError, type ErrorCode } from './errors.js';
export {
  acceleratorSelection,
  loadNativeAccelerator,
  nativeModeFromEnv,
  selectAccelerator,
  type AcceleratorSelection,
  type NativeMode,
} from './select.js';
export { runSelfTest, type SelfTestReport } from './self-test.js';
export { tsAccelerator } from './ts/index.js';
export { packBytes, unpackBytes } from './packed.js';
/** FORMAT.md's 32-bit varints, shared by every format built on the accelerator's blocks. */
export { varintLength, writeVarint, VarintReader } from './ts/varint.js';

import { acceleratorSelection } from './select.js';
import type { Accelerator } from './accelerator.js';

const chosen = (): Accelerator => acceleratorSelection().accelerator;

/**
 * The accelerator this process uses, chosen from `SILTDB_NATIVE` on first use (a property read or a
 * call); `accel.kind` says which implementation runs. With `SILTDB_NATIVE=require` and no working
 * native module, that first use throws `NATIVE_UNAVAILABLE`. Each method forwards to the chosen
 * implementation; the calls are coarse, so the extra hop costs nothing measurable.
 */
export const accel: Accelerator = {
  get kind() {
    return chosen().kind;
  },
  crc32c: (data, seed) => chosen().crc32c(data, seed),
  crc32cMany: (items) => chosen().crc32cMany(items),
  sealLogRecords: (buffer, spans) => chosen().sealLogRecords(buffer, spans),
  sealLogBatch: (buffer, starts, shift, end) => chosen().sealLogBatch(buffer, starts, shift, end),
  lz4Compress: (data) => chosen().lz4Compress(data),
  lz4Decompress: (data) => chosen().lz4Decompress(data),
  encodeFrame: (keys, values, options) => chosen().encodeFrame(keys, values, options),
  decodeFrame: (data, offset) => chosen().decodeFrame(data, offset),
  scanSegment: (data, baseOffset) => chosen().scanSegment(data, baseOffset),
  sortKeys: (keys, options) => chosen().sortKeys(keys, options),
  mergeRuns: (runs, options) => chosen().mergeRuns(runs, options),
  encodeBlock: (entries, options) => chosen().encodeBlock(entries, options),
  decodeBlock: (data) => chosen().decodeBlock(data),
  decodeDataBlocks: (run, spans, indexKeys, hasPrevious) => chosen().decodeDataBlocks(run, spans, indexKeys, hasPrevious),
  checkDataBlocks: (run, spans, indexKeys, hasPrevious, counts) => chosen().checkDataBlocks(run, spans, indexKeys, hasPrevious, counts),
  blockPointGet: (payload, target, result) => chosen().blockPointGet(payload, target, result),
  openFileView: (path, options) => chosen().openFileView(path, options),
  openPointerReads: () => chosen().openPointerReads(),
  blake3: (data, outLength) => chosen().blake3(data, outLength),
  ltHashMix: (lanes, keys, values, subtract) => chosen().ltHashMix(lanes, keys, values, subtract),
};
