/**
 * How the value log writes frames: raw frames laid out in reused buffers (byte-identical to the
 * accelerators' `encodeFrame` without compression), the lane's LZ4 backoff after attempts that do
 * not pay, values copied at `append` (a caller may reuse its buffer), reads of single-record frames
 * of large values and their damage, and sealed segments synced in the background yet durable
 * after `sync()` through a power loss.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { accel, loadNativeAccelerator, packBytes, tsAccelerator, type Accelerator } from '@siltdb/bindings';
import { FaultVfs, NodeVfs } from '../src/vfs/index.js';
import { ArenaPool } from '../src/vlog/arena-pool.js';
import { layoutRawFrame, rawFrameLength, sealRawFrames } from '../src/vlog/raw-frame.js';
import { decodePointer, parseSegmentFileName, SEGMENT_HEADER_BYTES, ValueLog, VLOG_DIR, type ValueLogOptions } from '../src/vlog/index.js';
import { MAX_COMPRESS_BACKOFF } from '../src/vlog/value-log.js';
import { tempDir } from './helpers/log-fixtures.js';

const utf8 = new TextEncoder();

function accelerators(): [string, Accelerator][] {
  const list: [string, Accelerator][] = [['ts', tsAccelerator]];
  try {
    list.push(['native', loadNativeAccelerator().accelerator]);
  } catch {
    // SILTDB_NATIVE=off on a machine without the module: the TypeScript twin alone.
  }
  return list;
}

function open(dir: string, options: Partial<ValueLogOptions> = {}): Promise<ValueLog> {
  return ValueLog.open(dir, { accelerator: accel, ...options });
}

/** `[offset, flags, count]` of every frame of a segment file. */
function framesOf(bytes: Uint8Array): [number, number, number][] {
  const frames: [number, number, number][] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = SEGMENT_HEADER_BYTES;
  while (at < bytes.length) {
    const count = view.getUint16(at + 6, true);
    frames.push([at, bytes[at + 5]!, count]);
    at += 20 + 4 * count + view.getUint32(at + 12, true);
  }
  assert.equal(at, bytes.length, 'frames fill the segment exactly');
  return frames;
}

/** One whole raw frame of records `[from, to)` at `at` of `out`: laid out, then sealed. */
function writeRawFrame(out: Uint8Array, at: number, keys: Uint8Array[], values: Uint8Array[], from: number, to: number, accelerator: Accelerator): number {
  const end = layoutRawFrame(out, at, keys, values, from, to);
  sealRawFrames(out, [at, end], accelerator);
  return end;
}

describe('raw frames', () => {
  for (const [name, accelerator] of accelerators()) {
    test(`laid out in place, they are the bytes of encodeFrame without compression (${name})`, () => {
      const longKey = new Uint8Array(300).fill(7); // a two-byte varint length
      const cases: [Uint8Array[], Uint8Array[]][] = [
        [[utf8.encode('k')], [utf8.encode('value')]],
        [[new Uint8Array(0)], [new Uint8Array(0)]],
        [[longKey, utf8.encode('b'), new Uint8Array(0)], [randomBytes(40), new Uint8Array(0), randomBytes(16 * 1024)]],
        [Array.from({ length: 64 }, (_, i) => utf8.encode(`key-${i}`)), Array.from({ length: 64 }, (_, i) => randomBytes(i * 3))],
      ];
      for (const [keys, values] of cases) {
        const expected = accelerator.encodeFrame(packBytes(keys), packBytes(values), { compress: false });
        // Framed by other bytes, at an odd offset of a larger buffer.
        const out = new Uint8Array(rawFrameLength(keys, values, 0, keys.length) + 13).fill(0xee);
        const end = writeRawFrame(out, 5, keys, values, 0, keys.length, accelerator);
        assert.equal(end - 5, expected.length);
        assert.deepEqual(out.subarray(5, end), new Uint8Array(expected));
        assert.deepEqual([...out.subarray(0, 5), ...out.subarray(end)], new Array(13).fill(0xee));
        const decoded = accelerator.decodeFrame(out.subarray(5, end));
        assert.equal(decoded.compressed, false);
        assert.deepEqual(decoded.values.offsets.length, keys.length + 1);
      }
      // A sub-range of the records.
      const keys = [utf8.encode('a'), utf8.encode('b'), utf8.encode('c')];
      const values = [randomBytes(10), randomBytes(20), randomBytes(30)];
      const out = new Uint8Array(rawFrameLength(keys, values, 1, 3));
      writeRawFrame(out, 0, keys, values, 1, 3, accelerator);
      assert.deepEqual(out, new Uint8Array(accelerator.encodeFrame(packBytes(keys.slice(1)), packBytes(values.slice(1)), { compress: false })));
    });

    test(`frames laid out back to back and sealed by one call are the bytes of encodeFrame (${name})`, () => {
      const keys = Array.from({ length: 40 }, (_, i) => utf8.encode(`key-${i}`.repeat(1 + (i % 3))));
      const values = Array.from({ length: 40 }, (_, i) => randomBytes((i * 977) % 5000));
      // Frames of 1, 2, 3 … records, laid out first, then sealed together, at an odd offset.
      const bounds: [number, number][] = [];
      for (let from = 0, n = 1; from < keys.length; from += n, n++) bounds.push([from, Math.min(keys.length, from + n)]);
      const total = bounds.reduce((sum, [from, to]) => sum + rawFrameLength(keys, values, from, to), 0);
      const out = new Uint8Array(total + 10).fill(0xee);
      const spans: number[] = [];
      let at = 3;
      for (const [from, to] of bounds) {
        const end = layoutRawFrame(out, at, keys, values, from, to);
        spans.push(at, end);
        at = end;
      }
      sealRawFrames(out, spans, accelerator);
      for (let k = 0; k < bounds.length; k++) {
        const [from, to] = bounds[k]!;
        const expected = accelerator.encodeFrame(packBytes(keys.slice(from, to)), packBytes(values.slice(from, to)), { compress: false });
        assert.deepEqual(out.subarray(spans[2 * k]!, spans[2 * k + 1]!), new Uint8Array(expected), `frame ${k}`);
      }
      assert.deepEqual([...out.subarray(0, 3), ...out.subarray(at)], new Array(10).fill(0xee));
      // A laid-out frame without its seal does not check.
      const lone = new Uint8Array(rawFrameLength(keys, values, 0, 2));
      layoutRawFrame(lone, 0, keys, values, 0, 2);
      assert.throws(() => accelerator.decodeFrame(lone, 0), { code: 'CORRUPTION' });
    });
  }
});

