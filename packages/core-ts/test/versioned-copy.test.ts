import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { copyFile, linkOrCopy } from '../src/db/link-or-copy.js';
import { FaultVfs } from '../src/vfs/index.js';
import { rejectsCode } from './db-helpers.js';

describe('link-or-copy (checkpoints and clones)', () => {
  test('links when it can, copies (fsynced) when the link fails, never clobbers an existing file', async () => {
    const vfs = new FaultVfs();
    await vfs.mkdir('/d', { recursive: true, durable: true });
    const file = await vfs.open('/d/a', { mode: 'create' });
    const data = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 7) & 0xff);
    await file.write(data, 0);
    await file.sync();
    await file.close();
    assert.equal(await linkOrCopy(vfs, '/d/a', '/d/linked'), true);
    vfs.inject({ kind: 'link', times: Infinity });
    assert.equal(await linkOrCopy(vfs, '/d/a', '/d/copied'), false);
    assert.deepEqual(vfs.durableContentOf('/d/copied'), data, 'the copy is synced');
    // The copies are separate files: changing one leaves the other.
    vfs.corrupt('/d/copied', 5);
    assert.deepEqual(vfs.contentOf('/d/a'), data);
    await rejectsCode(() => copyFile(vfs, '/d/a', '/d/linked'), 'IO_ERROR');
    assert.deepEqual(vfs.contentOf('/d/linked'), data, 'an existing target is left alone');
    vfs.inject({ kind: 'write', nth: 2 });
    await rejectsCode(() => copyFile(vfs, '/d/a', '/d/partial'), 'IO_ERROR');
    assert.equal(await vfs.exists('/d/partial'), false, 'a failed copy leaves nothing behind');
    assert.equal(vfs.openFiles, 0);
  });
});
