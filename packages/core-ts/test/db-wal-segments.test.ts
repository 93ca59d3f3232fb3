/**
 * The database's WAL rolls its segments at `WAL_SEGMENT_BYTES` (16 MiB, not the log's 64 MiB
 * default): the WAL is truncated only in whole segments, so the segment size bounds the disk it
 * holds between flushes. What was written across its segments is there after a reopen.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { open } from '../src/index.js';
import { WAL_DIR } from '../src/db/files.js';
import { WAL_SEGMENT_BYTES } from '../src/db/open.js';
import { tempDir } from './db-helpers.js';

const VALUE_BYTES = 64 * 1024;
const BATCHES = 48;
const PER_BATCH = 16;

test('the WAL rolls at WAL_SEGMENT_BYTES; the data is there after a reopen', async (t) => {
  const dir = tempDir(t);
  // Inline values, a memtable that never fills: 48 MiB of batches stay in the WAL.
  const db = await open(dir, { durability: 'relaxed', valueThreshold: Infinity, memtableBytes: 256 * 1024 * 1024, disableAutoCompaction: true });
  const value = (batch: number, i: number): Uint8Array => new Uint8Array(VALUE_BYTES).fill((batch * PER_BATCH + i) % 251);
  const key = (batch: number, i: number): string => `k${String(batch * PER_BATCH + i).padStart(6, '0')}`;
  for (let batch = 0; batch < BATCHES; batch++) {
    const ops = [];
    for (let i = 0; i < PER_BATCH; i++) ops.push({ type: 'put' as const, key: key(batch, i), value: value(batch, i) });
    await db.batch(ops);
  }
  await db.sync();
  const sizes = readdirSync(join(dir, WAL_DIR))
    .filter((name) => name.endsWith('.seg'))
    .map((name) => statSync(join(dir, WAL_DIR, name)).size);
  const total = sizes.reduce((sum, size) => sum + size, 0);
  assert.ok(total >= BATCHES * PER_BATCH * VALUE_BYTES, `the WAL holds every batch (${total} bytes)`);
  assert.ok(sizes.length >= Math.floor(total / WAL_SEGMENT_BYTES), `${sizes.length} segments for ${total} bytes`);
  // 48 MiB of batches: at 16 MiB a segment that is at least three files (one, at the log's 64 MiB).
  assert.ok(WAL_SEGMENT_BYTES <= 16 * 1024 * 1024 && sizes.length >= 3, `${sizes.length} segments`);
  // A segment ends once the next batch would pass the limit (one batch is 1 MiB here).
  for (const size of sizes) assert.ok(size <= WAL_SEGMENT_BYTES, `segment of ${size} bytes`);
  await db.close();

  const again = await open(dir, { durability: 'relaxed', valueThreshold: Infinity });
  t.after(() => again.close());
  for (const [batch, i] of [[0, 0], [BATCHES / 2, 3], [BATCHES - 1, PER_BATCH - 1]] as const) {
    assert.deepEqual(again.getSync(key(batch, i)), value(batch, i));
  }
});
