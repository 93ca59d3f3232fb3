/**
 * The worker of db-worker.test.ts, run in a `worker_threads` Worker with tsx as its loader
 * (`execArgv: ['--import', 'tsx']`). `workerData` is `{ dir, seed, count }`: it opens a database
 * there, writes `count` keys in batches, flushes (through the accelerator's sort and block
 * encoding), reads everything back, reopens, reads again, and posts
 * `{ kind, mode, written, readBack, reopened, tables }` — or `{ error, code }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { accel, acceleratorSelection, open } from '../../src/index.js';
import { workerKey, workerValue, writeOrder } from './db-worker-data.js';

const { dir, seed, count } = workerData as { dir: string; seed: number; count: number };

async function run(): Promise<Record<string, unknown>> {
  const options = { memtableBytes: 4096, blockSize: 256, accelerator: accel } as const;
  let db = await open(dir, options);
  for (let i = 0; i < count; i += 50) {
    const ops = [];
    for (let j = i; j < Math.min(count, i + 50); j++) {
      const n = writeOrder(j, count);
      ops.push({ type: 'put' as const, key: workerKey(seed, n), value: workerValue(seed, n) });
    }
    await db.batch(ops);
  }
  await db.flush();
  const text = new TextDecoder();
  let readBack = 0;
  for (let i = 0; i < count; i++) if (text.decode(db.getSync(workerKey(seed, i))) === workerValue(seed, i)) readBack++;
  const tables = db.stats().tableFiles;
  await db.close();
  db = await open(dir, options);
  let reopened = 0;
  let previous = '';
  for (const [k, v] of db.iterator()) {
    const key = text.decode(k);
    if (key > previous && text.decode(v) === workerValue(seed, Number(key.split('-')[1]))) reopened++;
    previous = key;
  }
  await db.close();
  return { kind: accel.kind, mode: acceleratorSelection().mode, written: count, readBack, reopened, tables };
}

run().then(
  (result) => parentPort!.postMessage(result),
  (error: unknown) => parentPort!.postMessage({ error: String((error as Error)?.stack ?? error), code: (error as { code?: unknown })?.code }),
);
