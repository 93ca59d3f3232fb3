/**
 * The pure-TypeScript accelerator: the same interface and the same bytes as `@siltdb/native`.
 * This module validates arguments and delegates; the formats live in the modules it imports.
 */
import type { Accelerator, BlockEntries, FileView, MergeResult, PackedBytes, PointerReads } from '../accelerator.js';
import { blake3 } from './blake3.js';
import { DEFAULT_RESTART_INTERVAL, MAX_RESTART_INTERVAL, decodeBlock, encodeBlock } from './block.js';
import { blockPointGet } from './block-seek.js';
import { types } from 'node:util';
import { crc32c, crc32cMany } from './crc32c.js';
import { checkDataBlocks, decodeDataBlocks } from './data-blocks.js';
import { invalidArgument } from './fail.js';
import { openFileView } from './file-view.js';
import { PositionalPointerReads } from './pointer-reads.js';
import { FRAME_MAX_RECORDS, decodeFrame, encodeFrame } from './frame.js';
import { sealLogRecords, sealLogRecordsAt } from './log-record.js';
import { scanSegment } from './segment-scan.js';
import { LT_HASH_BYTES, ltHashMix } from './lthash.js';
import { lz4Compress, lz4Decompress } from './lz4.js';
import { mergeRuns } from './merge.js';
import { sortKeysWithTrailer } from './sort.js';
import {
  optionalBoolean,
  optionalInteger,
  optionsObject,
  requireBytes,
  requireInteger,
  requirePacked,
  requireTrailers,
  trailerBytesOption,
} from './validate.js';

/** The longest BLAKE3 output one call returns (16 MiB). */
const MAX_BLAKE3_OUTPUT = 1 << 24;

