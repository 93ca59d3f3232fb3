import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, tsAccelerator, type Accelerator } from '../src/index.js';
import { enc, pack, rng, throwsCode } from './helpers.js';

const TRAILER = 8;

/** User key ‖ 8-byte trailer: the inverted sequence number, big-endian (newer versions sort first). */
function internal(user: Uint8Array, seq: number): Uint8Array {
  const out = new Uint8Array(user.length + TRAILER);
  out.set(user);
  new DataView(out.buffer).setBigUint64(user.length, 2n ** 56n - 1n - BigInt(seq));
  return out;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Internal-key order: user part, then trailer. */
function compareInternal(a: Uint8Array, b: Uint8Array): number {
  return (
    compareBytes(a.subarray(0, a.length - TRAILER), b.subarray(0, b.length - TRAILER)) ||
    compareBytes(a.subarray(a.length - TRAILER), b.subarray(b.length - TRAILER))
  );
}

/** The payload of a block (checksum trailer removed) holding every version of every user key. */
function blockOf(accelerator: Accelerator, users: Uint8Array[], seqs: number[], restartInterval: number) {
  const keys: Uint8Array[] = [];
  const values: Uint8Array[] = [];
  for (const user of users) {
    for (const seq of seqs) {
      keys.push(internal(user, seq));
      values.push(enc.encode(`v-${Buffer.from(user).toString('hex')}-${seq}`));
    }
  }
  const tags = Uint8Array.from(keys, (_, i) => i % 3);
  const stored = accelerator.encodeBlock({ keys: pack(keys), values: pack(values), tags }, { restartInterval, compress: false });
  return { keys, values, tags, payload: new Uint8Array(stored.subarray(0, stored.length - 5)) };
}

/** The expected answer, by a linear scan. */
function expected(keys: Uint8Array[], target: Uint8Array): number {
  const i = keys.findIndex((key) => compareInternal(key, target) >= 0);
  if (i < 0) return -1;
  return compareBytes(keys[i]!.subarray(0, keys[i]!.length - TRAILER), target.subarray(0, target.length - TRAILER)) === 0 ? i : -1;
}

function readU32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset).getUint32(at, true);
}

const implementations: [string, Accelerator][] = [
  [`selected (${accel.kind})`, accel],
  ['ts', tsAccelerator],
];

for (const [name, accelerator] of implementations) {
  describe(`blockPointGet, ${name}`, () => {
    it('finds the newest version at or below the target seq, or reports none, at every restart interval', () => {
      const next = rng(17);
      const users = Array.from({ length: 70 }, (_, i) => enc.encode(`user/${String(i * 2).padStart(4, '0')}`));
      for (const restartInterval of [1, 3, 16]) {
        const { keys, values, tags, payload } = blockOf(accelerator, users, [9, 5, 2], restartInterval);
        const result = new Uint8Array(20);
        for (let probe = 0; probe < 500; probe++) {
          const user = enc.encode(`user/${String(next() % 144).padStart(4, '0')}`);
          const seq = next() % 12;
          const target = internal(user, seq);
          const want = expected(keys, target);
          const found = accelerator.blockPointGet(payload, target, result);
          assert.equal(found, want >= 0, `user ${Buffer.from(user).toString()} at ${seq}, interval ${restartInterval}`);
          if (want < 0) continue;
          assert.deepEqual(payload.subarray(readU32(result, 0), readU32(result, 4)), values[want]);
          assert.equal(result[8], tags[want]);
          assert.deepEqual(result.subarray(12, 20), keys[want]!.subarray(keys[want]!.length - TRAILER));
        }
        assert.equal(accelerator.blockPointGet(payload, internal(enc.encode('zzz'), 100), result), false, 'past the last key');
        assert.equal(accelerator.blockPointGet(payload, internal(enc.encode('a'), 100), result), false, 'before the first key');
      }
    });

    it('orders by the user key first: a key that is a prefix of another sorts before it', () => {
      const users = [enc.encode('ab'), Uint8Array.from([0x61, 0x62, 0x00]), enc.encode('abc')];
      const { values, payload } = blockOf(accelerator, users, [3], 16);
      const result = new Uint8Array(20);
      assert.equal(accelerator.blockPointGet(payload, internal(users[1]!, 7), result), true);
      assert.deepEqual(payload.subarray(readU32(result, 0), readU32(result, 4)), values[1]);
      assert.equal(accelerator.blockPointGet(payload, internal(users[0]!, 2), result), false, 'only seq 3 exists');
    });

    it('answers like the TypeScript twin for blocks either accelerator wrote', () => {
      const users = Array.from({ length: 40 }, (_, i) => enc.encode(`k${i * 3}`));
      for (const writer of [accel, tsAccelerator]) {
        const { payload } = blockOf(writer, users, [4, 1], 4);
        const mine = new Uint8Array(20);
        const twin = new Uint8Array(20);
        for (let i = 0; i < 130; i++) {
          const target = internal(enc.encode(`k${i}`), i % 6);
          assert.equal(accelerator.blockPointGet(payload, target, mine), tsAccelerator.blockPointGet(payload, target, twin));
          assert.deepEqual(mine, twin, `k${i}`);
          mine.fill(0);
          twin.fill(0);
        }
      }
    });

    it('reports a malformed payload as CORRUPTION, never as data or a crash', () => {
      const users = Array.from({ length: 30 }, (_, i) => enc.encode(`k${String(i).padStart(3, '0')}`));
      const { payload } = blockOf(accelerator, users, [4], 4);
      const target = internal(enc.encode('k020'), 10);
      const result = new Uint8Array(20);
      const next = rng(99);
      let corrupt = 0;
      for (let trial = 0; trial < 2000; trial++) {
        const bad = payload.slice(0, trial % 3 === 1 ? next() % payload.length : payload.length);
        if (trial % 3 !== 1) bad[next() % bad.length] = trial % 3 === 0 ? bad[next() % bad.length]! ^ (1 << next() % 8) : 0xff;
        try {
          if (accelerator.blockPointGet(bad, target, result)) assert.ok(readU32(result, 4) <= bad.length);
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'CORRUPTION', String(error));
          corrupt++;
        }
      }
      assert.ok(corrupt > 100, `${corrupt} of 2000 damaged payloads were reported as CORRUPTION`);
      // A restart array that points past the entries, and a restart count larger than the payload.
      const pastEntries = payload.slice();
      const view = new DataView(pastEntries.buffer);
      const restarts = view.getUint32(pastEntries.length - 4, true);
      for (let r = 0; r < restarts; r++) view.setUint32(pastEntries.length - 4 - 4 * (restarts - r), pastEntries.length, true);
      throwsCode(() => accelerator.blockPointGet(pastEntries, target, result), 'CORRUPTION');
      const tooMany = payload.slice();
      new DataView(tooMany.buffer).setUint32(tooMany.length - 4, tooMany.length, true);
      throwsCode(() => accelerator.blockPointGet(tooMany, target, result), 'CORRUPTION');
      throwsCode(() => accelerator.blockPointGet(new Uint8Array(0), target, result), 'CORRUPTION');
      throwsCode(() => accelerator.blockPointGet(payload, enc.encode('short'), result), 'INVALID_ARGUMENT');
      throwsCode(() => accelerator.blockPointGet(payload, target, new Uint8Array(19)), 'INVALID_ARGUMENT');
    });
  });
}
