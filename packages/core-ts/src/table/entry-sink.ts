/**
 * Where compaction's reads of data blocks land: packed arrays filled run after run of decoded
 * blocks. A whole-table read sizes them exactly from the table's properties (entry count, raw key
 * and value bytes), so running out of room means the properties disagree with the blocks:
 * corruption. A read of some blocks only has an estimate, and grows them instead.
 */
import type { BlockEntries } from '@siltdb/bindings';
import { corruption } from './format.js';

export interface EntrySink {
  keyData: Uint8Array;
  keyOffsets: Uint32Array;
  valueData: Uint8Array;
  valueOffsets: Uint32Array;
  tags: Uint8Array;
  /** Entries written so far. */
  count: number;
  /** Whether running out of room grows the arrays instead of failing. */
  readonly growable?: boolean;
}

/** `bytes` with room for `need` bytes, its first `used` kept. */
function grownBytes(bytes: Uint8Array, used: number, need: number): Uint8Array {
  const grown = new Uint8Array(Math.max(need, 2 * bytes.length));
  grown.set(bytes.subarray(0, used));
  return grown;
}

function grownOffsets(offsets: Uint32Array, used: number, need: number): Uint32Array {
  const grown = new Uint32Array(Math.max(need, 2 * offsets.length));
  grown.set(offsets.subarray(0, used));
  return grown;
}

/** Append the decoded entries of a run of blocks (`where` names the run in errors). */
export function appendDecoded(sink: EntrySink, run: BlockEntries, where: string): void {
  const n = run.tags.length;
  if (n === 0) return;
  const at = sink.count;
  const keyBase = sink.keyOffsets[at]!;
  const valueBase = sink.valueOffsets[at]!;
  const keyBytes = run.keys.offsets[n]! - run.keys.offsets[0]!;
  const valueBytes = run.values.offsets[n]! - run.values.offsets[0]!;
  const fits = (): boolean =>
    at + n <= sink.tags.length && keyBase + keyBytes <= sink.keyData.length && valueBase + valueBytes <= sink.valueData.length;
  if (!fits() && sink.growable === true) {
    if (at + n > sink.tags.length) {
      sink.tags = grownBytes(sink.tags, at, at + n);
      sink.keyOffsets = grownOffsets(sink.keyOffsets, at + 1, at + n + 1);
      sink.valueOffsets = grownOffsets(sink.valueOffsets, at + 1, at + n + 1);
    }
    if (keyBase + keyBytes > sink.keyData.length) sink.keyData = grownBytes(sink.keyData, keyBase, keyBase + keyBytes);
    if (valueBase + valueBytes > sink.valueData.length) sink.valueData = grownBytes(sink.valueData, valueBase, valueBase + valueBytes);
  }
  if (!fits()) throw corruption(`${where} holds more entries or bytes than the table's properties record`);
  sink.keyData.set(run.keys.data.subarray(run.keys.offsets[0]!, run.keys.offsets[n]!), keyBase);
  sink.valueData.set(run.values.data.subarray(run.values.offsets[0]!, run.values.offsets[n]!), valueBase);
  sink.tags.set(run.tags, at);
  const keyShift = keyBase - run.keys.offsets[0]!;
  const valueShift = valueBase - run.values.offsets[0]!;
  const keyOffsets = sink.keyOffsets;
  const valueOffsets = sink.valueOffsets;
  const runKeyOffsets = run.keys.offsets;
  const runValueOffsets = run.values.offsets;
  for (let i = 1; i <= n; i++) {
    keyOffsets[at + i] = runKeyOffsets[i]! + keyShift;
    valueOffsets[at + i] = runValueOffsets[i]! + valueShift;
  }
  sink.count = at + n;
}
