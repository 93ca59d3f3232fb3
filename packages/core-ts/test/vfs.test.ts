/**
 * The file-system layer: the real NodeVfs (operations, errors, the lock file within and across
 * processes) and the FaultVfs (fault injection, and what survives a simulated power loss).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaultVfs, IndexedLog, NodeVfs, systemErrorCode, utf8Codec, type Vfs } from '../src/log.js';
import { rejectsWithCode, tempDir } from './helpers/log-fixtures.js';

const lockChild = join(dirname(fileURLToPath(import.meta.url)), 'helpers', 'lock-child.ts');

function runChild(action: string, path: string): string {
  const run = spawnSync(process.execPath, ['--import', 'tsx', lockChild, action, path], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout.trim();
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/** Operations both file systems must agree on. */
async function exerciseBasics(vfs: Vfs, root: string): Promise<void> {
  const dir = join(root, 'a', 'b');
  await vfs.mkdir(dir, { recursive: true, durable: true });
  await vfs.mkdir(dir, { recursive: true });
  await rejectsWithCode(vfs.mkdir(dir), 'IO_ERROR');
  const path = join(dir, 'f');
  const file = await vfs.open(path, { mode: 'exclusive', durable: true });
  await file.write(bytes('hello'), 0);
  await file.append(bytes(' world'));
  await file.write(bytes('J'), 0);
  assert.equal(await file.size(), 11);
  const buffer = new Uint8Array(20);
  assert.equal(await file.read(buffer, 2, 18, 0), 11);
  await rejectsWithCode(file.read(buffer, 2, 19, 0), 'INVALID_ARGUMENT');
  assert.equal(text(buffer.subarray(2, 13)), 'Jello world');
  assert.equal(await file.read(buffer, 0, 5, 11), 0);
  await file.truncate(5);
  await file.sync();
  await file.datasync();
  await file.close();
  await file.close();
  await rejectsWithCode(file.read(buffer, 0, 1, 0), 'IO_ERROR');
  await rejectsWithCode(vfs.open(path, { mode: 'exclusive' }), 'IO_ERROR');
  assert.equal(text(await vfs.readFile(path)), 'Jello');

  await vfs.link(path, join(dir, 'g'), { durable: true });
  await vfs.rename(path, join(dir, 'h'), { durable: true });
  assert.deepEqual(await vfs.readdir(dir), ['g', 'h']);
  assert.equal(await vfs.exists(path), false);
  assert.equal(await vfs.exists(join(dir, 'h')), true);
  await vfs.truncate(join(dir, 'h'), 2);
  // A hard link is the same file.
  assert.equal(text(await vfs.readFile(join(dir, 'g'))), 'Je');
  await vfs.unlink(join(dir, 'g'), { durable: true });
  await vfs.syncDir(dir);
  assert.deepEqual(await vfs.readdir(dir), ['h']);

  const replaced = await vfs.open(join(dir, 'h'), { mode: 'replace' });
  assert.equal(await replaced.size(), 0);
  await replaced.close();
  const readOnly = await vfs.open(join(dir, 'h'), { mode: 'read' });
  await rejectsWithCode(readOnly.write(bytes('x'), 0), 'IO_ERROR');
  await readOnly.close();

  const missing = await rejectsWithCode(vfs.open(join(dir, 'nope'), { mode: 'read' }), 'IO_ERROR');
  assert.equal(systemErrorCode(missing), 'ENOENT');
  assert.equal(systemErrorCode(await rejectsWithCode(vfs.readdir(join(dir, 'nope')), 'IO_ERROR')), 'ENOENT');
  assert.equal(systemErrorCode(await rejectsWithCode(vfs.unlink(join(dir, 'nope')), 'IO_ERROR')), 'ENOENT');

  assert.equal(systemErrorCode(await rejectsWithCode(vfs.rmdir(join(root, 'a')), 'IO_ERROR')), 'ENOTEMPTY');
  await vfs.mkdir(join(root, 'a', 'empty'));
  await vfs.rmdir(join(root, 'a', 'empty'), { durable: true });
  assert.equal(await vfs.exists(join(root, 'a', 'empty')), false);
  assert.equal(systemErrorCode(await rejectsWithCode(vfs.rmdir(join(root, 'a', 'empty')), 'IO_ERROR')), 'ENOENT');

  const lock = await vfs.lock(join(root, 'LOCK'));
  await rejectsWithCode(vfs.lock(join(root, 'LOCK')), 'LOCKED');
  await lock.release();
  await lock.release();
  await (await vfs.lock(join(root, 'LOCK'))).release();
}