export const tsAccelerator: Accelerator = {
  kind: 'ts',

  crc32c(data: Uint8Array, seed?: number): number {
    requireBytes(data, 'data');
    const start = seed === undefined ? 0 : requireInteger(seed, 'seed', 0, 0xffffffff);
    return crc32c(data, start);
  },

  crc32cMany(items: PackedBytes): Uint32Array {
    requirePacked(items, 'items');
    return crc32cMany(items);
  },

  sealLogRecords(buffer: Uint8Array, spans: Uint32Array): void {
    sealLogRecords(buffer, spans);
  },

  sealLogBatch(buffer: Uint8Array, starts: Uint32Array, shift: number, end: number): Promise<void> {
    try {
      sealLogRecordsAt(buffer, starts, shift, end);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  },

  lz4Compress(data: Uint8Array): Buffer {
    return lz4Compress(requireBytes(data, 'data'));
  },

  lz4Decompress(data: Uint8Array): Buffer {
    return lz4Decompress(requireBytes(data, 'data'));
  },

  encodeFrame(keys: PackedBytes, values: PackedBytes, options?): Buffer {
    const count = requirePacked(keys, 'keys');
    const valueCount = requirePacked(values, 'values');
    if (count !== valueCount) throw invalidArgument(`frame has ${count} keys but ${valueCount} values`);
    if (count < 1 || count > FRAME_MAX_RECORDS) {
      throw invalidArgument(`a frame holds 1 to ${FRAME_MAX_RECORDS} records, got ${count}`);
    }
    const compress = optionalBoolean(optionsObject(options, 'options').compress, 'options.compress', true);
    return encodeFrame(keys, values, compress);
  },

  decodeFrame(data: Uint8Array, offset?: number) {
    requireBytes(data, 'data');
    const start = offset === undefined ? 0 : requireInteger(offset, 'offset', 0, data.length);
    return decodeFrame(data, start);
  },

  scanSegment(data: Uint8Array, baseOffset?: number) {
    requireBytes(data, 'data');
    return scanSegment(data, baseOffset === undefined ? 0 : requireInteger(baseOffset, 'baseOffset', 0, 0xffffffff));
  },

  sortKeys(keys: PackedBytes, options?): Uint32Array {
    requirePacked(keys, 'keys');
    const trailerBytes = trailerBytesOption(options);
    requireTrailers(keys, trailerBytes, 'keys');
    return sortKeysWithTrailer(keys, trailerBytes);
  },

  mergeRuns(runs: readonly PackedBytes[], options?): MergeResult {
    if (!Array.isArray(runs)) throw invalidArgument('runs must be an array of packed batches');
    runs.forEach((run, r) => requirePacked(run, `runs[${r}]`));
    const trailerBytes = trailerBytesOption(options);
    runs.forEach((run, r) => requireTrailers(run, trailerBytes, `runs[${r}]`));
    return mergeRuns(runs, trailerBytes);
  },

  encodeBlock(entries: BlockEntries, options?): Buffer {
    if (typeof entries !== 'object' || entries === null) {
      throw invalidArgument('entries must be { keys, values, tags }');
    }
    const count = requirePacked(entries.keys, 'entries.keys');
    const valueCount = requirePacked(entries.values, 'entries.values');
    const tags = requireBytes(entries.tags, 'entries.tags');
    if (valueCount !== count || tags.length !== count) {
      throw invalidArgument(`block has ${count} keys, ${valueCount} values and ${tags.length} tags`);
    }
    const opts = optionsObject(options, 'options');
    const restartInterval = optionalInteger(
      opts.restartInterval,
      'options.restartInterval',
      1,
      MAX_RESTART_INTERVAL,
      DEFAULT_RESTART_INTERVAL,
    );
    const compress = optionalBoolean(opts.compress, 'options.compress', false);
    return encodeBlock(entries, restartInterval, compress);
  },

  decodeBlock(data: Uint8Array): BlockEntries {
    return decodeBlock(requireBytes(data, 'data'));
  },

  decodeDataBlocks(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes, hasPrevious: boolean): BlockEntries {
    requireBytes(run, 'run');
    if (!types.isUint32Array(spans)) throw invalidArgument('spans must be a Uint32Array');
    requirePacked(indexKeys, 'indexKeys');
    if (typeof hasPrevious !== 'boolean') throw invalidArgument('hasPrevious must be a boolean');
    return decodeDataBlocks(run, spans, indexKeys, hasPrevious);
  },

  checkDataBlocks(run: Uint8Array, spans: Uint32Array, indexKeys: PackedBytes, hasPrevious: boolean, counts: Uint32Array): void {
    requireBytes(run, 'run');
    if (!types.isUint32Array(spans)) throw invalidArgument('spans must be a Uint32Array');
    requirePacked(indexKeys, 'indexKeys');
    if (typeof hasPrevious !== 'boolean') throw invalidArgument('hasPrevious must be a boolean');
    if (!types.isUint32Array(counts)) throw invalidArgument('counts must be a Uint32Array');
    checkDataBlocks(run, spans, indexKeys, hasPrevious, counts);
  },

  blockPointGet(payload: Uint8Array, target: Uint8Array, result: Uint8Array): boolean {
    return blockPointGet(requireBytes(payload, 'payload'), requireBytes(target, 'target'), requireBytes(result, 'result'));
  },

  openFileView(path: string, options?): FileView {
    return openFileView(path, options);
  },

  openPointerReads(): PointerReads {
    return new PositionalPointerReads();
  },

  blake3(data: Uint8Array, outLength?: number): Buffer {
    requireBytes(data, 'data');
    const length = outLength === undefined ? 32 : requireInteger(outLength, 'outLength', 0, MAX_BLAKE3_OUTPUT);
    const digest = blake3(data, length);
    return Buffer.from(digest.buffer, digest.byteOffset, digest.length);
  },

  ltHashMix(lanes: Uint8Array, keys: PackedBytes, values: PackedBytes, subtract?: boolean): Buffer {
    requireBytes(lanes, 'lanes');
    if (lanes.length !== LT_HASH_BYTES) throw invalidArgument(`an LtHash state is ${LT_HASH_BYTES} bytes, got ${lanes.length}`);
    const count = requirePacked(keys, 'keys');
    const valueCount = requirePacked(values, 'values');
    if (count !== valueCount) throw invalidArgument(`${count} keys but ${valueCount} values`);
    const mixed = ltHashMix(lanes, keys, values, optionalBoolean(subtract, 'subtract', false));
    return Buffer.from(mixed.buffer, mixed.byteOffset, mixed.length);
  },
};
