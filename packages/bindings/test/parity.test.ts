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

describe(`cross-reading between ${accel.kind} and the TypeScript implementation`, () => {
  const inputs = [new Uint8Array(0), enc.encode('x'), randomBytes(5000, 9), jsonLike(200_000, 4)];

  it('each decompresses the LZ4 output of the other', () => {
    for (const input of inputs) {
      assert.deepEqual(accel.lz4Decompress(tsAccelerator.lz4Compress(input)), Buffer.from(input));
      assert.deepEqual(tsAccelerator.lz4Decompress(accel.lz4Compress(input)), Buffer.from(input));
    }
  });

  it('each decodes the frames and blocks of the other', () => {
    const keys = pack(Array.from({ length: 50 }, (_, i) => enc.encode(`k${String(i).padStart(4, '0')}`)));
    const values = pack(Array.from({ length: 50 }, (_, i) => jsonLike(i * 13, i)));
    const tags = Uint8Array.from({ length: 50 }, (_, i) => i % 3);
    for (const [writer, reader] of [
      [accel, tsAccelerator],
      [tsAccelerator, accel],
    ] as const) {
      const frame = writer.encodeFrame(keys, values);
      const decoded = reader.decodeFrame(frame);
      assert.deepEqual(Buffer.from(decoded.keys.data), Buffer.from(keys.data));
      assert.deepEqual(Buffer.from(decoded.values.data), Buffer.from(values.data));
      assert.equal(decoded.byteLength, frame.length);
      const block = writer.encodeBlock({ keys, values, tags }, { compress: true });
      const entries = reader.decodeBlock(block);
      assert.deepEqual(Buffer.from(entries.keys.data), Buffer.from(keys.data));
      assert.deepEqual(Buffer.from(entries.values.data), Buffer.from(values.data));
      assert.deepEqual(Buffer.from(entries.tags), Buffer.from(tags));
    }
  });

  it('both reject the same damaged bytes with the same code', () => {
    const keys = pack([enc.encode('alpha'), enc.encode('beta')]);
    const values = pack([jsonLike(300, 1), jsonLike(300, 2)]);
    const samples = [
      tsAccelerator.encodeFrame(keys, values),
      tsAccelerator.encodeBlock({ keys, values, tags: Uint8Array.of(0, 2) }),
      tsAccelerator.lz4Compress(jsonLike(1000, 3)),
    ];
    const decoders = [
      (a: typeof accel, b: Uint8Array) => a.decodeFrame(b),
      (a: typeof accel, b: Uint8Array) => a.decodeBlock(b),
      (a: typeof accel, b: Uint8Array) => a.lz4Decompress(b),
    ];
    const codeOf = (fn: () => unknown): string => {
      try {
        fn();
        return 'ok';
      } catch (error) {
        return String((error as { code?: unknown }).code);
      }
    };
    const next = rng(77);
    samples.forEach((sample, kind) => {
      for (let trial = 0; trial < 200; trial++) {
        const damaged = Buffer.from(sample);
        if (trial % 2 === 0) damaged[next() % damaged.length]! ^= 1 << (next() % 8);
        const bytes = trial % 2 === 0 ? damaged : damaged.subarray(0, next() % damaged.length);
        const decode = decoders[kind]!;
        const ours = codeOf(() => decode(accel, bytes));
        assert.equal(ours, codeOf(() => decode(tsAccelerator, bytes)), `sample ${kind} trial ${trial}`);
        if (kind < 2) assert.equal(ours, 'CORRUPTION', `checksummed sample ${kind} trial ${trial}`);
      }
    });
  });
});
