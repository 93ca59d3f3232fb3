import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { FaultVfs } from '../src/vfs/index.js';
import type { ReplayProgress } from '../src/versioned.js';
import { rejectsCode } from './db-helpers.js';
import { Model, openStore } from './versioned-helpers.js';

const HOME = '/store';

async function built(versions: number) {
  const vfs = new FaultVfs();
  const model = new Model();
  const store = await openStore(HOME, { vfs, snapshotInterval: 0 });
  await model.run(store, versions);
  await store.close();
  // Force a re-clone, so the next open replays every version.
  await vfs.unlink(join(HOME, 'working', 'SNAPSHOT_BASE'));
  return { vfs, model };
}

const isAbort = (error: unknown): boolean => (error as Error).name === 'AbortError';

describe('versioned store: progress and abort of long operations', () => {
  test('the catch-up replay reports progress and can be aborted; the next open resumes', async () => {
    const { vfs, model } = await built(200);
    const seen: ReplayProgress[] = [];
    const controller = new AbortController();
    await assert.rejects(
      openStore(HOME, {
        vfs,
        signal: controller.signal,
        onProgress: (progress) => {
          seen.push(progress);
          if (progress.done >= 128) controller.abort(new Error('enough'));
        },
      }),
      (error) => isAbort(error) && (error as { cause?: Error }).cause?.message === 'enough',
    );
    assert.deepEqual(seen.map((p) => p.done), [64, 128]);
    assert.ok(seen.every((p) => p.total === 200 && p.phase === 'replay'));
    const reopened = await openStore(HOME, { vfs, onProgress: (progress) => seen.push(progress) });
    model.check(reopened, 200);
    assert.equal(seen.at(-1)!.done, seen.at(-1)!.total);
    await reopened.close();
  });

  test('an aborted signal refuses rollback and loadVersion before anything changes', async () => {
    const { vfs, model } = await built(20);
    const store = await openStore(HOME, { vfs, snapshotInterval: 0 });
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(store.rollback(3, { signal: controller.signal }), isAbort);
    await assert.rejects(store.loadVersion(3, { signal: controller.signal }), isAbort);
    model.check(store, 20);
    await rejectsCode(() => store.rollback(3, { signal: 'x' } as never), 'INVALID_ARGUMENT');
    await rejectsCode(() => store.loadVersion(3, { onProgress: 5 } as never), 'INVALID_ARGUMENT');
    const controller2 = new AbortController();
    const view = await store.loadVersion(19, { signal: controller2.signal, onProgress: () => {} });
    model.check(view, 19);
    await view.close();
    await store.close();
  });

  test('a rollback aborted mid-replay is finished by the next open', async () => {
    const { vfs, model } = await built(150);
    const store = await openStore(HOME, { vfs, snapshotInterval: 0 });
    const controller = new AbortController();
    await assert.rejects(
      store.rollback(140, { signal: controller.signal, onProgress: (p) => p.done >= 64 && controller.abort() }),
      isAbort,
    );
    await rejectsCode(() => store.commit(), 'POISONED');
    await store.close();
    const reopened = await openStore(HOME, { vfs });
    model.check(reopened, 140);
    await reopened.close();
  });

  test('a view aborted mid-replay leaves nothing behind', async () => {
    const { vfs } = await built(150);
    const store = await openStore(HOME, { vfs, snapshotInterval: 0 });
    const controller = new AbortController();
    await assert.rejects(store.loadVersion(140, { signal: controller.signal, onProgress: () => controller.abort() }), isAbort);
    assert.ok((await vfs.readdir(HOME)).every((name) => !name.startsWith('view-')));
    assert.equal(store.version, 150);
    await store.close();
  });
});
