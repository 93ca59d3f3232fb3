import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IndexedLog } from '../src/log/indexed-log.js';
import { FaultVfs } from '../src/vfs/index.js';
import { Changelog } from '../src/versioned/changelog.js';
import { ChangelogRecord, changelogCodec } from '../src/versioned/changelog-codec.js';
import { rejectsCode } from './db-helpers.js';

async function collect(changelog: Changelog, from: number, to: number): Promise<number[]> {
  const versions: number[] = [];
  for await (const record of changelog.records(from, to)) versions.push(record.version);
  return versions;
}

describe('versioned store: changelog version lookup', () => {
  test('index ≠ version after truncateAll: the O(1) guess finds every version', async () => {
    const vfs = new FaultVfs();
    const changelog = await Changelog.open('/log', vfs, true);
    for (let v = 1; v <= 5; v++) await changelog.append(v, []);
    await changelog.truncateAll();
    for (let v = 40; v <= 60; v++) await changelog.append(v, []);
    assert.equal(await changelog.firstVersion(), 40);
    assert.equal(await changelog.indexOf(40), 5);
    assert.equal(await changelog.indexOf(57), 22);
    assert.equal(await changelog.indexOf(39), null);
    assert.equal(await changelog.indexOf(61), null);
    await rejectsCode(() => changelog.append(62, []), 'CORRUPTION');
    assert.deepEqual(await collect(changelog, 58, 60), [58, 59, 60]);
    await changelog.truncateAfterVersion(50);
    assert.equal(await changelog.lastVersion(), 50);
    await changelog.truncateBeforeVersion(45);
    assert.equal(await changelog.firstVersion(), 45);
    await changelog.close();
    const reopened = await Changelog.open('/log', vfs, true);
    assert.deepEqual([await reopened.firstVersion(), await reopened.lastVersion()], [45, 50]);
    await reopened.close();
  });

  test('a missed guess falls back to binary search; a hole is found and reported', async () => {
    const vfs = new FaultVfs();
    // Written around the store's contiguity check: versions 1..5 then 8..20 (a hole at 6, 7).
    const raw = await IndexedLog.open('/log', changelogCodec, { vfs });
    for (const v of [1, 2, 3, 4, 5, ...Array.from({ length: 13 }, (_, i) => 8 + i)]) await raw.append(ChangelogRecord.of(v, []));
    await raw.close();
    const changelog = await Changelog.open('/log', vfs, true);
    // The guess for 12 (index 11) holds version 14: binary search finds index 9.
    assert.equal(await changelog.indexOf(12), 9);
    assert.equal(await changelog.indexOf(3), 2);
    assert.equal(await changelog.indexOf(6), null);
    assert.equal(await changelog.covers(4, 9), false);
    assert.equal(await changelog.covers(8, 20), true);
    await assert.rejects(collect(changelog, 4, 9), { code: 'CORRUPTION' });
    await changelog.close();
  });
});
