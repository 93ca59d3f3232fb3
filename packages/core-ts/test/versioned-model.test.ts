import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FaultVfs } from '../src/vfs/index.js';
import type { CommitStore } from '../src/versioned.js';
import { rng } from './db-helpers.js';
import { contents, hex, openStore, scannedRoot } from './versioned-helpers.js';

const HOME = '/store';

/**
 * Random histories against a model: change sets (puts, overwrites, deletes, several per version),
 * commits, rollbacks, views of old versions, clean reopens and power cuts. After every step the
 * store must hold the model's version and content, and its root hash must equal a full scan's.
 */
describe('versioned store: random histories against a model', () => {
  for (const seed of [1, 2, 3, 4]) {
    test(`seed ${seed}`, async () => {
      const random = rng(seed);
      const next = (): number => Math.floor(random() * 2 ** 32);
      const options = { snapshotInterval: 1 + (next() % 6), snapshotKeepRecent: next() % 3, memtableBytes: 4096 + (next() % 8192) };
      let vfs = new FaultVfs();
      let store: CommitStore = await openStore(HOME, { vfs, ...options });
      const versions: Record<string, string>[] = [{}];
      const roots: string[] = [hex(store.rootHash())];
      let pending: Record<string, string | null> = {};
      const seen = { commits: 0, rollbacks: 0, views: 0, reopens: 0, crashes: 0 };
      const check = (): void => {
        assert.equal(store.version, versions.length - 1);
        const expected = { ...versions.at(-1)! };
        for (const [key, value] of Object.entries(pending)) {
          if (value === null) delete expected[key];
          else expected[key] = value;
        }
        assert.deepEqual(contents(store), expected);
        assert.equal(hex(store.rootHash()), scannedRoot(store));
      };
      for (let step = 0; step < 70; step++) {
        const action = next() % 20;
        if (action < 9) {
          const changes = Array.from({ length: 1 + (next() % 6) }, () => {
            const key = `k${next() % 30}`;
            const value = next() % 4 === 0 ? null : `v${step}-${next() % 1000}`;
            pending[key] = value;
            return value === null ? { key, delete: true as const } : { key, value };
          });
          store.applyChangeSets([{ name: `s${step}`, changes }]);
        } else if (action < 15) {
          const result = await store.commit();
          const committed = { ...versions.at(-1)! };
          for (const [key, value] of Object.entries(pending)) {
            if (value === null) delete committed[key];
            else committed[key] = value;
          }
          versions.push(committed);
          pending = {};
          roots.push(hex(result.rootHash));
          seen.commits++;
          assert.equal(result.version, versions.length - 1);
        } else if (action === 15) {
          const target = next() % versions.length;
          const ok = await store.rollback(target).then(
            () => true,
            (error: { code?: string }) => {
              assert.equal(error.code, 'OUT_OF_RANGE');
              return false;
            },
          );
          if (ok) {
            seen.rollbacks++;
            versions.length = target + 1;
            roots.length = target + 1;
            pending = {};
          }
        } else if (action === 16) {
          const target = next() % versions.length;
          const view = await store.loadVersion(target).catch((error: { code?: string }) => {
            assert.equal(error.code, 'OUT_OF_RANGE');
            return null;
          });
          if (view !== null) {
            assert.deepEqual(contents(view), versions[target]);
            assert.equal(hex(view.rootHash()), roots[target]);
            await view.close();
            seen.views++;
          }
        } else if (action === 17) {
          await store.close();
          store = await openStore(HOME, { vfs, ...options });
          pending = {};
          seen.reopens++;
        } else {
          // Power cut: with fsync on, every committed version survives.
          vfs = vfs.crash({ seed: next() });
          store = await openStore(HOME, { vfs, ...options });
          pending = {};
          seen.crashes++;
        }
        check();
        if (Object.keys(pending).length === 0) assert.equal(hex(store.rootHash()), roots.at(-1));
      }
      await store.close();
      assert.ok(seen.commits > 10 && seen.rollbacks + seen.views > 0 && seen.reopens + seen.crashes > 0, JSON.stringify(seen));
    });
  }
});
