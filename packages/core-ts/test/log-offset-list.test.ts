/**
 * OffsetList: a segment's record offsets, pushed one by one or stored in runs straight into the
 * array `room` hands out (as the writer frames a batch). Every mix of the two, growth and
 * truncations included, must give back the offsets that were stored.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IndexedLog, NodeVfs, bytesCodec } from '../src/log.js';
import { OffsetList } from '../src/log/offset-list.js';
import type { LogState } from '../src/log/log-state.js';
import { tempDir } from './helpers/log-fixtures.js';

describe('OffsetList', () => {
  test('runs stored through room(), single pushes and truncations give back the offsets stored', () => {
    let seed = 99;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const list = new OffsetList([20, 45]);
    const expected = [20, 45];
    let fileEnd = 70;
    for (let step = 0; step < 400; step++) {
      const action = next(10);
      if (action < 6) {
        // A run: room asked for more than is stored (the writer asks for as many as could fit).
        const stored = next(2) === 0 ? 64 + next(300) : next(64);
        const asked = stored + next(100);
        const array = list.room(asked);
        assert.ok(array.length >= list.length + asked, `step ${step}: room for ${asked}`);
        let at = list.length;
        for (let k = 0; k < stored; k++) {
          array[at++] = fileEnd;
          expected.push(fileEnd);
          fileEnd += 12 + next(300);
        }
        list.advance(stored);
      } else if (action < 8) {
        list.push(fileEnd);
        expected.push(fileEnd);
        fileEnd += 12 + next(50);
      } else if (action === 8 && expected.length > 0) {
        const keep = next(expected.length + 1);
        list.truncate(keep);
        if (keep < expected.length) fileEnd = expected[keep]!;
        expected.length = keep;
      } else if (expected.length > 0) {
        const position = next(expected.length);
        assert.equal(list.at(position), expected[position], `step ${step}, position ${position}`);
      }
      assert.equal(list.length, expected.length, `step ${step}`);
    }
    for (let i = 0; i < expected.length; i++) assert.equal(list.at(i), expected[i], `position ${i}`);
  });

  test('growing keeps every offset stored before, and truncating past the end keeps everything', () => {
    const list = new OffsetList();
    for (let i = 0; i < 1000; i++) list.push(i * 7);
    const array = list.room(100_000);
    array[list.length] = 123_456;
    list.advance(1);
    list.truncate(5000);
    assert.equal(list.length, 1001);
    for (let i = 0; i < 1000; i++) assert.equal(list.at(i), i * 7);
    assert.equal(list.at(1000), 123_456);
  });

  test('a growth given the expected final size goes towards it at once (at most 16-fold) and keeps every offset', () => {
    const list = new OffsetList();
    for (let i = 0; i < 100; i++) list.push(i * 3);
    assert.equal(list.room(0).length, 128);
    // Doubling alone would give 2048 (the first power-of-two multiple of 128 with room for 1100).
    const grown = list.room(1000, 1_000_000);
    assert.equal(grown.length, 16 * 2048, 'capped at 16 times the doubling it replaces');
    const again = list.room(10_000, 50_000);
    assert.equal(again, grown, 'no growth while there is room');
    const exact = new OffsetList([1, 2], 16).room(40, 100);
    assert.equal(exact.length, 100, 'the estimate when it is within reach');
    for (let i = 0; i < 100; i++) assert.equal(list.at(i), i * 3);
  });

  test('a segment filled by appendMany calls keeps room for its own records, not twice as many', async (t) => {
    // The writer asks the list for room for a whole call's records; at the end of a segment most
    // of them go to the next segment, and the list must not grow (doubling) for them.
    const log = await IndexedLog.open(tempDir(t), bytesCodec, { vfs: new NodeVfs(), durability: 'none', segmentBytes: 256 * 1024 });
    const payload = new Uint8Array(100).fill(7);
    const call = new Array<Uint8Array>(1000).fill(payload);
    for (let k = 0; k < 12; k++) await log.appendMany(call);
    const segments = (log as unknown as { state: LogState }).state.segments;
    assert.ok(segments.length >= 4, `${segments.length} segments`);
    // The first segment grows from nothing (towards its estimate); the later ones start at their predecessor's count.
    for (const segment of segments.slice(1, -1)) {
      const offsets = segment.offsets!;
      assert.equal(offsets.length, segment.count);
      assert.ok(offsets.capacity <= segment.count + 16, `segment at ${segment.start}: room for ${offsets.capacity} offsets, ${segment.count} records`);
    }
    await log.close();
  });

  test('growth given an estimate that is enough stops at the estimate', () => {
    const list = new OffsetList([], 16);
    for (let i = 0; i < 16; i++) list.push(i);
    assert.equal(list.room(1, 20).length, 20, 'not doubled to 32');
    assert.equal(list.room(10, 20).length, 40, 'an estimate short of what is needed: doubling');
  });
});
