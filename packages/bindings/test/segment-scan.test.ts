import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { accel, tsAccelerator, type Accelerator, type SegmentScan } from '../src/index.js';
import { enc, jsonLike, pack, randomBytes, rng, throwsCode } from './helpers.js';

interface Listed {
  frameOffset: number;
  frameLength: number;
  subIndex: number;
  key: Buffer;
  value: Buffer;
}

function listed(scan: SegmentScan): Listed[] {
  const out: Listed[] = [];
  for (let r = 0; r < scan.records.length; r += 5) {
    const [frame, subIndex, keyStart, valueStart, valueEnd] = scan.records.subarray(r, r + 5) as unknown as number[];
    out.push({
      frameOffset: scan.frames[2 * frame!]!,
      frameLength: scan.frames[2 * frame! + 1]!,
      subIndex: subIndex!,
      key: Buffer.from(scan.data.subarray(keyStart!, valueStart!)),
      value: Buffer.from(scan.data.subarray(valueStart!, valueEnd!)),
    });
  }
  return out;
}

interface Written {
  bytes: Buffer;
  /** Per frame: offset (from 0 of `bytes`), length, its records. */
  frames: { offset: number; length: number; keys: Uint8Array[]; values: Uint8Array[] }[];
}

/** Frames back to back, encoded by `writer`: random, compressible and empty values, 1–40 records. */
function segmentBytes(writer: Accelerator, seed: number, frameCount: number, compress = true): Written {
  const next = rng(seed);
  const parts: Buffer[] = [];
  const frames: Written['frames'] = [];
  let at = 0;
  for (let f = 0; f < frameCount; f++) {
    const count = 1 + (next() % 40);
    const keys = Array.from({ length: count }, (_, i) => enc.encode(`k/${seed}/${f}/${i}`));
    const values = Array.from({ length: count }, (_, i) => {
      const kind = (f + i) % 3;
      return kind === 0 ? randomBytes(next() % 300, seed * 1000 + f * 50 + i) : kind === 1 ? jsonLike(next() % 400, i + 1) : new Uint8Array(0);
    });
    const frame = writer.encodeFrame(pack(keys), pack(values), { compress: compress && f % 2 === 0 });
    parts.push(frame);
    frames.push({ offset: at, length: frame.length, keys, values });
    at += frame.length;
  }
  return { bytes: Buffer.concat(parts), frames };
}

function expected(written: Written, base: number, upTo = written.frames.length): Listed[] {
  return written.frames.slice(0, upTo).flatMap((frame) =>
    frame.keys.map((key, i) => ({
      frameOffset: base + frame.offset,
      frameLength: frame.length,
      subIndex: i,
      key: Buffer.from(key),
      value: Buffer.from(frame.values[i]!),
    })),
  );
}

const implementations: [string, Accelerator][] = [
  [accel.kind, accel],
  ['ts', tsAccelerator],
];

