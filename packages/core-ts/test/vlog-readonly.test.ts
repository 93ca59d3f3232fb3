/**
 * A read-only open beside a writer whose GC deletes value-log segments: the reader holds every
 * segment its manifest records from open on, so it keeps reading its version's values after the
 * writer unlinked the files; a recorded segment missing at open is retried and, if it stays
 * missing, reported as CORRUPTION.
 */
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { open } from '../src/index.js';
import { parseSegmentFileName, VLOG_DIR } from '../src/vlog/index.js';
import { noiseHex, strings, tempDir } from './db-helpers.js';

function valueOf(tag: string, i: number): string {
  return `${tag}:${i}:${noiseHex((i * 2654435761 + tag.length * 97) >>> 0 || 7, 10)}`;
}

const options = { valueThreshold: 16, valueLogSegmentBytes: 4096, memtableBytes: 16 * 1024, disableAutoCompaction: true } as const;

function segmentFiles(dir: string): string[] {
  return readdirSync(join(dir, VLOG_DIR)).filter((name) => parseSegmentFileName(name) !== null);
}

describe('read-only opens and value-log GC', () => {
  test("a reader keeps reading its version's values after the writer's GC deleted their segments", async (t) => {
    const dir = tempDir(t);
    const writer = await open(dir, options);
    const before = new Map<string, string>();
    for (let i = 0; i < 120; i++) {
      const key = `k${String(i).padStart(3, '0')}`;
      await writer.put(key, valueOf('old', i));
      before.set(key, valueOf('old', i));
    }
    await writer.flush();
    const filesBefore = segmentFiles(dir);
    const reader = await open(dir, { readOnly: true });

    // Every old value is overwritten; the floor pass compacts, and GC deletes the old segments.
    const deleted: number[] = [];
    writer.on('segment-deleted', (event) => void deleted.push(event.segment));
    for (const key of before.keys()) await writer.put(key, valueOf('new', Number(key.slice(1))));
    await writer.maintain({ mode: 'full' });
    const gone = filesBefore.filter((name) => !segmentFiles(dir).includes(name));
    assert.ok(gone.length > 0 && deleted.length >= gone.length, `the writer deleted old segments (${gone.length} files, ${deleted.length} events)`);

    // The reader never read a value before the deletion: it still reads them all.
    for (const [key, value] of before) assert.equal(Buffer.from(reader.getSync(key)!).toString(), value);
    assert.deepEqual(new Map(strings(reader.iterator())), before);
    assert.ok(reader.verifyLedger({ readValues: true }).ok);
    await reader.close();
    await writer.close();
  });

  test('a segment the manifest records but the directory lacks: the open retries, then CORRUPTION', async (t) => {
    const dir = tempDir(t);
    const db = await open(dir, options);
    for (let i = 0; i < 40; i++) await db.put(`k${i}`, valueOf('v', i));
    await db.close();
    const victim = segmentFiles(dir)[0]!;
    rmSync(join(dir, VLOG_DIR, victim));
    await assert.rejects(open(dir, { readOnly: true }), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CORRUPTION');
      assert.match(error.message, new RegExp(`segment ${parseSegmentFileName(victim)!.segment}\\b.*missing`));
      return true;
    });
  });
});
