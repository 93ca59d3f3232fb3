/**
 * LaneLogs: lanes created on first use, written concurrently, reopened; every close failure
 * reported; bad lane ids and use after close rejected with stable codes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FaultVfs, LaneLogs, NodeVfs, utf8Codec, type Vfs } from '../src/log.js';
import { rejectsWithCode, tempDir } from './helpers/log-fixtures.js';

const LANES = ['0a', '1b', '2c', '3d', '4e', '5f'];

async function writeLanesConcurrently(vfs: Vfs, dir: string, perLane: number): Promise<void> {
  const lanes = await LaneLogs.open(dir, utf8Codec, { vfs, durability: 'group', segmentBytes: 512 });
  // Every lane's appends interleave with every other lane's, from one burst of calls.
  const appends: Promise<number>[] = [];
  for (let i = 0; i < perLane; i++) {
    for (const id of LANES) appends.push(lanes.lane(id).then((log) => log.append(`${id}:${i}`)));
  }
  const indexes = await Promise.all(appends);
  for (let i = 0; i < perLane; i++) {
    for (let l = 0; l < LANES.length; l++) assert.equal(indexes[i * LANES.length + l], i);
  }
  assert.deepEqual(lanes.laneIds(), LANES);
  await lanes.close();
}

for (const [name, make] of [
  ['in-memory FaultVfs', () => ({ vfs: new FaultVfs() as Vfs, dir: '/lanes' })],
  ['node:fs', (t: Parameters<typeof tempDir>[0]) => ({ vfs: new NodeVfs() as Vfs, dir: join(tempDir(t), 'lanes') })],
] as const) {
  describe(`LaneLogs on ${name}`, () => {
    test('lanes written concurrently are each complete and in order after reopening', async (t) => {
      const { vfs, dir } = make(t);
      await writeLanesConcurrently(vfs, dir, 150);
      const reopened = await LaneLogs.open(dir, utf8Codec, { vfs, segmentBytes: 512 });
      assert.deepEqual(reopened.laneIds(), LANES);
      for (const id of LANES) {
        const log = await reopened.lane(id);
        assert.equal(log.count, 150);
        assert.deepEqual(await log.readAll(), Array.from({ length: 150 }, (_, i) => `${id}:${i}`));
      }
      assert.deepEqual(await vfs.readdir(join(dir, 'lane-0a')).then((names) => names.filter((n) => n.endsWith('.seg')).length > 1), true);
      await reopened.close();
    });

    test('a second LaneLogs on the same directory is LOCKED', async (t) => {
      const { vfs, dir } = make(t);
      const lanes = await LaneLogs.open(dir, utf8Codec, { vfs });
      await rejectsWithCode(LaneLogs.open(dir, utf8Codec, { vfs }), 'LOCKED');
      await lanes.close();
      await (await LaneLogs.open(dir, utf8Codec, { vfs })).close();
    });
  });
}

describe('LaneLogs behaviour', () => {
  test('concurrent first uses of a lane share one log', async () => {
    const lanes = await LaneLogs.open('/lanes', utf8Codec, { vfs: new FaultVfs() });
    const [a, b] = await Promise.all([lanes.lane('x'), lanes.lane('x')]);
    assert.equal(a, b);
    assert.equal(lanes.has('x'), true);
    assert.equal(lanes.has('y'), false);
    await lanes.close();
  });

  test('bad lane ids are INVALID_ARGUMENT; use after close is CLOSED; close twice is harmless', async () => {
    const lanes = await LaneLogs.open('/lanes', utf8Codec, { vfs: new FaultVfs() });
    for (const bad of ['', '../up', 'a/b', 'dot.dot', 'x'.repeat(129), 7, null]) {
      await rejectsWithCode(lanes.lane(bad as string), 'INVALID_ARGUMENT');
    }
    const log = await lanes.lane('ok');
    await lanes.close();
    await lanes.close();
    await rejectsWithCode(lanes.lane('ok'), 'CLOSED');
    await rejectsWithCode(log.append('late'), 'CLOSED');
  });

  test('a lane that fails to open is retried on next use', async () => {
    const vfs = new FaultVfs();
    const lanes = await LaneLogs.open('/lanes', utf8Codec, { vfs });
    vfs.inject({ kind: 'mkdir', path: 'lane-flaky' });
    await rejectsWithCode(lanes.lane('flaky'), 'IO_ERROR');
    assert.equal(lanes.has('flaky'), false);
    const log = await lanes.lane('flaky');
    assert.equal(await log.append('fine'), 0);
    await lanes.close();
  });

  test('close closes every lane and reports every failure in one AggregateError', async () => {
    const vfs = new FaultVfs();
    const lanes = await LaneLogs.open('/lanes', utf8Codec, { vfs });
    for (const id of ['a', 'b', 'c']) await (await lanes.lane(id)).append(`${id}-entry`);
    vfs.inject({ kind: 'close', path: 'lane-a/', times: Infinity });
    vfs.inject({ kind: 'close', path: 'lane-c/', times: Infinity });
    const error = await rejectsWithCode(lanes.close(), 'IO_ERROR');
    assert.ok(error instanceof AggregateError);
    assert.equal(error.errors.length, 2);
    for (const failure of error.errors) assert.equal((failure as { code: string }).code, 'IO_ERROR');
    vfs.clearFaults();
    // Every lane was closed despite the failures, and its lock released.
    const reopened = await LaneLogs.open('/lanes', utf8Codec, { vfs });
    for (const id of ['a', 'b', 'c']) assert.deepEqual(await (await reopened.lane(id)).readAll(), [`${id}-entry`]);
    await reopened.close();
  });
});
