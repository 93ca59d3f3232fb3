/** Helpers of the versioned-store tests: a model of versions, full-scan root hashes, store setup. */
import assert from 'node:assert/strict';
import { accel } from '@siltdb/bindings';
import { ltHashOfEntries, rootHashOf } from '../src/versioned/lthash.js';
import type { CommitResult, CommitStore, CommitStoreOptions, VersionView } from '../src/versioned.js';
import { openCommitStore } from '../src/versioned.js';

const utf8 = new TextEncoder();
const text = new TextDecoder();

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
export const str = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : text.decode(bytes));

/** The root hash recomputed from a full scan (what the stored hash must equal). */
export function scannedRoot(source: CommitStore | VersionView): string {
  const lanes = ltHashOfEntries(accel, source.iterator());
  return hex(rootHashOf(accel, lanes));
}

export function contents(source: CommitStore | VersionView): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of source.iterator()) out[text.decode(key)] = text.decode(value);
  return out;
}

/**
 * A model of the store: the content of every committed version. `step(store, v)` applies a
 * deterministic change set for version v (puts, overwrites and deletes) to both and commits.
 */
export class Model {
  readonly versions: Record<string, string>[] = [{}];

  changesFor(version: number): { key: string; value?: string; delete?: true }[] {
    const changes: { key: string; value?: string; delete?: true }[] = [];
    for (let i = 0; i < 5; i++) changes.push({ key: `k${(version * 7 + i * 3) % 23}`, value: `v${version}-${i}` });
    if (version % 3 === 0) changes.push({ key: `k${version % 23}`, delete: true });
    return changes;
  }

  async step(store: CommitStore): Promise<CommitResult> {
    const version = store.version + 1;
    const changes = this.changesFor(version);
    store.applyChangeSets([
      {
        name: 'main',
        changes: changes.map((c) => (c.delete ? { key: c.key, delete: true as const } : { key: c.key, value: c.value! })),
      },
    ]);
    const result = await store.commit();
    assert.equal(result.version, version);
    const next = { ...this.versions[version - 1]! };
    for (const c of changes) {
      if (c.delete) delete next[c.key];
      else next[c.key] = c.value!;
    }
    this.versions[version] = next;
    return result;
  }

  async run(store: CommitStore, count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.step(store);
  }

  /** Check content and hash of `source` against version `version` of the model. */
  check(source: CommitStore | VersionView, version: number): void {
    assert.equal(source.version, version);
    assert.deepEqual(contents(source), this.versions[version], `content of version ${version}`);
    assert.equal(hex(source.rootHash()), scannedRoot(source), `root hash of version ${version} vs a full scan`);
  }
}

export function openStore(home: string, options: CommitStoreOptions = {}): Promise<CommitStore> {
  return openCommitStore(home, { snapshotInterval: 0, ...options });
}

export const b = (s: string): Uint8Array => utf8.encode(s);
