/**
 * The batches of the SIGKILL tests, shared by the child that writes them (crash-child.ts) and the
 * test that checks what survived (db-crash.test.ts). Batch `i` puts `b<i>-<j>` for `j` below its
 * size (1 to 8, a function of `i`), sets `last` to `i`, and deletes `b<i−3>-0` when `i ≥ 3`, so a
 * recovered state has exactly one shape for each prefix length.
 */
import type { BatchOp } from '../../src/index.js';

export const CRASH_OPTIONS = { memtableBytes: 8 * 1024, blockSize: 256 } as const;

export function batchSize(id: number): number {
  return 1 + ((id * 2654435761) >>> 0) % 8;
}

export function batchKey(id: number, j: number): string {
  return `b${String(id).padStart(6, '0')}-${j}`;
}

export function batchValue(id: number, j: number): string {
  return `v${id}.${j}:${'x'.repeat((id * 7 + j * 13) % 90)}`;
}

export function crashBatch(id: number): BatchOp[] {
  const ops: BatchOp[] = [];
  for (let j = 0; j < batchSize(id); j++) ops.push({ type: 'put', key: batchKey(id, j), value: batchValue(id, j) });
  ops.push({ type: 'put', key: 'last', value: String(id) });
  if (id >= 3) ops.push({ type: 'del', key: batchKey(id - 3, 0) });
  return ops;
}

/** The whole state after batches `[0, n)`: key → value. */
export function stateAfter(n: number): Map<string, string> {
  const state = new Map<string, string>();
  for (let id = 0; id < n; id++) {
    for (const op of crashBatch(id)) {
      if (op.type === 'put') state.set(op.key as string, op.value as string);
      else state.delete(op.key as string);
    }
  }
  return state;
}