describe('NodeVfs', () => {
  test('file and directory operations, with IO_ERROR carrying the system code', async (t) => {
    await exerciseBasics(new NodeVfs(), tempDir(t));
  });

  test('a lock held here is LOCKED for another process, and free once released', async (t) => {
    const vfs = new NodeVfs();
    const path = join(tempDir(t), 'LOCK');
    const lock = await vfs.lock(path);
    assert.equal(runChild('try-lock', path), 'LOCKED');
    await lock.release();
    assert.equal(existsSync(path), false);
    assert.equal(runChild('try-lock', path), 'ok');
  });

  test('an IndexedLog open here is LOCKED for a writer in another process', async (t) => {
    const dir = join(tempDir(t), 'log');
    const log = await IndexedLog.open(dir, utf8Codec, { vfs: new NodeVfs() });
    assert.equal(runChild('try-open', dir), 'LOCKED');
    await log.close();
    assert.equal(runChild('try-open', dir), 'ok');
  });

  test('a lock held by another process is LOCKED here; when that process dies the lock is taken over', async (t) => {
    const dir = join(tempDir(t), 'log');
    const child = spawn(process.execPath, ['--import', 'tsx', lockChild, 'hold-open', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('held') && resolve());
      child.on('exit', () => reject(new Error(`the child exited early: ${stderr}`)));
    });
    const vfs = new NodeVfs();
    await rejectsWithCode(vfs.lock(join(dir, 'LOCK')), 'LOCKED');
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The dead writer's lock file is still there, naming a process that no longer runs.
    assert.equal(existsSync(join(dir, 'LOCK')), true);
    const lock = await vfs.lock(join(dir, 'LOCK'));
    await lock.release();
  });

  test('lock files of an earlier process with our pid are stale; those of another host are not', async (t) => {
    const vfs = new NodeVfs();
    const dir = tempDir(t);
    const path = join(dir, 'LOCK');
    writeFileSync(path, `${process.pid} ${hostname()} earlier-incarnation\n`);
    const lock = await vfs.lock(path);
    assert.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} `));
    await lock.release();
    // Our pid with a start time long before ours: also an earlier process.
    const ourStart = Math.round(Date.now() - process.uptime() * 1000);
    writeFileSync(path, `${process.pid} ${hostname()} earlier-incarnation ${ourStart - 3_600_000}\n`);
    await (await vfs.lock(path)).release();
    // Our pid and our start time: another thread of this very process holds it.
    writeFileSync(path, `${process.pid} ${hostname()} sibling-thread ${ourStart}\n`);
    await rejectsWithCode(vfs.lock(path), 'LOCKED');
    writeFileSync(path, `1 some-other-host token\n`);
    await rejectsWithCode(vfs.lock(path), 'LOCKED');
  });

  test('a lock held by one worker thread is LOCKED for another thread of the process', async (t) => {
    const dir = tempDir(t);
    const path = join(dir, 'LOCK');
    const lock = await new NodeVfs().lock(path);
    try {
      const { Worker } = await import('node:worker_threads');
      const worker = new Worker(
        `const { parentPort, workerData } = require('node:worker_threads');
         const { register } = require('tsx/cjs/api');
         register();
         const { NodeVfs } = require(workerData.vfs);
         new NodeVfs().lock(workerData.path).then(
           (l) => l.release().then(() => parentPort.postMessage('acquired')),
           (e) => parentPort.postMessage(String(e.code)));`,
        { eval: true, workerData: { path, vfs: join(dirname(fileURLToPath(import.meta.url)), '../src/vfs/node-vfs.ts') } },
      );
      const answer = await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
      await worker.terminate();
      assert.equal(answer, 'LOCKED');
    } finally {
      await lock.release();
    }
  });
});

describe('FaultVfs', () => {
  test('file and directory operations behave like the real file system', async () => {
    await exerciseBasics(new FaultVfs(), '/root');
  });

  test('the nth call of a kind fails with the chosen error, as often as asked', async () => {
    const vfs = new FaultVfs();
    await vfs.mkdir('/d');
    const file = await vfs.open('/d/f', { mode: 'create' });
    vfs.inject({ kind: 'write', nth: 3, error: 'ENOSPC', times: 2 });
    await file.write(bytes('a'), 0);
    await file.write(bytes('b'), 1);
    const error = await rejectsWithCode(file.write(bytes('c'), 2), 'IO_ERROR');
    assert.equal(systemErrorCode(error), 'ENOSPC');
    await rejectsWithCode(file.append(bytes('d')), 'IO_ERROR');
    await file.write(bytes('e'), 2);
    assert.equal(text(vfs.contentOf('/d/f')), 'abe');
    assert.equal(vfs.calls('write'), 5);

    vfs.inject({ kind: 'sync', path: 'other' });
    await file.sync();
    vfs.inject({ kind: 'syncDir', times: Infinity });
    assert.equal(systemErrorCode(await rejectsWithCode(vfs.syncDir('/d'), 'IO_ERROR')), 'EIO');
    await rejectsWithCode(vfs.syncDir('/d'), 'IO_ERROR');
    vfs.clearFaults();
    await vfs.syncDir('/d');
  });

  test('a short write lands half of the data before failing', async () => {
    const vfs = new FaultVfs();
    const file = await vfs.open('/f', { mode: 'create' });
    vfs.inject({ kind: 'write', partialWrite: true });
    await rejectsWithCode(file.write(bytes('abcdefgh'), 0), 'IO_ERROR');
    assert.equal(text(vfs.contentOf('/f')), 'abcd');
  });

  test('a crash keeps synced data and drops unsynced data', async () => {
    const vfs = new FaultVfs();
    await vfs.mkdir('/d', { durable: true });
    const file = await vfs.open('/d/f', { mode: 'exclusive', durable: true });
    await file.write(bytes('synced'), 0);
    await file.datasync();
    await file.write(bytes('-lost'), 6);
    await file.truncate(3);
    assert.equal(text(vfs.durableContentOf('/d/f')), 'synced');
    const rebooted = vfs.crash();
    assert.equal(text(await rebooted.readFile('/d/f')), 'synced');
  });

  test('a crash drops directory entries whose directory was not synced', async () => {
    const vfs = new FaultVfs();
    await vfs.mkdir('/d', { durable: true });
    for (const name of ['kept', 'renamed', 'unlinked']) {
      const file = await vfs.open(`/d/${name}`, { mode: 'exclusive', durable: true });
      await file.write(bytes(name), 0);
      await file.sync();
      await file.close();
    }
    // Not durable: a create (with its data synced), a rename, an unlink, a link, a mkdir.
    const fresh = await vfs.open('/d/fresh', { mode: 'exclusive' });
    await fresh.write(bytes('fresh'), 0);
    await fresh.sync();
    await vfs.rename('/d/renamed', '/d/moved');
    await vfs.unlink('/d/unlinked');
    await vfs.link('/d/kept', '/d/linked');
    await vfs.mkdir('/d/sub');
    assert.deepEqual(await vfs.readdir('/d'), ['fresh', 'kept', 'linked', 'moved', 'sub']);
    const rebooted = vfs.crash();
    assert.deepEqual(await rebooted.readdir('/d'), ['kept', 'renamed', 'unlinked']);
    assert.equal(text(await rebooted.readFile('/d/renamed')), 'renamed');

    // The same changes made durable survive.
    await rebooted.rename('/d/renamed', '/d/moved', { durable: true });
    await rebooted.unlink('/d/unlinked', { durable: true });
    await rebooted.mkdir('/d/sub', { durable: true });
    const again = rebooted.crash();
    assert.deepEqual(await again.readdir('/d'), ['kept', 'moved', 'sub']);
  });

  test('after a crash the dead process can no longer touch the disk', async () => {
    const vfs = new FaultVfs();
    const file = await vfs.open('/f', { mode: 'create', durable: true });
    const lock = await vfs.lock('/LOCK');
    const rebooted = vfs.crash();
    await rejectsWithCode(file.write(bytes('late'), 0), 'IO_ERROR');
    await rejectsWithCode(vfs.open('/g', { mode: 'create' }), 'IO_ERROR');
    // Locks die with their process.
    const relock = await rebooted.lock('/LOCK');
    await lock.release();
    await rejectsWithCode(rebooted.lock('/LOCK'), 'LOCKED');
    await relock.release();
    assert.deepEqual(await rebooted.readdir('/'), ['f']);
  });

  test('after a failed fsync the lost data never becomes durable, even when a later fsync succeeds', async () => {
    const vfs = new FaultVfs();
    const file = await vfs.open('/f', { mode: 'create', durable: true });
    await file.write(bytes('aaaa'), 0);
    await file.sync();
    await file.write(bytes('bbbb'), 4);
    vfs.inject({ kind: 'sync' });
    await rejectsWithCode(file.sync(), 'IO_ERROR');
    await file.sync();
    // The page cache still shows the data; the disk does not have it.
    assert.equal(text(vfs.contentOf('/f')), 'aaaabbbb');
    assert.equal(text(vfs.durableContentOf('/f')), 'aaaa');
    await file.write(bytes('cc'), 8);
    await file.sync();
    assert.deepEqual([...vfs.durableContentOf('/f')], [...bytes('aaaa'), 0, 0, 0, 0, ...bytes('cc')]);
  });

  test('a seeded crash keeps an in-order prefix of the unsynced writes, torn, the same way every time', async () => {
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const run = async (): Promise<string> => {
        const vfs = new FaultVfs();
        const file = await vfs.open('/f', { mode: 'create', durable: true });
        await file.write(bytes('base'), 0);
        await file.sync();
        for (const part of ['-one', '-two', '-three']) await file.append(bytes(part));
        return text(await vfs.crash({ seed }).readFile('/f'));
      };
      const first = await run();
      assert.equal(await run(), first, `seed ${seed} is not deterministic`);
      assert.ok('base-one-two-three'.startsWith(first), `seed ${seed} left ${first}`);
      assert.ok(first.startsWith('base'));
      outcomes.add(first);
    }
    assert.ok(outcomes.size > 5, `only ${outcomes.size} distinct outcomes`);
  });

  test("directoryOps 'random-prefix': an in-order prefix of the unsynced directory operations survives", async () => {
    // Operations in order; after each, the directory listings it leaves.
    const states = [
      { '/a': [], '/b': [] },
      { '/a': ['f'], '/b': [] }, // create a/f
      { '/a': ['f', 'g'], '/b': [] }, // create a/g
      { '/a': ['f', 'g'], '/b': ['f'] }, // rename a/f -> b/f: the new name first…
      { '/a': ['g'], '/b': ['f'] }, // …then the old name goes
      { '/a': [], '/b': ['f'] }, // unlink a/g
      { '/a': [], '/b': ['f', 'h'] }, // link b/f -> b/h
    ].map((state) => JSON.stringify(state));
    const outcomes = new Set<string>();
    for (let seed = 1; seed <= 80; seed++) {
      const run = async (): Promise<string> => {
        const vfs = new FaultVfs();
        await vfs.mkdir('/a', { durable: true });
        await vfs.mkdir('/b', { durable: true });
        await (await vfs.open('/a/f', { mode: 'create' })).close();
        await (await vfs.open('/a/g', { mode: 'create' })).close();
        await vfs.rename('/a/f', '/b/f');
        await vfs.unlink('/a/g');
        await vfs.link('/b/f', '/b/h');
        const rebooted = vfs.crash({ seed, directoryOps: 'random-prefix' });
        return JSON.stringify({ '/a': await rebooted.readdir('/a'), '/b': await rebooted.readdir('/b') });
      };
      const outcome = await run();
      assert.equal(await run(), outcome, `seed ${seed} is not deterministic`);
      assert.ok(states.includes(outcome), `seed ${seed} left ${outcome}, not a prefix of the operations`);
      outcomes.add(outcome);
    }
    assert.equal(outcomes.size, states.length, 'every prefix, from none to all, turns up');
    // A synced directory keeps all of its operations; the prefix applies to the others.
    const vfs = new FaultVfs();
    await vfs.mkdir('/a', { durable: true });
    await vfs.mkdir('/b', { durable: true });
    await (await vfs.open('/b/x', { mode: 'create' })).close();
    await (await vfs.open('/a/y', { mode: 'create' })).close();
    await vfs.syncDir('/a');
    const rebooted = vfs.crash({ seed: 3, directoryOps: 'random-prefix' });
    assert.deepEqual(await rebooted.readdir('/a'), ['y']);
    assert.throws(() => new FaultVfs().crash({ directoryOps: 'random-prefix' }), (error: { code?: string }) => error.code === 'INVALID_ARGUMENT');
  });
});