for (const [name, scanner] of implementations) {
  describe(`scanSegment (${name})`, () => {
    it('lists every record of frames written by either accelerator, compressed or not', () => {
      for (const [writerName, writer] of implementations) {
        for (let seed = 1; seed <= 6; seed++) {
          const written = segmentBytes(writer, seed, 12 + seed);
          const scan = scanner.scanSegment(written.bytes, 20);
          assert.equal(scan.end, 20 + written.bytes.length, `${writerName} seed ${seed}`);
          assert.deepEqual(listed(scan), expected(written, 20), `${writerName} seed ${seed}`);
          // What decodeFrame sees in each frame, the scan lists for it.
          const first = written.frames[1]!;
          const decoded = scanner.decodeFrame(written.bytes, first.offset);
          assert.equal(decoded.byteLength, first.length);
        }
      }
    });

    it('lists uncompressed frames in place: the result is a view of the input, nothing copied', () => {
      for (const [writerName, writer] of implementations) {
        const raw = segmentBytes(writer, 11, 9, false);
        const input = raw.bytes.subarray(0);
        const scan = scanner.scanSegment(input, 64);
        assert.ok(scan.data.buffer === input.buffer, writerName);
        assert.equal(scan.data.byteOffset, input.byteOffset);
        assert.equal(scan.data.length, input.length);
        assert.equal(scan.end, 64 + input.length);
        assert.deepEqual(listed(scan), expected(raw, 64), writerName);
        // A compressed frame among the whole ones: the bodies are copied out, decoded.
        const compressed = segmentBytes(writer, 12, 1);
        assert.ok(writer.decodeFrame(compressed.bytes, 0).compressed);
        const mixed = Buffer.concat([raw.bytes, compressed.bytes]);
        const copied = scanner.scanSegment(mixed, 64);
        assert.ok(copied.data.buffer !== mixed.buffer);
        assert.deepEqual(listed(copied).slice(0, expected(raw, 64).length), expected(raw, 64));
        assert.equal(copied.end, 64 + mixed.length);
        // Cut short, the compressed frame is not scanned and does not count.
        const cut = scanner.scanSegment(mixed.subarray(0, mixed.length - 1), 64);
        assert.ok(cut.data.buffer === mixed.buffer);
        assert.deepEqual(listed(cut), expected(raw, 64));
        assert.equal(cut.end, 64 + raw.bytes.length);
      }
    });

    it('stops before a frame cut short, and continues from where it stopped', () => {
      const written = segmentBytes(accel, 9, 10);
      const third = written.frames[3]!;
      for (const cut of [third.offset, third.offset + 7, third.offset + 20, third.offset + third.length - 1]) {
        const head = scanner.scanSegment(written.bytes.subarray(0, cut), 100);
        assert.equal(head.end, 100 + third.offset, `cut ${cut}`);
        assert.deepEqual(listed(head), expected(written, 100, 3));
      }
      const rest = scanner.scanSegment(written.bytes.subarray(third.offset), 100 + third.offset);
      assert.deepEqual(listed(rest), expected(written, 100).slice(expected(written, 100, 3).length));
      const none = scanner.scanSegment(written.bytes.subarray(0, 19), 20);
      assert.equal(none.end, 20);
      assert.equal(none.records.length, 0);
      assert.equal(none.data.length, 0);
    });

    it('reports a damaged byte as CORRUPTION (or stops before it when a length grew), never as data', () => {
      const written = segmentBytes(accel, 3, 3);
      const bytes = written.bytes;
      for (let at = 0; at < bytes.length; at += at < 60 ? 1 : 7) {
        const damaged = Buffer.from(bytes);
        damaged[at]! ^= 0x04;
        let scan: SegmentScan;
        try {
          scan = scanner.scanSegment(damaged, 20);
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'CORRUPTION', `byte ${at}: ${String(error)}`);
          continue;
        }
        assert.ok(scan.end < 20 + bytes.length, `byte ${at}: a damaged run scanned whole`);
      }
    });

    it('rejects a bad header even when its frame is cut short, and bad arguments', () => {
      const written = segmentBytes(accel, 4, 2);
      const damaged = Buffer.from(written.bytes);
      damaged[written.frames[1]!.offset + 4] = 9; // version
      throwsCode(() => scanner.scanSegment(damaged.subarray(0, written.frames[1]!.offset + 20)), 'CORRUPTION');
      throwsCode(() => scanner.scanSegment(written.bytes, -1), 'INVALID_ARGUMENT');
      throwsCode(() => scanner.scanSegment(written.bytes, 1.5), 'INVALID_ARGUMENT');
      throwsCode(() => scanner.scanSegment('x' as unknown as Uint8Array), 'INVALID_ARGUMENT');
    });
  });
}

describe(`scanSegment: ${accel.kind} and ts agree`, () => {
  it('returns the same data, records, frames and end on the same bytes', () => {
    for (let seed = 20; seed < 26; seed++) {
      const written = segmentBytes(seed % 2 === 0 ? accel : tsAccelerator, seed, 30);
      const cut = written.bytes.length - (seed % 3) * 11;
      const a = accel.scanSegment(written.bytes.subarray(0, cut), 4096);
      const b = tsAccelerator.scanSegment(written.bytes.subarray(0, cut), 4096);
      assert.deepEqual(Buffer.from(a.data), Buffer.from(b.data));
      assert.deepEqual(a.records, b.records);
      assert.deepEqual(a.frames, b.frames);
      assert.equal(a.end, b.end);
    }
  });
});
