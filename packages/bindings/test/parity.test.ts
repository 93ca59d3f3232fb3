import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, acceleratorSelection, runSelfTest, tsAccelerator } from '../src/index.js';
import { enc, jsonLike, pack, randomBytes, rng } from './helpers.js';

describe(`selected accelerator (${accel.kind}) against the TypeScript reference`, () => {
  it('is the one the loader reports and passes the self-test', () => {
    assert.equal(accel.kind, acceleratorSelection().kind);
    const report = runSelfTest(accel);
    assert.deepEqual(report.failures, []);
    assert.equal(report.passed, true);
  });

  it('produces byte-identical LZ4, frames and blocks on varied inputs', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const next = rng(seed);
      const size = [0, 1, 12, 13, 64, 65, 1000, 70_000][seed % 8]!;
      const input = seed % 3 === 0 ? randomBytes(size, seed) : jsonLike(size, seed);
      assert.deepEqual(accel.lz4Compress(input), tsAccelerator.lz4Compress(input), `lz4 seed ${seed}`);
      assert.equal(accel.crc32c(input, seed), tsAccelerator.crc32c(input, seed), `crc seed ${seed}`);

      const count = 1 + (next() % 40);
      const keyList = Array.from({ length: count }, (_, i) =>
        enc.encode(`key/${seed}/${String(i * 7).padStart(5, '0')}`),
      );
      const valueList = Array.from({ length: count }, (_, i) =>
        i % 4 === 0 ? randomBytes(next() % 50, i + seed) : jsonLike(next() % 200, i + seed),
      );
      const keys = pack(keyList);
      const values = pack(valueList);
      for (const compress of [true, false]) {
        assert.deepEqual(
          accel.encodeFrame(keys, values, { compress }),
          tsAccelerator.encodeFrame(keys, values, { compress }),
          `frame seed ${seed} compress ${compress}`,
        );
      }
      const entries = { keys, values, tags: Uint8Array.from(keyList, (_, i) => (i * seed) & 0xff) };
      for (const restartInterval of [1, 4, 16]) {
        for (const compress of [true, false]) {
          assert.deepEqual(
            accel.encodeBlock(entries, { restartInterval, compress }),
            tsAccelerator.encodeBlock(entries, { restartInterval, compress }),
            `block seed ${seed} interval ${restartInterval} compress ${compress}`,
          );
        }
      }
      const shuffled = pack(Array.from({ length: 200 }, () => randomBytes(next() % 4, next())));
      assert.deepEqual(accel.sortKeys(shuffled), tsAccelerator.sortKeys(shuffled), `sort seed ${seed}`);
    }
  });
});
