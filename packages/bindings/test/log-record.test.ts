/**
 * `sealLogRecords`: the headers of indexed-log records (docs/FORMAT.md §4) filled in for a whole
 * batch in one call. The selected accelerator and the TypeScript twin must write identical bytes,
 * match a record framed by hand from the format's definition, and refuse malformed spans with
 * INVALID_ARGUMENT without touching the buffer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, tsAccelerator, type Accelerator } from '../src/index.js';
import { enc, randomBytes, referenceCrc32c, rng, throwsCode } from './helpers.js';

/** A buffer of `lead` filler bytes, then each payload behind 12 bytes of filler; and the spans. */
function layout(payloads: readonly Uint8Array[], lead: number): { buffer: Buffer; spans: Uint32Array } {
  const total = lead + payloads.reduce((sum, payload) => sum + 12 + payload.length, 0);
  const buffer = Buffer.alloc(total, 0x5a);
  const spans = new Uint32Array(2 * payloads.length);
  let at = lead;
  payloads.forEach((payload, k) => {
    at += 12;
    buffer.set(payload, at);
    spans[2 * k] = at;
    at += payload.length;
    spans[2 * k + 1] = at;
  });
  return { buffer, spans };
}

/** The records framed one by one from the definition: u32 N ‖ u32 ~N ‖ u32 CRC32C ‖ payload. */
function framedByHand(payloads: readonly Uint8Array[]): Buffer {
  return Buffer.concat(
    payloads.flatMap((payload) => {
      const header = Buffer.alloc(12);
      header.writeUInt32LE(payload.length, 0);
      header.writeUInt32LE(~payload.length >>> 0, 4);
      header.writeUInt32LE(referenceCrc32c(payload), 8);
      return [header, Buffer.from(payload)];
    }),
  );
}

const implementations: readonly Accelerator[] = accel.kind === 'ts' ? [tsAccelerator] : [accel, tsAccelerator];

describe('sealLogRecords', () => {
  for (const impl of implementations) {
    it(`${impl.kind}: fills every header of a batch, and nothing else`, () => {
      for (let seed = 1; seed <= 60; seed++) {
        const next = rng(seed);
        const payloads = Array.from({ length: next() % 50 }, (_, i) => randomBytes(next() % (seed % 5 === 0 ? 5000 : 300), seed * 100 + i));
        const lead = next() % 40;
        const { buffer, spans } = layout(payloads, lead);
        impl.sealLogRecords(buffer, spans);
        assert.deepEqual(buffer.subarray(0, lead), Buffer.alloc(lead, 0x5a), `seed ${seed}: bytes before the first header`);
        assert.deepEqual(buffer.subarray(lead), framedByHand(payloads), `seed ${seed}`);
      }
    });

    it(`${impl.kind}: the check value, and a plain Uint8Array`, () => {
      const buffer = new Uint8Array(21);
      buffer.set(enc.encode('123456789'), 12);
      impl.sealLogRecords(buffer, Uint32Array.of(12, 21));
      assert.deepEqual([...buffer.subarray(0, 12)], [9, 0, 0, 0, 0xf6, 0xff, 0xff, 0xff, 0x83, 0x92, 0x06, 0xe3]);
      impl.sealLogRecords(new Uint8Array(0), new Uint32Array(0));
    });

    it(`${impl.kind}: malformed spans are INVALID_ARGUMENT and change nothing`, () => {
      const original = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
      const cases = [[12], [11, 20], [12, 65], [20, 12], [12, 20, 31, 40], [30, 40, 12, 20]];
      for (const spans of cases) {
        const buffer = Buffer.from(original);
        throwsCode(() => impl.sealLogRecords(buffer, Uint32Array.from(spans)), 'INVALID_ARGUMENT', JSON.stringify(spans));
        assert.deepEqual(buffer, original, JSON.stringify(spans));
      }
      for (const [buffer, spans] of [
        ['text', new Uint32Array(0)],
        [new Uint8Array(4), [0, 0]],
        [new Uint8Array(4), new Int32Array(0)],
      ] as const) {
        throwsCode(() => impl.sealLogRecords(buffer as never, spans as never), 'INVALID_ARGUMENT');
      }
    });
  }

  it('the selected accelerator and the TypeScript twin write the same bytes', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const next = rng(seed + 1000);
      const payloads = Array.from({ length: 1 + (next() % 200) }, (_, i) => randomBytes(next() % 150, seed * 1000 + i));
      const a = layout(payloads, seed % 7);
      const b = layout(payloads, seed % 7);
      accel.sealLogRecords(a.buffer, a.spans);
      tsAccelerator.sealLogRecords(b.buffer, b.spans);
      assert.deepEqual(a.buffer, b.buffer, `seed ${seed}`);
    }
  });
});