describe('arena pool', () => {
  test('reuses given buffers that are large enough, keeps a bounded number of bytes', () => {
    const pool = new ArenaPool(256 * 1024, 1 << 20);
    const a = pool.take(100_000);
    assert.ok(a.length >= 100_000);
    pool.give(a);
    assert.equal(pool.heldBytes, a.length);
    assert.equal(pool.take(50_000), a, 'a free buffer that fits is reused');
    assert.equal(pool.heldBytes, 0);
    const big = pool.take(2 << 20);
    pool.give(big);
    assert.equal(pool.held, 0, 'buffers above the size limit are not kept');
    for (let i = 0; i < 6; i++) pool.give(Buffer.alloc(70_000));
    assert.equal(pool.held, 3, 'buffers are kept while they fit the byte budget');
    assert.ok(pool.heldBytes <= 256 * 1024);
  });

  test('takes the smallest free buffer that fits', () => {
    const pool = new ArenaPool(16 << 20, 8 << 20);
    const large = pool.take(5 << 20);
    const small = pool.take(1 << 20);
    const medium = pool.take(3 << 20);
    assert.deepEqual([large.length, small.length, medium.length], [8 << 20, 1 << 20, 4 << 20]);
    pool.give(large);
    pool.give(small);
    pool.give(medium);
    assert.equal(pool.take(900_000), small, 'a small append does not claim a large buffer');
    assert.equal(pool.take(2 << 20), medium);
    assert.equal(pool.take(1 << 20), large, 'the large one still serves when nothing smaller fits');
    assert.equal(pool.held, 0);
  });
});

