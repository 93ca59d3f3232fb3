import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, tsAccelerator, type Accelerator } from '../src/index.js';
import { enc, pack, randomBytes, rng, throwsCode } from './helpers.js';

/**
 * The official BLAKE3 test vectors (test_vectors.json of the BLAKE3 repository): input byte i is
 * i % 251; `hash` is 131 bytes of extendable output, whose first 32 bytes are the plain hash.
 */
const BLAKE3_VECTORS: ReadonlyArray<readonly [number, string]> = [
  [0, 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262e00f03e7b69af26b7faaf09fcd333050338ddfe085b8cc869ca98b206c08243a26f5487789e8f660afe6c99ef9e0c52b92e7393024a80459cf91f476f9ffdbda7001c22e159b402631f277ca96f2defdf1078282314e763699a31c5363165421cce14d'],
  [1, '2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213c3a6cb8bf623e20cdb535f8d1a5ffb86342d9c0b64aca3bce1d31f60adfa137b358ad4d79f97b47c3d5e79f179df87a3b9776ef8325f8329886ba42f07fb138bb502f4081cbcec3195c5871e6c23e2cc97d3c69a613eba131e5f1351f3f1da786545e5'],
  [1023, '10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11a182d27a591b05592b15607500e1e8dd56bc6c7fc063715b7a1d737df5bad3339c56778957d870eb9717b57ea3d9fb68d1b55127bba6a906a4a24bbd5acb2d123a37b28f9e9a81bbaae360d58f85e5fc9d75f7c370a0cc09b6522d9c8d822f2f28f485'],
  [1024, '42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af71cf8107265ecdaf8505b95d8fcec83a98a6a96ea5109d2c179c47a387ffbb404756f6eeae7883b446b70ebb144527c2075ab8ab204c0086bb22b7c93d465efc57f8d917f0b385c6df265e77003b85102967486ed57db5c5ca170ba441427ed9afa684e'],
  [1025, 'd00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444f4c4a22b4b399155358a994e52bf255de60035742ec71bd08ac275a1b51cc6bfe332b0ef84b409108cda080e6269ed4b3e2c3f7d722aa4cdc98d16deb554e5627be8f955c98e1d5f9565a9194cad0c4285f93700062d9595adb992ae68ff12800ab67a'],
  [2048, 'e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a9a60bf80001410ec9eea6698cd537939fad4749edd484cb541aced55cd9bf54764d063f23f6f1e32e12958ba5cfeb1bf618ad094266d4fc3c968c2088f677454c288c67ba0dba337b9d91c7e1ba586dc9a5bc2d5e90c14f53a8863ac75655461cea8f9'],
  [2049, '5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b687952256303096de31d71d74103403822a2e0bc1eb193e7aecc9643a76b7bbc0c9f9c52e8783aae98764ca468962b5c2ec92f0c74eb5448d519713e09413719431c802f948dd5d90425a4ecdadece9eb178d80f26efccae630734dff63340285adec2aed3b51073ad3'],
  [3072, 'b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd29a3f6b0b978d6608335c09dc94ccf682f9951cdfc501bfe47b9c9189a6fc7b404d120258506341a6d802857322fbd20d3e5dae05b95c88793fa83db1cb08e7d8008d1599b6209d78336e24839724c191b2a52a80448306e0daa84a3fdb566661a37e11'],
  [4097, '9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb99505f91b0b5600a11251652eacfa9497b31cd3c409ce2e45cfe6c0a016967316c426bd26f619eab5d70af9a418b845c608840390f361630bd497b1ab44019316357c61dbe091ce72fc16dc340ac3d6e009e050b3adac4b5b2c92e722cffdc46501531956'],
  [7169, 'a003fc7a51754a9b3c7fae0367ab3d782dccf28855a03d435f8cfe74605e781798a8b20534be1ca9eb2ae2df3fae2ea60e48c6fb0b850b1385b5de0fe460dbe9d9f9b0d8db4435da75c601156df9d047f4ede008732eb17adc05d96180f8a73548522840779e6062d643b79478a6e8dbce68927f36ebf676ffa7d72d5f68f050b119c8'],
];

function vectorInput(length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => i % 251);
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const ZERO = new Uint8Array(2048);

function stateOf(impl: Accelerator, pairs: ReadonlyArray<readonly [string, string]>, from: Uint8Array = ZERO, subtract = false): Buffer {
  return impl.ltHashMix(from, pack(pairs.map((p) => p[0])), pack(pairs.map((p) => p[1])), subtract);
}

function rootOf(impl: Accelerator, lanes: Uint8Array): string {
  return hex(impl.blake3(lanes));
}

/** Lane-wise sum of two states mod 2^16: combining two partial hashes. */
function combine(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(2048);
  for (let i = 0; i < 2048; i += 2) {
    const sum = (a[i]! | (a[i + 1]! << 8)) + (b[i]! | (b[i + 1]! << 8));
    out[i] = sum & 0xff;
    out[i + 1] = (sum >>> 8) & 0xff;
  }
  return out;
}

for (const impl of [tsAccelerator, accel]) {
  describe(`BLAKE3 and LtHash (${impl === tsAccelerator ? 'ts' : `selected: ${accel.kind}`})`, () => {
    it('matches the official BLAKE3 vectors, plain hash and extendable output', () => {
      for (const [length, expected] of BLAKE3_VECTORS) {
        const input = vectorInput(length);
        assert.equal(hex(impl.blake3(input)), expected.slice(0, 64), `hash of ${length} bytes`);
        assert.equal(hex(impl.blake3(input, 131)), expected, `131-byte output of ${length} bytes`);
        assert.equal(hex(impl.blake3(input, 7)), expected.slice(0, 14), `7-byte output of ${length} bytes`);
        assert.equal(impl.blake3(input, 0).length, 0);
      }
    });

    it('matches the reference vectors of shared/reference/seidb.md §4', () => {
      assert.equal(rootOf(impl, ZERO), 'be2a8de3dcf46c94ce85cdc8e07ac308f4d8a95490d956c38d780fd610db0813');
      const one = stateOf(impl, [['key', 'value']]);
      assert.equal(rootOf(impl, one), 'b3437b8894c2310230f8da14288ce6d64339735ceb01c2cf98130670288f9ae6');
      const lanes = [0, 1, 2, 3].map((i) => one.readUInt16LE(i * 2).toString(16));
      assert.deepEqual(lanes, ['a6c8', 'cd87', 'd9f3', 'e759']);
      assert.equal(rootOf(impl, stateOf(impl, [['a', 'bc']])), '2d311093fdb0d07e9a635c38d0316ec59378d65f4cfb9228c67b8588e284c84e');
      assert.equal(rootOf(impl, stateOf(impl, [['ab', 'c']])), '76c389a3528fd544ff1968c7d9c7808e3d8752ad017ffcb788141b32151e0788');
      assert.equal(
        rootOf(impl, stateOf(impl, [['k1', 'v1'], ['k2', 'v2']])),
        '9f099db34f9bb64815ad9377bd62891fd035d5ee3498a7b99d4e055ea178ea08',
      );
      const direct = stateOf(impl, [['key1', 'value2']]);
      assert.equal(rootOf(impl, direct), '0089dedcb084cf9fa6b185aa14522b22d593414cacefac7d6ca29258f09e2f09');
      // The update path: value1 mixed out, value2 mixed in.
      const removed = stateOf(impl, [['key1', 'value1']], stateOf(impl, [['key1', 'value1']]), true);
      const viaUpdate = stateOf(impl, [['key1', 'value2']], removed);
      assert.equal(rootOf(impl, viaUpdate), rootOf(impl, direct));
    });

    it('is order independent; insert then delete is the empty hash; a|bc differs from ab|c', () => {
      const pairs: Array<[string, string]> = Array.from({ length: 30 }, (_, i) => [`key-${i}`, `value-${i * 7}`]);
      const forward = stateOf(impl, pairs);
      const shuffled = [...pairs];
      const next = rng(5);
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = next() % (i + 1);
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      assert.deepEqual(stateOf(impl, shuffled), forward);
      assert.deepEqual(stateOf(impl, shuffled, forward, true), Buffer.from(ZERO));
      assert.notEqual(rootOf(impl, stateOf(impl, [['a', 'bc']])), rootOf(impl, stateOf(impl, [['ab', 'c']])));
    });

    it('parallel (split, hash each part, combine) equals serial', () => {
      const keys = Array.from({ length: 64 }, (_, i) => randomBytes(1 + (i % 40), i + 1));
      const values = Array.from({ length: 64 }, (_, i) => randomBytes(1 + ((i * 37) % 3000), i + 100));
      const serial = impl.ltHashMix(ZERO, pack(keys), pack(values));
      const left = impl.ltHashMix(ZERO, pack(keys.slice(0, 20)), pack(values.slice(0, 20)));
      const right = impl.ltHashMix(ZERO, pack(keys.slice(20)), pack(values.slice(20)));
      assert.deepEqual(Buffer.from(combine(left, right)), serial);
    });

    it('treats an empty key or value as no element and leaves its input alone', () => {
      const lanes = stateOf(impl, [['x', 'y']]);
      const before = Buffer.from(lanes);
      assert.deepEqual(stateOf(impl, [['', 'value'], ['key', '']], lanes), before);
      assert.deepEqual(lanes, before);
    });

    it('rejects malformed input with INVALID_ARGUMENT', () => {
      throwsCode(() => impl.ltHashMix(new Uint8Array(10), pack(['k']), pack(['v'])), 'INVALID_ARGUMENT');
      throwsCode(() => impl.ltHashMix(ZERO, pack(['k', 'j']), pack(['v'])), 'INVALID_ARGUMENT');
      throwsCode(() => impl.ltHashMix(ZERO, { data: enc.encode('k'), offsets: Uint32Array.of(0, 5) }, pack(['v'])), 'INVALID_ARGUMENT');
      throwsCode(() => impl.blake3(enc.encode('x'), -1), 'INVALID_ARGUMENT');
      throwsCode(() => impl.blake3(enc.encode('x'), 1.5), 'INVALID_ARGUMENT');
      throwsCode(() => impl.blake3('x' as unknown as Uint8Array), 'INVALID_ARGUMENT');
    });
  });
}

describe('native and TypeScript LtHash agree', () => {
  it('agree on a change set large enough for the native threads (1,000 pairs in one call)', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => randomBytes(1 + (i % 33), 50_000 + i));
    const values = Array.from({ length: 1000 }, (_, i) => randomBytes(1 + ((i * 53) % 700), 60_000 + i));
    const start = randomBytes(2048, 77);
    for (const subtract of [false, true]) {
      const whole = accel.ltHashMix(start, pack(keys), pack(values), subtract);
      assert.deepEqual(whole, tsAccelerator.ltHashMix(start, pack(keys), pack(values), subtract), `subtract ${subtract}`);
      // Pair by pair (the serial path) gives the same state.
      let serial: Uint8Array = start;
      for (let i = 0; i < keys.length; i += 100) serial = accel.ltHashMix(serial, pack(keys.slice(i, i + 100)), pack(values.slice(i, i + 100)), subtract);
      assert.deepEqual(Buffer.from(serial), whole);
    }
  });

  it('gives identical states and roots on varied change sets', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const next = rng(seed);
      const count = 1 + (next() % 50);
      const keys = Array.from({ length: count }, (_, i) => randomBytes(next() % 70, seed * 1000 + i));
      const values = Array.from({ length: count }, (_, i) => randomBytes(next() % 2500, seed * 2000 + i));
      const start = randomBytes(2048, seed);
      for (const subtract of [false, true]) {
        const a = accel.ltHashMix(start, pack(keys), pack(values), subtract);
        const b = tsAccelerator.ltHashMix(start, pack(keys), pack(values), subtract);
        assert.deepEqual(a, b, `seed ${seed} subtract ${subtract}`);
        assert.deepEqual(accel.blake3(a, 300), tsAccelerator.blake3(b, 300));
      }
    }
  });
});
