/**
 * The value-log debt ledger as manifest state: edits with ledger changes encode and decode, every
 * inconsistent change is refused (`INVALID_ARGUMENT` when made, `CORRUPTION` when replayed), and
 * the ledger survives reopen, manifest rewrites (snapshot edits) and power loss exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeEdit, encodeEdit, ManifestStore, VersionSet, type LedgerChange } from '../src/manifest/index.js';
import { FaultVfs, SeededRandom } from '../src/vfs/index.js';
import { table } from './manifest-fixtures.js';

const utf8 = new TextDecoder();

describe('ledger changes in version edits', () => {
  test('encode with short wire names, decode back; old edits carry none', () => {
    const valueLog: LedgerChange[] = [
      { segment: 3, lane: 0, created: 1_795_000_000_000, addTotal: 4000, length: 4460 },
      { segment: 9, addStale: 12, sealed: true, attempts: 2, cooldownUntil: 5 },
      { segment: 11, drop: true },
    ];
    const bytes = encodeEdit({ lastSeq: 4, valueLog });
    assert.equal(
      utf8.decode(bytes),
      '{"v":1,"lastSeq":4,"vlog":[{"seg":3,"lane":0,"created":1795000000000,"total":4000,"len":4460},{"seg":9,"stale":12,"sealed":true,"attempts":2,"cooldown":5},{"seg":11,"drop":true}]}',
    );
    assert.deepEqual(decodeEdit(bytes).valueLog, valueLog);
    assert.deepEqual(decodeEdit(new TextEncoder().encode('{"v":1,"lastSeq":4}')).valueLog, []);
  });

  test('malformed changes are refused', () => {
    const bad: unknown[] = [
      [{ segment: 0, lane: 0, created: 1 }],
      [{ segment: 1, lane: 256, created: 1 }],
      [{ segment: 1, lane: 0, created: 1 }, { segment: 1, addStale: 1 }],
      [{ segment: 1, addTotal: -1 }],
      [{ segment: 1, sealed: false }],
      [{ segment: 1, drop: true, addStale: 3 }],
      [{ segment: 1, colour: 'blue' }],
    ];
    for (const valueLog of bad) assert.throws(() => encodeEdit({ valueLog: valueLog as LedgerChange[] }), { code: 'INVALID_ARGUMENT' }, JSON.stringify(valueLog));
    for (const wire of ['{"v":1,"vlog":[{"seg":1,"lane":0,"created":1,"size":3}]}', '{"v":1,"vlog":{"seg":1}}', '{"v":1,"vlog":[{"seg":1,"drop":false}]}']) {
      assert.throws(() => decodeEdit(new TextEncoder().encode(wire)), { code: 'CORRUPTION' }, wire);
    }
  });

  test('applying: new segments need a lane, lanes never change, stale ≤ total, lengths never shrink, drops need zero live bytes', () => {
    const set = new VersionSet();
    assert.throws(() => set.apply({ valueLog: [{ segment: 1, addTotal: 5 }] }), { code: 'CORRUPTION' });
    set.apply({ valueLog: [{ segment: 1, lane: 2, created: 10, addTotal: 100, length: 500 }] });
    const fails: LedgerChange[][] = [
      [{ segment: 1, lane: 3 }],
      [{ segment: 1, addStale: 101 }],
      [{ segment: 1, length: 499 }],
      [{ segment: 1, drop: true }],
      [{ segment: 2, drop: true }],
    ];
    for (const valueLog of fails) {
      assert.throws(() => set.apply({ valueLog }), { code: 'CORRUPTION' }, JSON.stringify(valueLog));
      assert.equal(set.ledger.get(1)!.stale, 0, 'a refused edit changes nothing');
    }
    set.apply({ valueLog: [{ segment: 1, addTotal: 20, addStale: 30, lane: 2, created: 99, sealed: true, attempts: 1 }] });
    assert.deepEqual(set.ledger.get(1), { segment: 1, lane: 2, total: 120, stale: 30, length: 500, sealed: true, created: 10, attempts: 1, cooldownUntil: 0, retiredAt: 0 });
    set.apply({ valueLog: [{ segment: 1, addStale: 90 }] });
    set.apply({ valueLog: [{ segment: 1, drop: true }] });
    assert.equal(set.ledger.size, 0);
  });
});

describe('retired segments in the ledger', () => {
  test('the wire field "retired"; set once on a sealed segment; no total added after; snapshot edits keep it', () => {
    const bytes = encodeEdit({ valueLog: [{ segment: 4, retiredAt: 77 }] });
    assert.equal(utf8.decode(bytes), '{"v":1,"vlog":[{"seg":4,"retired":77}]}');
    assert.deepEqual(decodeEdit(bytes).valueLog, [{ segment: 4, retiredAt: 77 }]);
    assert.throws(() => encodeEdit({ valueLog: [{ segment: 4, retiredAt: 0 }] }), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => decodeEdit(new TextEncoder().encode('{"v":1,"vlog":[{"seg":4,"retired":-1}]}')), { code: 'CORRUPTION' });

    const set = new VersionSet();
    set.apply({ valueLog: [{ segment: 1, lane: 0, created: 1, addTotal: 100, length: 300 }] });
    assert.throws(() => set.apply({ valueLog: [{ segment: 1, retiredAt: 5 }] }), { code: 'CORRUPTION' }, 'an unsealed segment cannot retire');
    set.apply({ valueLog: [{ segment: 1, sealed: true, retiredAt: 5 }] });
    assert.equal(set.ledger.get(1)!.retiredAt, 5);
    set.apply({ valueLog: [{ segment: 1, retiredAt: 5 }] });
    const fails: LedgerChange[][] = [[{ segment: 1, retiredAt: 6 }], [{ segment: 1, addTotal: 1 }], [{ segment: 1, drop: true }], [{ segment: 2, retiredAt: 3 }]];
    for (const valueLog of fails) assert.throws(() => set.apply({ valueLog }), { code: 'CORRUPTION' }, JSON.stringify(valueLog));
    // Compactions still move its live bytes (the shadowed pointers they drop) to stale; then it drops.
    set.apply({ valueLog: [{ segment: 1, addStale: 60 }] });
    assert.deepEqual({ ...set.ledger.get(1)! }, { segment: 1, lane: 0, total: 100, stale: 60, length: 300, sealed: true, created: 1, attempts: 0, cooldownUntil: 0, retiredAt: 5 });
    const again = new VersionSet();
    again.apply(set.snapshotEdit());
    assert.deepEqual(again.ledger.get(1), set.ledger.get(1));
    set.apply({ valueLog: [{ segment: 1, addStale: 40 }] });
    set.apply({ valueLog: [{ segment: 1, drop: true }] });
    assert.equal(set.ledger.size, 0);
  });

  test('manifests written before retirement existed read as before (no segment retired)', () => {
    const old = decodeEdit(new TextEncoder().encode('{"v":1,"snapshot":true,"nextFile":3,"vlog":[{"seg":1,"lane":0,"created":5,"total":40,"stale":10,"len":90,"sealed":true}]}'));
    const set = new VersionSet();
    set.apply(old);
    assert.equal(set.ledger.get(1)!.retiredAt, 0);
    assert.equal(set.ledger.get(1)!.total - set.ledger.get(1)!.stale, 30);
  });
});

describe('the ledger in the manifest store', () => {
  test('random ledger histories survive reopen, rewrites and power loss exactly', async () => {
    const random = new SeededRandom(42);
    let vfs = new FaultVfs();
    let store = await ManifestStore.open('/db', { vfs, rewriteEdits: 7 });
    // The model: what the last acknowledged edit left.
    let model = new Map<number, { total: number; stale: number; retiredAt: number }>();
    let nextSegment = 1;
    let nextTable = 1;
    for (let step = 0; step < 300; step++) {
      const r = random.next();
      if (r < 0.05) {
        vfs = vfs.crash({ seed: step });
        await store.close().catch(() => {});
        store = await ManifestStore.open('/db', { vfs, rewriteEdits: 7 });
      } else if (r < 0.1) {
        await store.close();
        store = await ManifestStore.open('/db', { vfs, rewriteEdits: 7 });
      } else {
        const changes: LedgerChange[] = [];
        const next = new Map(model);
        if (random.next() < 0.4 || model.size === 0) {
          const segment = nextSegment++;
          const total = 1 + Math.floor(random.next() * 1000);
          changes.push({ segment, lane: Math.floor(random.next() * 3), created: step, addTotal: total, sealed: true });
          next.set(segment, { total, stale: 0, retiredAt: 0 });
        }
        for (const [segment, entry] of model) {
          if (entry.retiredAt === 0 && random.next() < 0.1) {
            // Retired: the entry stays, with its live bytes, until they are all stale.
            changes.push({ segment, retiredAt: step + 1 });
            next.set(segment, { ...entry, retiredAt: step + 1 });
          } else if (random.next() < 0.3) {
            const live = entry.total - entry.stale;
            if (live === 0) {
              changes.push({ segment, drop: true });
              next.delete(segment);
            } else {
              const stale = Math.min(live, 1 + Math.floor(random.next() * live));
              changes.push({ segment, addStale: stale });
              next.set(segment, { ...entry, stale: entry.stale + stale });
            }
          }
        }
        const fileNumber = nextTable++;
        store.versions.newFileNumber();
        await store.logAndApply({ added: [{ level: 0, table: table(fileNumber, fileNumber, fileNumber, fileNumber) }], valueLog: changes });
        model = next;
      }
      const actual = new Map([...store.versions.ledger].map(([segment, e]) => [segment, { total: e.total, stale: e.stale, retiredAt: e.retiredAt }]));
      assert.deepEqual(actual, model, `step ${step}`);
    }
    assert.ok(store.manifestNumber > 1, 'the manifest was rewritten along the way');
    assert.ok([...model.values()].some((e) => e.retiredAt > 0), 'some segment is retired at the end');
    await store.close();
  });
});
