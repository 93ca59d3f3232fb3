/**
 * I/O failures and power loss. A failed write or fsync surfaces as IO_ERROR, poisons the log (no
 * later write or sync reports success), and the log reads back after reopening. Random operation
 * sequences cut by a simulated power loss, in each durability mode, recover a log that is a prefix
 * of what was written and holds every entry acknowledged as durable.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultVfs, SeededRandom, type Durability, type IndexedLog } from '../src/log.js';
import { entries, entry, openLog, rejectsWithCode, turns } from './helpers/log-fixtures.js';

const DIR = '/db';

describe('I/O errors', () => {
  for (const durability of ['sync', 'group', 'none'] as const) {
    test(`${durability}: EIO on a write rejects the append, poisons the log, and the log reopens`, async () => {
      const vfs = new FaultVfs();
      const log = await openLog(vfs, DIR, { durability });
      await log.appendMany(entries(0, 5));
      await log.sync();
      vfs.inject({ kind: 'write', error: 'EIO' });
      const error = await rejectsWithCode(log.append(entry(5)), 'IO_ERROR');
      assert.match(String((error as { cause?: { code?: string } }).cause?.code), /EIO/);
      assert.equal(log.poisoned, true);
      await rejectsWithCode(log.append(entry(5)), 'POISONED');
      await rejectsWithCode(log.sync(), 'POISONED');
      await rejectsWithCode(log.truncateAll(), 'POISONED');
      // What was acknowledged before stays readable, and the failed entry was never there.
      assert.equal(log.nextIndex, 5);
      assert.deepEqual(await log.readAll(), entries(0, 5));
      await log.close();
      const reopened = await openLog(vfs, DIR, { durability });
      assert.deepEqual(await reopened.readAll(), entries(0, 5));
      assert.equal(await reopened.append('after'), 5);
      await reopened.close();
    });
  }

  test('none: a failed write of the next call, issued before the previous one was acknowledged, leaves that one acknowledged', async () => {
    const vfs = new FaultVfs();
    // Writes that take a turn of the event loop, as real ones do: the second call is framed while
    // the first call's write is in flight.
    const open = vfs.open.bind(vfs);
    vfs.open = async (path, options) => {
      const file = await open(path, options);
      const writev = file.writev.bind(file);
      file.writev = async (chunks, position) => {
        await new Promise((resolve) => setImmediate(resolve));
        return writev(chunks, position);
      };
      return file;
    };
    const log = await openLog(vfs, DIR, { durability: 'none' });
    await log.appendMany(entries(0, 5));
    vfs.inject({ kind: 'write', nth: 2, error: 'EIO' });
    const firstCall = log.appendMany(entries(5, 200));
    // The pump issues the first call's write; the second call waits behind it, and its write goes
    // out when that one returns, before the first call is acknowledged.
    for (let k = 0; k < 3; k++) await Promise.resolve();
    const secondCall = log.appendMany(entries(200, 400));
    assert.deepEqual(await firstCall, Array.from({ length: 195 }, (_, k) => 5 + k));
    await rejectsWithCode(secondCall, 'IO_ERROR');
    assert.equal(log.poisoned, true);
    assert.equal(log.nextIndex, 200);
    assert.deepEqual(await log.readAll(), entries(0, 200));
    await log.close();
    const reopened = await openLog(vfs, DIR, { durability: 'none' });
    assert.deepEqual(await reopened.readAll(), entries(0, 200));
    await reopened.close();
  });

  test('ENOSPC with a short write: the torn record is cut on reopen', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR);
    await log.appendMany(entries(0, 3));
    vfs.inject({ kind: 'write', error: 'ENOSPC', partialWrite: true });
    const error = await rejectsWithCode(log.append('x'.repeat(300)), 'IO_ERROR');
    assert.match(error.message, /ENOSPC/);
    await log.close();
    const reopened = await openLog(vfs, DIR);
    assert.deepEqual(await reopened.readAll(), entries(0, 3));
    await reopened.close();
  });

  test('EIO on fsync: never a retried fsync reported as success', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'sync' });
    await log.appendMany(entries(0, 4));
    vfs.inject({ kind: 'sync', error: 'EIO' });
    await rejectsWithCode(log.append(entry(4)), 'IO_ERROR');
    // The file system would now report a second fsync as a success although the data is gone:
    // the log must not ask it, and must not say the data is safe.
    const syncsBefore = vfs.calls('sync');
    await rejectsWithCode(log.sync(), 'POISONED');
    await rejectsWithCode(log.append(entry(4)), 'POISONED');
    assert.equal(vfs.calls('sync'), syncsBefore);
    await log.close();
    // Reopened without a crash: readable. After a crash: every acknowledged entry is there.
    const reopened = await openLog(vfs, DIR);
    const seen = await reopened.readAll();
    assert.deepEqual(seen.slice(0, 4), entries(0, 4));
    await reopened.close();
    const rebooted = vfs.crash();
    const recovered = await openLog(rebooted, DIR);
    assert.deepEqual(await recovered.readAll(), entries(0, 4));
    await recovered.close();
  });

  test('group: an fsync failure fails its whole batch and everything queued behind it', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'group' });
    await log.appendMany(entries(0, 3));
    vfs.inject({ kind: 'sync', error: 'EIO' });
    const first = entries(3, 13).map((value) => log.append(value));
    const results = await Promise.allSettled(first);
    for (const result of results) {
      assert.equal(result.status, 'rejected');
      assert.equal((result.reason as { code: string }).code, 'IO_ERROR');
    }
    await rejectsWithCode(log.append('later'), 'POISONED');
    assert.equal(log.nextIndex, 3);
    await log.close();
    const recovered = await openLog(vfs.crash(), DIR);
    assert.deepEqual(await recovered.readAll(), entries(0, 3));
    await recovered.close();
  });

  test('sync mode: appends queued behind a failed one are refused with POISONED', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'sync' });
    vfs.inject({ kind: 'sync', nth: 2 });
    const results = await Promise.allSettled(entries(0, 5).map((value) => log.append(value)));
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code)),
      [0, 'IO_ERROR', 'POISONED', 'POISONED', 'POISONED'],
    );
    await log.close();
  });

  test('a failed fsync while sealing a segment in none mode poisons the log', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'none', segmentBytes: 128 });
    await log.appendMany(entries(0, 3));
    vfs.inject({ kind: 'sync' });
    // The seal's sync runs in the background: the appends may be acknowledged (written to the OS)
    // or refused, depending on when the failure is seen; from then on the log refuses writes.
    await log.appendMany(entries(3, 20)).then(
      () => {},
      (error: { code: string }) => assert.ok(['IO_ERROR', 'POISONED'].includes(error.code), error.code),
    );
    await rejectsWithCode(log.sync(), 'POISONED');
    await rejectsWithCode(log.append('x'), 'POISONED');
    await log.close();
    const reopened = await openLog(vfs, DIR, { segmentBytes: 128 });
    assert.deepEqual((await reopened.readAll()).slice(0, 3), entries(0, 3));
    await reopened.close();
  });

  test('none: a failed background fdatasync poisons the log', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { durability: 'none', bytesPerSync: 8 * 1024 * 1024 });
    vfs.inject({ kind: 'sync' });
    const chunk = 'y'.repeat(64 * 1024);
    // Enough to pass the background-sync threshold (bytesPerSync); the sync fails behind the appends' back.
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => log.append(chunk)));
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code));
    assert.ok(codes.includes('ok'), 'the first appends were written before the sync failed');
    await rejectsWithCode(log.sync(), 'POISONED');
    await rejectsWithCode(log.append('x'), 'POISONED');
    await log.close();
    const reopened = await openLog(vfs, DIR);
    const count = reopened.count;
    assert.ok(count >= codes.indexOf('ok') + 1);
    await reopened.close();
  });

  test('an error while truncating the tail poisons the log; reopening gives a consistent log', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR, { segmentBytes: 128 });
    await log.appendMany(entries(0, 30));
    vfs.inject({ kind: 'truncate' });
    await rejectsWithCode(log.truncateAfter(10), 'IO_ERROR');
    await rejectsWithCode(log.append('x'), 'POISONED');
    assert.deepEqual(await log.readAll(), entries(0, 11));
    await log.close();
    const reopened = await openLog(vfs, DIR, { segmentBytes: 128 });
    const recovered = await reopened.readAll();
    assert.deepEqual(recovered, entries(0, recovered.length));
    assert.ok(recovered.length >= 11);
    await reopened.close();
  });

  test('a failure while opening releases the lock', async () => {
    const vfs = new FaultVfs();
    const log = await openLog(vfs, DIR);
    await log.appendMany(entries(0, 3));
    await log.close();
    vfs.inject({ kind: 'readdir' });
    await rejectsWithCode(openLog(vfs, DIR), 'IO_ERROR');
    vfs.inject({ kind: 'read' });
    await rejectsWithCode(openLog(vfs, DIR), 'IO_ERROR');
    const reopened = await openLog(vfs, DIR);
    assert.deepEqual(await reopened.readAll(), entries(0, 3));
    await reopened.close();
  });
});

/**
 * A model of what the log must hold after a crash, kept alongside a random run:
 * - `values[i]`: the last entry appended at index i (truncateAfter lets an index be reused);
 * - `first`, `next`: the bounds the log reported (truncations are awaited, so they are settled);
 * - `durableNext`: every index in [first, durableNext) was acknowledged as durable (an append in
 *   `sync`/`group` mode, or covered by a finished `sync()` call).
 */
