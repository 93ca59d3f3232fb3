import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveOptions } from '../src/db/options.js';

const MiB = 1024 * 1024;

test('the block cache defaults to 32 MiB and the memtable to 64 MiB', () => {
  const resolved = resolveOptions({});
  assert.equal(resolved.blockCacheBytes, 32 * MiB);
  assert.equal(resolved.memtableBytes, 64 * MiB);
});

test('an explicit block cache budget is kept, 0 included, and a negative one is INVALID_ARGUMENT', () => {
  assert.equal(resolveOptions({ blockCacheBytes: 64 * MiB }).blockCacheBytes, 64 * MiB);
  assert.equal(resolveOptions({ blockCacheBytes: 0 }).blockCacheBytes, 0);
  assert.throws(() => resolveOptions({ blockCacheBytes: -1 }), (e: { code?: string }) => e.code === 'INVALID_ARGUMENT');
});
