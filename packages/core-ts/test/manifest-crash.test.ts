/**
 * Power loss during the manifest's life. A seeded history of edits (some issued concurrently),
 * forced rewrites and automatic ones (a tiny `rewriteEdits`) runs on the fault-injecting file
 * system until the power fails before a chosen file-system call; unsynced data is torn at random.
 * Then the database is opened again — sometimes losing power again during that recovery — and the
 * recovered state must be the state after some prefix of the issued edits that holds every
 * acknowledged one. The recovered store must also take new edits and keep them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ManifestStore, VersionSet, type VersionEdit } from '../src/manifest/index.js';
import { FaultVfs, SeededRandom, type DurableOption, type OpenOptions, type Vfs, type VfsFile, type VfsLock } from '../src/log.js';
import { describeState, randomEdit } from './manifest-fixtures.js';

const DIR = '/db';

/**
 * A Vfs over a FaultVfs that loses power right before its `crashAt`-th call (counting calls on
 * files too), then fails every call like the dead machine it models. `rebooted` is the file system
 * after the power loss.
 */
class PowerCutVfs implements Vfs {
  calls = 0;
  rebooted: FaultVfs | null = null;
  /** The call the power failed before: its kind and path. */
  crashedBefore = '';

  constructor(
    private readonly inner: FaultVfs,
    private readonly crashAt: number,
    private readonly seed: number,
  ) {}

  /** Count a call; the power fails before the chosen one, which then fails on the dead disk. */
  tick(kind: string, path: string): void {
    if (++this.calls !== this.crashAt) return;
    this.rebooted = this.inner.crash({ seed: this.seed });
    this.crashedBefore = `${kind} ${path}`;
  }

  /** Cut the power now, if it has not failed yet. */
  cut(): FaultVfs {
    this.rebooted ??= this.inner.crash({ seed: this.seed });
    return this.rebooted;
  }

  async open(path: string, options: OpenOptions): Promise<VfsFile> {
    this.tick('open', path);
    return new PowerCutFile(await this.inner.open(path, options), this);
  }
  readFile(path: string): Promise<Uint8Array> {
    this.tick('readFile', path);
    return this.inner.readFile(path);
  }
  exists(path: string): Promise<boolean> {
    this.tick('exists', path);
    return this.inner.exists(path);
  }
  rename(from: string, to: string, options?: DurableOption): Promise<void> {
    this.tick('rename', to);
    return this.inner.rename(from, to, options);
  }
  unlink(path: string, options?: DurableOption): Promise<void> {
    this.tick('unlink', path);
    return this.inner.unlink(path, options);
  }
  rmdir(dir: string, options?: DurableOption): Promise<void> {
    this.tick('rmdir', dir);
    return this.inner.rmdir(dir, options);
  }
  link(existing: string, newPath: string, options?: DurableOption): Promise<void> {
    this.tick('link', newPath);
    return this.inner.link(existing, newPath, options);
  }
  readdir(dir: string): Promise<string[]> {
    this.tick('readdir', dir);
    return this.inner.readdir(dir);
  }
  mkdir(dir: string, options?: DurableOption & { readonly recursive?: boolean }): Promise<void> {
    this.tick('mkdir', dir);
    return this.inner.mkdir(dir, options);
  }
  syncDir(dir: string): Promise<void> {
    this.tick('syncDir', dir);
    return this.inner.syncDir(dir);
  }
  truncate(path: string, length: number): Promise<void> {
    this.tick('truncate', path);
    return this.inner.truncate(path, length);
  }
  lock(path: string): Promise<VfsLock> {
    this.tick('lock', path);
    return this.inner.lock(path);
  }
}

class PowerCutFile implements VfsFile {
  constructor(
    private readonly inner: VfsFile,
    private readonly vfs: PowerCutVfs,
  ) {}
  get path(): string {
    return this.inner.path;
  }
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    this.vfs.tick('read', this.inner.path);
    return this.inner.read(buffer, offset, length, position);
  }
  write(data: Uint8Array, position: number): Promise<void> {
    this.vfs.tick('write', this.inner.path);
    return this.inner.write(data, position);
  }
  writev(chunks: readonly Uint8Array[], position: number): Promise<void> {
    this.vfs.tick('writev', this.inner.path);
    return this.inner.writev(chunks, position);
  }
  append(data: Uint8Array): Promise<void> {
    this.vfs.tick('append', this.inner.path);
    return this.inner.append(data);
  }
  size(): Promise<number> {
    this.vfs.tick('size', this.inner.path);
    return this.inner.size();
  }
  truncate(length: number): Promise<void> {
    this.vfs.tick('truncate', this.inner.path);
    return this.inner.truncate(length);
  }
  sync(): Promise<void> {
    this.vfs.tick('sync', this.inner.path);
    return this.inner.sync();
  }
  datasync(): Promise<void> {
    this.vfs.tick('datasync', this.inner.path);
    return this.inner.datasync();
  }
  close(): Promise<void> {
    this.vfs.tick('close', this.inner.path);
    return this.inner.close();
  }
}