for (const fsName of ['node:fs', 'FaultVfs'] as const) {
  describe(`value-log frames on ${fsName}`, () => {
    const setup = (t: import('node:test').TestContext) => (fsName === 'node:fs' ? { vfs: new NodeVfs(), dir: tempDir(t, 'silt-vlogf-') } : { vfs: new FaultVfs(), dir: '/db' });

    test('values are copied at append: a caller reusing its buffers changes nothing, before or after the write lands', async (t) => {
      const { vfs, dir } = setup(t);
      const log = await open(dir, { vfs });
      const scratch = randomBytes(4 * 16 * 1024);
      const originals: Uint8Array[] = [];
      const pointers: Uint8Array[] = [];
      const keys: Uint8Array[] = [];
      for (let round = 0; round < 6; round++) {
        const roundKeys = Array.from({ length: 4 }, (_, i) => utf8.encode(`r${round}-${i}`));
        const values = Array.from({ length: 4 }, (_, i) => scratch.subarray(i * 16 * 1024, (i + 1) * 16 * 1024));
        originals.push(...values.map((v) => Uint8Array.from(v)));
        pointers.push(...log.append(0, roundKeys, values));
        keys.push(...roundKeys);
        scratch.fill(round + 1); // the caller reuses its buffer at once
        for (let i = 0; i < pointers.length; i++) assert.deepEqual(log.read(pointers[i]!, keys[i]), originals[i], `record ${i} while round ${round} is queued`);
        if (round % 2 === 1) await log.written(); // later rounds reuse the landed rounds' buffers
        for (let i = 0; i < pointers.length; i++) assert.deepEqual(log.read(pointers[i]!, keys[i]), originals[i], `record ${i} after round ${round}`);
      }
      await log.close();
      const again = await open(dir, { vfs, frameCacheBytes: 0 });
      for (let i = 0; i < pointers.length; i++) assert.deepEqual(again.read(pointers[i]!, keys[i]), originals[i]);
      await again.close();
    });

    test('an append of several MiB goes out in several writes and segments, and reads back before and after it lands and after a reopen', async (t) => {
      const { vfs, dir } = setup(t);
      const log = await open(dir, { vfs, segmentBytes: 1024 * 1024, compress: false });
      const keys = Array.from({ length: 300 }, (_, i) => utf8.encode(`big-${i}`));
      const values = Array.from({ length: 300 }, (_, i) => new Uint8Array(randomBytes(8 * 1024 + i)));
      const pointers = log.append(0, keys, values);
      const segments = new Set(pointers.map((p) => decodePointer(p).segment));
      assert.ok(segments.size >= 2, 'the append spans segments');
      for (const i of [0, 150, 299]) assert.deepEqual(log.read(pointers[i]!, keys[i]), values[i], `record ${i} while queued`);
      await log.written();
      for (let i = 0; i < keys.length; i++) assert.deepEqual(log.read(pointers[i]!, keys[i]), values[i], `record ${i} landed`);
      await log.close();
      const again = await open(dir, { vfs, frameCacheBytes: 0 });
      for (let i = 0; i < keys.length; i++) assert.deepEqual(again.read(pointers[i]!, keys[i]), values[i], `record ${i} reopened`);
      await again.close();
    });
  });
}

describe('durability', () => {
  test('sealed segments sync in the background, and sync() waits for them: all of it survives a power loss', async () => {
    const vfs = new FaultVfs();
    const dir = '/db';
    // Slow datasyncs of the first two segments: their seals still run when `sync()` is called.
    const openFile = vfs.open.bind(vfs);
    vfs.open = async (path, options) => {
      const file = await openFile(path, options);
      const datasync = file.datasync.bind(file);
      const slow = /-00000[12]\.vlog$/.test(path);
      file.datasync = async () => {
        if (slow) await new Promise((resolve) => setTimeout(resolve, 50));
        return datasync();
      };
      return file;
    };
    const log = await open(dir, { vfs, segmentBytes: 8192 });
    const written: { key: Uint8Array; value: Uint8Array; pointer: Uint8Array }[] = [];
    for (let batch = 0; batch < 12; batch++) {
      const keys = Array.from({ length: 3 }, (_, i) => utf8.encode(`b${batch}-${i}`));
      const values = keys.map(() => new Uint8Array(randomBytes(2000)));
      log.append(0, keys, values).forEach((pointer, i) => written.push({ key: keys[i]!, value: values[i]!, pointer }));
    }
    await log.sync();
    const infos = log.segmentInfos();
    assert.ok(infos.length >= 6, `${infos.length} segments`);
    for (const info of infos) assert.equal(info.synced, info.length, `segment ${info.segment} synced`);
    const rebooted = vfs.crash();
    const again = await ValueLog.open(dir, { accelerator: accel, vfs: rebooted });
    assert.equal(again.segmentInfos().length, infos.length, 'every segment file, created without a directory sync, is there');
    for (const w of written) assert.deepEqual(again.read(w.pointer, w.key), w.value);
    await again.close();
  });

  test('a sealed segment whose background sync fails fails the next sync()', async () => {
    const vfs = new FaultVfs();
    const log = await open('/db', { vfs, segmentBytes: 8192 });
    vfs.inject({ kind: 'sync', path: /000-000001\.vlog$/ });
    for (let batch = 0; batch < 6; batch++) log.append(0, [utf8.encode(`k${batch}`)], [new Uint8Array(randomBytes(3000))]);
    await assert.rejects(log.sync(), { code: 'IO_ERROR' });
    assert.throws(() => log.append(0, [utf8.encode('later')], [new Uint8Array(1)]), { code: 'IO_ERROR' });
    await assert.rejects(log.close(), { code: 'IO_ERROR' });
  });
});

