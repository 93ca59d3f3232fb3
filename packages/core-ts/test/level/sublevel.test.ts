/**
 * Sublevels on SiltLevel, as applications use them: nested sublevels with their own encodings,
 * an atomic batch across sublevels, prefixed keys in the root, iteration and clear confined to a
 * sublevel, snapshots through a sublevel, and everything still there after reopening.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { SiltLevel } from '../../src/level.js';
import { tempDir } from '../db-helpers.js';

test('sublevels: encodings, atomic batches across them, isolation, snapshots, reopen', async (t) => {
  const location = join(tempDir(t, 'silt-level-sub-'), 'db');
  const db = new SiltLevel(location);
  const users = db.sublevel<string, { name: string; admin?: boolean }>('users', { valueEncoding: 'json' });
  const admins = users.sublevel('admins');
  const counters = db.sublevel<string, number>('counters', {
    valueEncoding: { encode: (n: number) => String(n), decode: (s: string) => Number(s), format: 'utf8' },
  });

  await users.put('alice', { name: 'Alice' });
  // abstract-level's typings give every operation the root's value type: the mixed batch is cast.
  await db.batch([
    { type: 'put', sublevel: users, key: 'bob', value: { name: 'Bob', admin: true } },
    { type: 'put', sublevel: admins, key: 'bob', value: 'since 2024' },
    { type: 'put', sublevel: counters, key: 'users', value: 2 },
    { type: 'put', key: 'plain', value: 'root value' },
  ] as never);

  assert.deepEqual(await users.get('bob'), { name: 'Bob', admin: true });
  assert.equal(await admins.get('bob'), 'since 2024');
  assert.equal(await counters.get('users'), 2);
  assert.equal(await users.get('plain'), undefined, 'a sublevel does not see root keys');
  // As in every abstract-level database, a nested sublevel's keys lie within its parent's range.
  assert.deepEqual(await users.keys().all(), ['!admins!bob', 'alice', 'bob']);
  assert.deepEqual(await users.keys({ gte: 'a' }).all(), ['alice', 'bob']);
  assert.deepEqual(await db.keys().all(), ['!counters!users', '!users!!admins!bob', '!users!alice', '!users!bob', 'plain']);

  const snapshot = users.snapshot();
  await users.del('alice');
  await users.put('carol', { name: 'Carol' });
  assert.deepEqual(await users.keys({ gte: 'a', snapshot }).all(), ['alice', 'bob']);
  assert.deepEqual(await users.get('alice', { snapshot }), { name: 'Alice' });
  assert.deepEqual(await users.keys({ gte: 'a' }).all(), ['bob', 'carol']);
  await snapshot.close();

  const it = users.iterator({ gt: 'a', reverse: true });
  assert.deepEqual(await it.next(), ['carol', { name: 'Carol' }]);
  it.seek('bz');
  assert.deepEqual(await it.next(), ['bob', { name: 'Bob', admin: true }]);
  assert.equal(await it.next(), undefined);
  await it.close();

  await users.clear({ gte: 'a' });
  assert.deepEqual(await users.keys().all(), ['!admins!bob']);
  assert.equal(await admins.get('bob'), 'since 2024', 'a clear above the nested prefix leaves the nested sublevel');
  assert.equal(await db.get('plain'), 'root value');
  await db.close();

  const again = new SiltLevel(location);
  assert.deepEqual(await again.keys().all(), ['!counters!users', '!users!!admins!bob', 'plain']);
  assert.equal(await again.sublevel('counters', { valueEncoding: 'json' }).get('users'), 2);
  await again.close();
});
