/**
 * The engine and its accelerator in `worker_threads` (issue 4: "the native module works in
 * worker_threads"): two workers each open a database in their own directory, write, flush, read
 * back and reopen, while the main thread does the same on a third; every worker runs the same
 * accelerator kind as the main thread for the `SILTDB_NATIVE` mode (with `require`, native loads
 * in the workers too).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { accel, acceleratorSelection, open } from '../src/index.js';
import { workerKey, workerValue, writeOrder } from './helpers/db-worker-data.js';
import { tempDir } from './db-helpers.js';

const workerUrl = new URL('./helpers/db-worker.ts', import.meta.url);
const tsxApi = import.meta.resolve('tsx/esm/api');
const COUNT = 1000;

interface WorkerResult {
  readonly kind?: string;
  readonly mode?: string;
  readonly written?: number;
  readonly readBack?: number;
  readonly reopened?: number;
  readonly tables?: number;
  readonly error?: string;
  readonly code?: string;
}

function runWorker(dir: string, seed: number): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    // `execArgv: ['--import', 'tsx']` does not help here: tsx's `--import` entry registers its
    // loader only on the main thread (on Node 20 worker threads do not inherit it), so the worker
    // registers tsx itself, then imports the TypeScript worker file.
    const worker = new Worker(
      `import(${JSON.stringify(tsxApi)}).then(({ register }) => { register(); return import(${JSON.stringify(workerUrl.href)}); });`,
      {
        eval: true,
        workerData: { dir, seed, count: COUNT },
        env: process.env,
      },
    );
    let result: WorkerResult | undefined;
    worker.on('message', (message: WorkerResult) => (result = message));
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (result === undefined) reject(new Error(`worker ${seed} exited with code ${code} and no result`));
      else resolve(result);
    });
  });
}

/** What each worker does, on the main thread. */
async function runMain(dir: string, seed: number): Promise<WorkerResult> {
  const options = { memtableBytes: 4096, blockSize: 256 } as const;
  const db = await open(dir, options);
  for (let i = 0; i < COUNT; i += 50) {
    const ops = [];
    for (let j = i; j < Math.min(COUNT, i + 50); j++) {
      const n = writeOrder(j, COUNT);
      ops.push({ type: 'put' as const, key: workerKey(seed, n), value: workerValue(seed, n) });
    }
    await db.batch(ops);
  }
  await db.flush();
  const text = new TextDecoder();
  let readBack = 0;
  for (let i = 0; i < COUNT; i++) if (text.decode(db.getSync(workerKey(seed, i))) === workerValue(seed, i)) readBack++;
  const tables = db.stats().tableFiles;
  await db.close();
  const again = await open(dir, options);
  const keys = [...again.keys()].map((k) => text.decode(k));
  await again.close();
  assert.deepEqual(keys, Array.from({ length: COUNT }, (_, i) => workerKey(seed, i)));
  return { kind: accel.kind, mode: acceleratorSelection().mode, written: COUNT, readBack, reopened: keys.length, tables };
}

describe('worker_threads', { timeout: 300_000 }, () => {
  test('two workers and the main thread, each on its own database, with the same accelerator', async (t) => {
    const root = tempDir(t, 'silt-worker-');
    const mainKind = accel.kind;
    const mode = acceleratorSelection().mode;
    if (mode === 'require') assert.equal(mainKind, 'native');
    if (mode === 'off') assert.equal(mainKind, 'ts');
    const [first, second, main] = await Promise.all([
      runWorker(join(root, 'w1'), 1),
      runWorker(join(root, 'w2'), 2),
      runMain(join(root, 'main'), 3),
    ]);
    for (const [name, result] of [['worker 1', first], ['worker 2', second], ['main', main]] as const) {
      assert.equal(result.error, undefined, `${name}: ${result.error} (${result.code})`);
      assert.equal(result.kind, mainKind, `${name} runs ${result.kind}, the main thread ${mainKind}`);
      assert.equal(result.mode, mode, name);
      assert.equal(result.readBack, COUNT, `${name}: getSync after flush`);
      assert.equal(result.reopened, COUNT, `${name}: ordered scan after reopen`);
      assert.ok(result.tables! > 1, `${name}: only ${result.tables} tables`);
    }
    // What a worker wrote opens and reads on the main thread (and the directories are separate).
    const db = await open(join(root, 'w2'), { readOnly: true });
    assert.equal(new TextDecoder().decode(db.getSync(workerKey(2, 123))), workerValue(2, 123));
    assert.equal(db.getSync(workerKey(1, 123)), undefined);
    await db.close();
  });
});
