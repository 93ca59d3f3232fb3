import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_KEY_BYTES,
  MAX_SEQ,
  compareInternalKeys,
  encodeInternalKey,
  seqOf,
  toUserKey,
  toValue,
  userKeyOf,
} from '../src/keys/internal-key.js';

const k = (s: string) => new TextEncoder().encode(s);

test('trailers round-trip sequence numbers across the whole range', () => {
  for (const seq of [1, 2, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, MAX_SEQ]) {
    const ik = encodeInternalKey(k('key'), seq);
    assert.equal(seqOf(ik), seq);
    assert.deepEqual(userKeyOf(ik), k('key'));
  }
});

test('internal keys order by user key, then newest first', () => {
  const keys = [
    encodeInternalKey(k('ab'), 5),
    encodeInternalKey(k('a'), 1),
    encodeInternalKey(k('a'), 2 ** 33),
    encodeInternalKey(k(''), 7),
    encodeInternalKey(k('a'), 3),
  ];
  const sorted = [...keys].sort(compareInternalKeys).map((ik) => `${new TextDecoder().decode(userKeyOf(ik))}@${seqOf(ik)}`);
  assert.deepEqual(sorted, ['@7', `a@${2 ** 33}`, 'a@3', 'a@1', 'ab@5']);
  // Plain byte order gets "a" vs "ab" wrong (the trailer of "a"@1 starts 0x00 0x1f…, above 'b'
  // only after the 0x00): the comparator must not be replaced by Buffer.compare.
  assert.ok(Buffer.compare(encodeInternalKey(k('a'), 1), encodeInternalKey(k('a\u0000'), 1)) > 0);
  assert.ok(compareInternalKeys(encodeInternalKey(k('a'), 1), encodeInternalKey(k('a\u0000'), 1)) < 0);
});

test('user keys and values are validated synchronously', () => {
  assert.deepEqual(toUserKey('é'), Uint8Array.of(0xc3, 0xa9));
  assert.equal(toUserKey(new Uint8Array(MAX_KEY_BYTES)).length, MAX_KEY_BYTES);
  for (const bad of [null, undefined, 5, {}, [1]]) assert.throws(() => toUserKey(bad), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => toUserKey(new Uint8Array(MAX_KEY_BYTES + 1)), { code: 'INVALID_ARGUMENT' });
  assert.deepEqual(toValue(''), new Uint8Array(0));
  assert.throws(() => toValue(null), { code: 'INVALID_ARGUMENT' });
});