class DurabilityModel {
  readonly values = new Map<number, string>();
  first = 0;
  next = 0;
  durableNext = 0;

  constructor(readonly durability: Durability) {}

  appended(index: number, value: string): void {
    this.values.set(index, value);
    this.next = Math.max(this.next, index + 1);
  }

  acknowledged(index: number): void {
    if (this.durability !== 'none') this.durableNext = Math.max(this.durableNext, index + 1);
  }

  synced(upTo: number): void {
    this.durableNext = Math.max(this.durableNext, upTo);
  }

  truncatedAfter(index: number): void {
    this.next = index + 1;
    this.durableNext = Math.min(this.durableNext, index + 1);
  }

  truncatedBefore(index: number): void {
    this.first = index;
  }
}

async function randomRun(durability: Durability, seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  const model = new DurabilityModel(durability);
  const options = { durability, segmentBytes: 96 + random.int(0, 4) * 64 };
  let vfs = new FaultVfs();
  const log = await openLog(vfs, DIR, options);
  const inFlight: Promise<unknown>[] = [];
  let serial = 0;

  const startAppend = (target: IndexedLog<string>): void => {
    const value = `${seed}:${serial++}:${'v'.repeat(random.int(0, 40))}`;
    const index = target.nextIndex;
    model.appended(index, value);
    inFlight.push(
      target.append(value).then((acked) => {
        assert.equal(acked, index, `seed ${seed}: the append got another index than nextIndex announced`);
        model.acknowledged(acked);
      }),
    );
  };
  const settle = async (): Promise<void> => {
    await Promise.all(inFlight.splice(0));
  };

  const steps = random.int(5, 40);
  for (let step = 0; step < steps; step++) {
    const choice = random.next();
    if (choice < 0.45) {
      for (let k = random.int(1, 8); k > 0; k--) startAppend(log);
      if (random.chance(0.5)) await settle();
    } else if (choice < 0.6) {
      const values = Array.from({ length: random.int(1, 6) }, () => `${seed}:${serial++}:many`);
      const first = log.nextIndex;
      values.forEach((value, i) => model.appended(first + i, value));
      inFlight.push(log.appendMany(values).then((indexes) => indexes.forEach((i) => model.acknowledged(i))));
    } else if (choice < 0.72) {
      const upTo = log.nextIndex;
      await log.sync();
      model.synced(upTo);
    } else if (choice < 0.82) {
      await settle();
      const index = random.int(log.firstIndex, log.nextIndex);
      await log.truncateBefore(index);
      model.truncatedBefore(index);
    } else if (choice < 0.92) {
      await settle();
      const index = random.int(log.firstIndex - 1, log.nextIndex - 1);
      if (index < 0) continue;
      await log.truncateAfter(index);
      model.truncatedAfter(index);
    } else {
      await settle();
      await log.truncateAll();
      model.truncatedBefore(log.nextIndex);
    }
  }
  // The power goes out with appends in flight, after a random amount of progress.
  for (let k = random.int(0, 6); k > 0; k--) startAppend(log);
  await turns(random.int(0, 4));
  const before = { first: model.first, next: model.next, durableNext: model.durableNext };
  // Seeded: torn writes, and (half the time) a random prefix of the unsynced directory operations.
  vfs = vfs.crash(random.chance(0.7) ? { seed: seed * 7919, directoryOps: random.chance(0.5) ? 'random-prefix' : 'drop' } : {});
  // The dead process's remaining work fails against the dead file system; nothing to check there.
  await Promise.allSettled(inFlight);

  const context = `${durability} seed ${seed}`;
  const recovered = await openLog(vfs, DIR, options);
  assert.equal(recovered.firstIndex, before.first, `${context}: first index`);
  assert.ok(recovered.nextIndex >= Math.max(before.durableNext, before.first), `${context}: an acknowledged durable entry was lost (next ${recovered.nextIndex} < ${before.durableNext})`);
  assert.ok(recovered.nextIndex <= Math.max(model.next, before.first), `${context}: entries that were never appended`);
  const values = await recovered.readAll();
  for (let i = 0; i < values.length; i++) {
    assert.equal(values[i], model.values.get(before.first + i), `${context}: entry ${before.first + i}`);
  }
  // The recovered log is a working log.
  const index = await recovered.append('after-crash');
  assert.equal(index, recovered.nextIndex - 1);
  await recovered.close();
  const again = await openLog(vfs, DIR, options);
  assert.deepEqual(await again.readAll(), [...values, 'after-crash']);
  await again.close();
}

describe('simulated power loss after random operation sequences', () => {
  for (const durability of ['sync', 'group', 'none'] as const) {
    test(`${durability}: the recovered log is a prefix holding every entry acknowledged as durable`, async () => {
      for (let seed = 1; seed <= 150; seed++) await randomRun(durability, seed);
    });
  }
});