interface History {
  /** states[p]: the state after the first p issued edits. */
  readonly states: string[];
  /** How many edits were acknowledged (their logAndApply resolved) before the power failed. */
  acknowledged: number;
}

/**
 * Run a seeded history on `vfs` until the power fails (or the history ends, when the power is cut
 * by the caller). Edits go out in groups of 1–3 calls made without waiting; a few forced rewrites
 * are mixed in.
 */
async function runHistory(vfs: PowerCutVfs, random: SeededRandom, rewriteEdits: number): Promise<History> {
  const model = new VersionSet();
  const history: History = { states: [JSON.stringify(describeState(model))], acknowledged: 0 };
  let store: ManifestStore;
  try {
    store = await ManifestStore.open(DIR, { vfs, rewriteEdits });
  } catch {
    return history;
  }
  const acknowledged: boolean[] = [];
  for (let step = 0; step < 16 && vfs.rebooted === null; step++) {
    const calls: Promise<unknown>[] = [];
    const group = random.int(1, 3);
    for (let i = 0; i < group; i++) {
      const edit: VersionEdit = randomEdit(random, model);
      model.apply(edit);
      history.states.push(JSON.stringify(describeState(model)));
      const index = acknowledged.push(false) - 1;
      calls.push(store.logAndApply(edit).then(() => (acknowledged[index] = true)));
    }
    if (random.chance(0.1)) calls.push(store.rewrite());
    await Promise.allSettled(calls);
  }
  // Edits are applied in call order, so the acknowledged ones form a prefix.
  history.acknowledged = acknowledged.indexOf(false) === -1 ? acknowledged.length : acknowledged.indexOf(false);
  assert.ok(acknowledged.slice(history.acknowledged).every((done) => !done), 'an edit was acknowledged after one that failed');
  await store.close().catch(() => {});
  return history;
}

/** Open, perhaps losing power again during the recovery itself, and end up with an open store. */
async function recover(disk: FaultVfs, random: SeededRandom, seed: number): Promise<{ store: ManifestStore; vfs: FaultVfs }> {
  let vfs = disk;
  if (random.chance(0.4)) {
    const again = new PowerCutVfs(disk, random.int(1, 25), seed + 1_000_000);
    try {
      const store = await ManifestStore.open(DIR, { vfs: again, rewriteEdits: 3 });
      await store.close();
    } catch {
      // The power failed during recovery: recover again from what survived.
    }
    vfs = again.cut();
  }
  return { store: await ManifestStore.open(DIR, { vfs }), vfs };
}

describe('manifest under power loss', () => {
  test('the recovered state is a prefix of the issued edits holding every acknowledged one', async () => {
    const SEEDS = 200;
    let crashedDuringRewrite = 0;
    let inFlight = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const random = new SeededRandom(seed);
      const rewriteEdits = random.int(2, 8);
      const disk = new FaultVfs();
      const vfs = new PowerCutVfs(disk, random.int(1, 260), seed);
      const history = await runHistory(vfs, random, rewriteEdits);
      const rebooted = vfs.cut();
      // Writing CURRENT.tmp, renaming it, and deleting the old manifest: the steps of a rewrite
      // (the other one, writing the new manifest, looks like any append).
      if (/CURRENT|unlink/.test(vfs.crashedBefore)) crashedDuringRewrite++;

      const { store, vfs: survivor } = await recover(rebooted, random, seed);
      const recovered = JSON.stringify(describeState(store));
      const prefix = history.states.indexOf(recovered, history.acknowledged);
      assert.ok(
        prefix !== -1,
        `seed ${seed}: the recovered state is not the state after ${history.acknowledged}…${history.states.length - 1} edits\n${recovered}`,
      );
      if (history.states.length - 1 > history.acknowledged) inFlight++;

      // The recovered store takes new edits and keeps them, and only the live manifest has files.
      const model = new VersionSet();
      model.apply(store.versions.snapshotEdit());
      const extra = randomEdit(random, model);
      model.apply(extra);
      await store.logAndApply(extra);
      await store.close();
      const reopened = await ManifestStore.open(DIR, { vfs: survivor });
      assert.deepEqual(describeState(reopened), describeState(model), `seed ${seed}: after recovery`);
      for (const name of await survivor.readdir(DIR)) {
        if (name.startsWith('MANIFEST-') && name !== reopened.manifestDir.split('/').pop()) {
          assert.deepEqual(await survivor.readdir(join(DIR, name)), [], `seed ${seed}: ${name} was left with files`);
        }
      }
      await reopened.close();
    }
    // The seeds must reach the interesting places, or the test proves little.
    assert.ok(crashedDuringRewrite >= 5, `only ${crashedDuringRewrite} crashes fell inside a rewrite`);
    assert.ok(inFlight >= 50, `only ${inFlight} power losses caught an edit in flight`);
  });
});