describe('LZ4 backoff', () => {
  test('after attempts that do not pay a lane stores 1, 2, 4 … frames raw untried; one that pays resets it', async (t) => {
    const dir = tempDir(t, 'silt-vlogf-');
    const log = await open(dir, { frameRecords: 1 });
    const random = () => new Uint8Array(randomBytes(3000));
    const text = (i: number) => utf8.encode(`{"id":${i},"name":"${'abcdefgh'.repeat(200)}"}`);
    // 1 + 1 + 2 + 4 incompressible frames: attempts at frames 0, 2, 5; then compressible text.
    const values: Uint8Array[] = [];
    for (let i = 0; i < 8; i++) values.push(random());
    for (let i = 0; i < 10; i++) values.push(text(i));
    const pointers = log.append(0, values.map((_, i) => utf8.encode(`k${i}`)), values);
    await log.close();
    const [name] = readdirSync(join(dir, VLOG_DIR));
    const frames = framesOf(readFileSync(join(dir, VLOG_DIR, name!)));
    assert.equal(frames.length, values.length);
    const flags = frames.map(([, f]) => f);
    // Frames 0, 2 and 5 were tried and failed (backoff 1, then 2, then 4: frames 6–9 untried).
    // Frames 8 and 9 are text but still in the backoff; 10 is tried, pays, and every later frame is tried.
    assert.deepEqual(flags, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
    const again = await open(dir, { frameCacheBytes: 0 });
    pointers.forEach((p, i) => assert.deepEqual(again.read(p, utf8.encode(`k${i}`)), values[i]));
    await again.close();
  });

  test('the backoff is capped, so a lane of incompressible values still tries now and then', async (t) => {
    const dir = tempDir(t, 'silt-vlogf-');
    const log = await open(dir, { frameRecords: 1, segmentBytes: 64 * 1024 * 1024 });
    // Attempts at frames 0, 2, 5, 10, 19, 36, 69, then every MAX + 1 frames: 134, 199, 264, 329, 394
    // (uncapped doubling would try 134, then 263, then 520).
    const n = 400;
    const compressible = new Set([393, 394]);
    const keys = Array.from({ length: n }, (_, i) => utf8.encode(`k${i}`));
    const values = keys.map((_, i) => (compressible.has(i) ? new Uint8Array(500).fill(3) : randomBytes(200)));
    log.append(0, keys, values);
    await log.close();
    const [name] = readdirSync(join(dir, VLOG_DIR));
    const frames = framesOf(readFileSync(join(dir, VLOG_DIR, name!)));
    assert.equal(MAX_COMPRESS_BACKOFF, 64);
    assert.equal(frames[393]![1], 0, 'frame 393 falls in a backoff window: stored raw untried');
    assert.equal(frames[394]![1], 1, 'frame 394 is tried and compressed');
    assert.equal(frames.filter(([, f]) => f === 1).length, 1);
  });

  test('compress: false never tries', async (t) => {
    const dir = tempDir(t, 'silt-vlogf-');
    const log = await open(dir, { compress: false });
    log.append(0, [utf8.encode('a')], [new Uint8Array(5000).fill(1)]);
    await log.close();
    const [name] = readdirSync(join(dir, VLOG_DIR));
    assert.deepEqual(framesOf(readFileSync(join(dir, VLOG_DIR, name!))).map(([, f]) => f), [0]);
  });
});

describe('large values', () => {
  test('a 16 KiB value in a frame of its own reads back exactly; any flipped byte of its frame is CORRUPTION', async (t) => {
    const dir = tempDir(t, 'silt-vlogf-');
    const log = await open(dir);
    const key = utf8.encode('big');
    const value = randomBytes(16 * 1024);
    const [pointer] = log.append(0, [key], [value]);
    await log.close();
    const p = decodePointer(pointer!);
    assert.equal(p.frameLength, 20 + 4 + 1 + key.length + value.length, 'one record, stored raw');
    const [name] = readdirSync(join(dir, VLOG_DIR));
    const path = join(dir, VLOG_DIR, name!);
    const segment = parseSegmentFileName(name!)!.segment;
    const original = readFileSync(path);
    const reopen = () => open(dir, { recorded: new Map([[segment, { length: original.length, sealed: true }]]), frameCacheBytes: 0 });
    const clean = await reopen();
    const read = clean.read(pointer!, key);
    assert.deepEqual(read, new Uint8Array(value));
    read.fill(0); // the copy is the caller's
    assert.deepEqual(clean.read(pointer!, key), new Uint8Array(value));
    await clean.close();
    for (const at of [p.frameOffset, p.frameOffset + 5, p.frameOffset + 8, p.frameOffset + 16, p.frameOffset + 20, p.frameOffset + 24, p.frameOffset + 26, p.frameOffset + 100, original.length - 1]) {
      const damaged = Buffer.from(original);
      damaged[at]! ^= 0x40;
      writeFileSync(path, damaged);
      const log2 = await reopen();
      assert.throws(() => log2.read(pointer!, key), { code: 'CORRUPTION' }, `byte ${at}`);
      await log2.close();
    }
  });
});
