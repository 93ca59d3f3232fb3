/**
 * Value separation on the write path (DESIGN §3): puts whose value is at least `valueThreshold`
 * bytes have the value appended to the value log and carry a POINTER instead, in the WAL, the
 * memtable and, after the flush, the tables. One write call appends its separated values as one
 * run of frames in one lane, so a batch costs one accelerator call per frame, never one per key.
 */
import { Kind } from '../keys/internal-key.js';
import type { WriteOp } from '../wal/index.js';
import type { ValueLog } from './value-log.js';

/** The default `valueThreshold`: measured in bench/results/vlog.md. */
export const DEFAULT_VALUE_THRESHOLD = 1024;

/**
 * `ops` with every put of a large value turned into a pointer op (their values appended to
 * `log`), or null when no value is large enough (the ops then go on unchanged).
 */
export function separateValues(
  log: ValueLog,
  ops: readonly WriteOp[],
  threshold: number,
): { readonly ops: WriteOp[]; readonly pointers: readonly Uint8Array[] } | null {
  let first = -1;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.kind === Kind.Put && op.value.length >= threshold) {
      first = i;
      break;
    }
  }
  if (first < 0) return null;
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  const at: number[] = [];
  for (let i = first; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.kind === Kind.Put && op.value.length >= threshold) {
      keys.push(op.key);
      values.push(op.value);
      at.push(i);
    }
  }
  const pointers = log.append(log.laneFor(keys[0]!), keys, values);
  const out = ops.slice();
  for (let j = 0; j < at.length; j++) {
    const op = ops[at[j]!]!;
    out[at[j]!] = { kind: Kind.Pointer, key: op.key, value: pointers[j]! };
  }
  // The caller settles `pointers` (ValueLog.settle) once the write applied or failed.
  return { ops: out, pointers };
}
