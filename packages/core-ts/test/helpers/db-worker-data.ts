/** The keys and values the worker tests write (db-worker.test.ts, helpers/db-worker.ts). */

/** The `j`-th key written: a permutation of `[0, count)` (count coprime with 7919), so flushes sort. */
export function writeOrder(j: number, count: number): number {
  return (j * 7919) % count;
}

export function workerKey(seed: number, i: number): string {
  return `s${seed}-${String(i).padStart(5, '0')}`;
}

export function workerValue(seed: number, i: number): string {
  return `value ${seed}/${i} ${'·'.repeat((i * 31 + seed) % 40)}`;
}
