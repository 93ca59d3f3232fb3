/**
 * The value log on its own: pointer encoding, append/read round trips (before the writes land,
 * after sync, after reopen), frames and segment rotation, idle lanes, every byte of a small segment
 * flipped (CORRUPTION, never other data), torn tails, and files of one accelerator read by the other.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync, truncateSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { accel, loadNativeAccelerator, tsAccelerator, type Accelerator } from '@siltdb/bindings';
import { FaultVfs, NodeVfs } from '../src/vfs/index.js';
import { Kind } from '../src/keys/internal-key.js';
import {
  chargePointer,
  chargePointerAt,
  COLD_LANE,
  decodePointer,
  encodePointer,
  parseSegmentFileName,
  POINTER_BYTES,
  recordBytesOf,
  SEGMENT_HEADER_BYTES,
  segmentFileName,
  ValueLog,
  VLOG_DIR,
  type ValueLogOptions,
} from '../src/vlog/index.js';
import { rejectsWithCode, tempDir } from './helpers/log-fixtures.js';

const utf8 = new TextEncoder();

function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

/** Record i: a distinct key, a value of varying size and compressibility. */
function record(i: number, random: () => number): { key: Uint8Array; value: Uint8Array } {
  const key = utf8.encode(`key-${String(i).padStart(6, '0')}`);
  const size = random() < 0.1 ? 20_000 + Math.floor(random() * 30_000) : 1 + Math.floor(random() * 2000);
  const value = new Uint8Array(size);
  if (random() < 0.5) for (let j = 0; j < size; j++) value[j] = Math.floor(random() * 256);
  else value.fill(i & 0xff);
  return { key, value };
}

function open(dir: string, options: Partial<ValueLogOptions> & { vfs?: ValueLogOptions['vfs'] } = {}): Promise<ValueLog> {
  return ValueLog.open(dir, { accelerator: accel, ...options });
}

describe('value pointers', () => {
  test('round trip, fixed size', () => {
    const pointer = { segment: 2 ** 40 + 7, frameOffset: 0xfffff000, frameLength: 4000, subIndex: 65535, recordBytes: 123456 };
    const bytes = encodePointer(pointer);
    assert.equal(bytes.length, POINTER_BYTES);
    assert.deepEqual(decodePointer(bytes), pointer);
    assert.deepEqual([...encodePointer({ segment: 1, frameOffset: 20, frameLength: 25, subIndex: 2, recordBytes: 3 })], [
      1, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 25, 0, 0, 0, 2, 0, 3, 0, 0, 0,
    ]);
  });

  test('malformed pointers are CORRUPTION', () => {
    const good = encodePointer({ segment: 1, frameOffset: 20, frameLength: 25, subIndex: 0, recordBytes: 3 });
    const cases: Uint8Array[] = [good.subarray(0, 22), new Uint8Array(24)];
    const version = good.slice();
    version[0] = 2;
    cases.push(version);
    const zeroSegment = good.slice();
    zeroSegment[1] = 0;
    cases.push(zeroSegment);
    const huge = good.slice();
    huge[8] = 0xff;
    cases.push(huge);
    for (const bytes of cases) assert.throws(() => decodePointer(bytes), { code: 'CORRUPTION' });
  });

  test('chargePointerAt charges what decodePointer reads, in place; a malformed pointer is CORRUPTION and charges nothing', () => {
    const random = prng(91);
    const pointers = Array.from({ length: 200 }, (_, i) =>
      encodePointer({
        segment: i % 7 === 0 ? 2 ** 40 + (i % 3) : 1 + (i % 5),
        frameOffset: Math.floor(random() * 2 ** 31),
        frameLength: 24 + Math.floor(random() * 1e6),
        subIndex: i % 300,
        recordBytes: 1 + Math.floor(random() * 1e5),
      }),
    );
    // Back to back behind junk, as a compaction's run holds its values.
    const data = new Uint8Array(5 + pointers.length * POINTER_BYTES).fill(0xee);
    pointers.forEach((p, i) => data.set(p, 5 + i * POINTER_BYTES));
    const viaDecode = new Map<number, number>();
    const viaChargePointer = new Map<number, number>();
    const inPlace = new Map<number, number>();
    // The reference: the decoded pointer's fields, charged by hand.
    const charge = (charges: Map<number, number>, bytes: Uint8Array): void => {
      const { segment, recordBytes } = decodePointer(bytes);
      charges.set(segment, (charges.get(segment) ?? 0) + recordBytes);
    };
    for (let i = 0; i < pointers.length; i++) {
      charge(viaDecode, pointers[i]!);
      chargePointer(viaChargePointer, Kind.Pointer, pointers[i]!);
      chargePointerAt(inPlace, data, 5 + i * POINTER_BYTES, 5 + (i + 1) * POINTER_BYTES);
    }
    assert.deepEqual([...inPlace].sort((a, b) => a[0] - b[0]), [...viaDecode].sort((a, b) => a[0] - b[0]));
    assert.deepEqual([...viaChargePointer].sort((a, b) => a[0] - b[0]), [...viaDecode].sort((a, b) => a[0] - b[0]), 'chargePointer charges the same');
    assert.ok(inPlace.has(2 ** 40 + 1));
    // Every byte of a pointer flipped: either still a pointer decodePointer accepts, charged alike, or CORRUPTION with its message and nothing charged.
    const good = pointers[3]!;
    for (let at = 0; at < POINTER_BYTES; at++) {
      for (const flip of [0x01, 0x80, 0xff]) {
        const bad = good.slice();
        bad[at]! ^= flip;
        const expected = new Map<number, number>();
        let decodeError: unknown = null;
        try {
          charge(expected, bad);
        } catch (error) {
          decodeError = error;
        }
        const got = new Map<number, number>();
        const shifted = new Uint8Array(POINTER_BYTES + 2);
        shifted.set(bad, 1);
        if (decodeError === null) {
          chargePointerAt(got, shifted, 1, 1 + POINTER_BYTES);
          assert.deepEqual([...got], [...expected]);
        } else {
          assert.throws(() => chargePointerAt(got, shifted, 1, 1 + POINTER_BYTES), { code: 'CORRUPTION', message: (decodeError as Error).message });
          assert.equal(got.size, 0);
        }
      }
    }
    // A wrong length, and a pointer running past what the range holds.
    assert.throws(() => chargePointerAt(new Map(), data, 5, 5 + POINTER_BYTES - 1), { code: 'CORRUPTION' });
    assert.throws(() => chargePointerAt(new Map(), data, 0, POINTER_BYTES), { code: 'CORRUPTION' });
  });
});

describe('segment file names', () => {
  test('canonical names only', () => {
    assert.equal(segmentFileName(3, 12), '003-000012.vlog');
    assert.deepEqual(parseSegmentFileName('255-1234567.vlog'), { lane: 255, segment: 1234567 });
    for (const bad of ['3-000012.vlog', '003-12.vlog', '256-000001.vlog', '000-000000.vlog', '000-000001.vlog.tmp', '000-0000012.vlog']) {
      assert.equal(parseSegmentFileName(bad), null, bad);
    }
  });
});

for (const fsName of ['node:fs', 'FaultVfs'] as const) {
  describe(`value log on ${fsName}`, () => {
    const setup = (t: TestContext) => (fsName === 'node:fs' ? { vfs: new NodeVfs(), dir: tempDir(t, 'silt-vlog-') } : { vfs: new FaultVfs(), dir: '/db' });

    test('records read back before landing, after sync and after reopen; segments rotate at the target', async (t) => {
      const { vfs, dir } = setup(t);
      const random = prng(1);
      const log = await open(dir, { vfs, segmentBytes: 256 * 1024, frameBytes: 8192 });
      const written: { key: Uint8Array; value: Uint8Array; pointer: Uint8Array }[] = [];
      for (let batch = 0; batch < 60; batch++) {
        const records = Array.from({ length: 1 + Math.floor(random() * 20) }, (_, j) => record(batch * 100 + j, random));
        const pointers = log.append(0, records.map((r) => r.key), records.map((r) => r.value));
        assert.equal(pointers.length, records.length);
        records.forEach((r, j) => {
          written.push({ ...r, pointer: pointers[j]! });
          assert.equal(decodePointer(pointers[j]!).recordBytes, recordBytesOf(r.key.length, r.value.length));
        });
        // Readable at once: served from the queued frame until it lands.
        const probe = written[Math.floor(random() * written.length)]!;
        assert.deepEqual(log.read(probe.pointer, probe.key), probe.value);
      }
      await log.sync();
      for (const w of written) assert.deepEqual(log.read(w.pointer, w.key), w.value);
      const infos = log.segmentInfos();
      assert.ok(infos.length > 3, `${infos.length} segments`);
      for (const info of infos.slice(0, -1)) {
        assert.equal(info.sealed, true);
        // Sealed once the next frame would not fit (a frame may be larger than what is left).
        assert.ok(info.length <= 256 * 1024 || info.length - 60_000 < 256 * 1024, `segment of ${info.length} bytes`);
      }
      assert.equal(infos.at(-1)!.sealed, false);
      const pointersBySubIndex = new Set(written.map((w) => decodePointer(w.pointer).subIndex));
      assert.ok(pointersBySubIndex.size > 5, 'frames hold several records with explicit sub-indexes');
      await log.close();

      const again = await open(dir, { vfs, segmentBytes: 256 * 1024, frameCacheBytes: 0 });
      for (const w of written) assert.deepEqual(again.read(w.pointer, w.key), w.value);
      // Appends resume in the lane's last segment, not a new file.
      const before = again.segmentInfos().length;
      const more = again.append(0, [utf8.encode('later')], [utf8.encode('v')]);
      await again.sync();
      assert.equal(again.segmentInfos().length, before);
      assert.deepEqual(again.read(more[0]!, utf8.encode('later')), utf8.encode('v'));
      await again.close();
    });

    test('a record read with another key, or past its frame, is CORRUPTION', async (t) => {
      const { vfs, dir } = setup(t);
      const log = await open(dir, { vfs });
      const [p0, p1] = log.append(0, [utf8.encode('a'), utf8.encode('b')], [utf8.encode('x'.repeat(300)), utf8.encode('y'.repeat(300))]);
      await log.sync();
      assert.throws(() => log.read(p0!, utf8.encode('b')), { code: 'CORRUPTION' });
      const pointer = decodePointer(p1!);
      assert.throws(() => log.read(encodePointer({ ...pointer, subIndex: 2 })), { code: 'CORRUPTION' });
      assert.throws(() => log.read(encodePointer({ ...pointer, subIndex: 0 }), utf8.encode('b')), { code: 'CORRUPTION' });
      assert.throws(() => log.read(encodePointer({ ...pointer, frameOffset: pointer.frameOffset + 1 })), { code: 'CORRUPTION' });
      assert.throws(() => log.read(encodePointer({ ...pointer, segment: 99 })), { code: 'CORRUPTION' });
      assert.equal(log.resolves(p1!, utf8.encode('b')), true);
      assert.equal(log.resolves(encodePointer({ ...pointer, frameLength: pointer.frameLength + 100 }), utf8.encode('b')), false);
      await log.close();
    });

    test('idle lanes never make files; the cold lane is separate', async (t) => {
      const { vfs, dir } = setup(t);
      const log = await open(dir, { vfs, foregroundLanes: 4, segmentBytes: 64 * 1024 });
      for (let i = 0; i < 200; i++) log.append(1, [utf8.encode(`k${i}`)], [new Uint8Array(1000).fill(i)]);
      log.append(255, [utf8.encode('cold')], [new Uint8Array(500)]);
      await log.sync();
      const lanes = new Set(log.segmentInfos().map((s) => s.lane));
      assert.deepEqual([...lanes].sort((a, b) => a - b), [1, 255]);
      const names = await vfs.readdir(join(dir, VLOG_DIR));
      assert.ok(names.every((n) => n.startsWith('001-') || n.startsWith('255-')), names.join());
      // Reopening and closing without writes creates nothing either.
      await log.close();
      const again = await open(dir, { vfs, foregroundLanes: 4, segmentBytes: 64 * 1024 });
      await again.close();
      assert.deepEqual(await vfs.readdir(join(dir, VLOG_DIR)), names);
    });
  });
}

/**
 * A FaultVfs whose value-log segment datasyncs wait until released: how many started, and the most
 * that ran at once.
 */
function heldSegmentSyncs(inner: FaultVfs) {
  const held: (() => void)[] = [];
  const state = { started: 0, running: 0, maxRunning: 0, hold: true };
  const vfs = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'open') {
        return async (path: string, options: Parameters<FaultVfs['open']>[1]) => {
          const file = await target.open(path, options);
          if (!path.endsWith('.vlog')) return file;
          return new Proxy(file, {
            get(f, p) {
              if (p === 'datasync') {
                return async () => {
                  state.started++;
                  state.maxRunning = Math.max(state.maxRunning, ++state.running);
                  try {
                    if (state.hold) await new Promise<void>((resolve) => held.push(resolve));
                    await f.datasync();
                  } finally {
                    state.running--;
                  }
                };
              }
              const value = Reflect.get(f, p) as unknown;
              return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(f) : value;
            },
          });
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const release = (): void => {
    state.hold = false;
    for (const resolve of held.splice(0)) resolve();
  };
  return { vfs, state, release };
}

/** Let queued I/O and promise chains run (FaultVfs calls settle in microtasks and immediates). */
async function settleIo(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('segment seals', () => {
  test('a lane syncs its sealed segments one at a time, and appends wait only once 4 seals are queued', async () => {
    const { vfs, state, release } = heldSegmentSyncs(new FaultVfs());
    const log = await open('/db', { vfs, segmentBytes: 4096, compress: false });
    const random = prng(3);
    const sealed = (): number => log.segmentInfos().filter((info) => info.sealed).length;
    const written: { key: Uint8Array; value: Uint8Array; pointer: Uint8Array }[] = [];
    const appendUntilSealed = async (count: number): Promise<void> => {
      for (let i = written.length; sealed() < count; i++) {
        const key = utf8.encode(`key-${i}`);
        const value = new Uint8Array(900).map(() => Math.floor(random() * 256));
        written.push({ key, value, pointer: log.append(0, [key], [value])[0]! });
      }
    };
    await appendUntilSealed(3);
    // Three seals queued behind a held datasync: the appends have landed all the same.
    let early = false;
    void log.written().then(() => (early = true));
    await settleIo();
    assert.equal(early, true, 'appends do not wait for three queued seals');
    assert.equal(state.started, 1);
    assert.equal(state.maxRunning, 1);
    await appendUntilSealed(5);
    let landed = false;
    const landing = log.written().then(() => (landed = true));
    await settleIo();
    assert.equal(landed, false, 'the fifth seal waits for a queued one to finish');
    assert.equal(state.started, 1);
    release();
    await landing;
    await log.sync();
    assert.equal(state.maxRunning, 1);
    for (const info of log.segmentInfos()) assert.equal(info.synced, info.length, `segment ${info.segment}`);
    for (const w of written) assert.deepEqual(log.read(w.pointer, w.key), w.value);
    await log.close();
  });
});

/** A FaultVfs on which every write to the value-log segment file named `name` waits until released. */
function heldSegmentWrites(inner: FaultVfs, name: string) {
  const held: (() => void)[] = [];
  const state = { heldWrites: 0, otherSegmentWrites: 0, hold: true };
  const vfs = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'open') {
        return async (path: string, options: Parameters<FaultVfs['open']>[1]) => {
          const file = await target.open(path, options);
          if (!path.endsWith('.vlog')) return file;
          return new Proxy(file, {
            get(f, p) {
              if (p === 'write' || p === 'writev') {
                const write = (Reflect.get(f, p) as (...args: unknown[]) => Promise<void>).bind(f);
                return async (...args: unknown[]) => {
                  if (!path.endsWith(name)) state.otherSegmentWrites++;
                  else if (state.hold) {
                    state.heldWrites++;
                    await new Promise<void>((resolve) => held.push(resolve));
                  }
                  return write(...args);
                };
              }
              const value = Reflect.get(f, p) as unknown;
              return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(f) : value;
            },
          });
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const release = (): void => {
    state.hold = false;
    for (const resolve of held.splice(0)) resolve();
  };
  return { vfs, state, release };
}

describe('segment rotation', () => {
  test('a lane creates and writes its next segment while the previous one’s writes are in flight; they land in order', async () => {
    const { vfs, state, release } = heldSegmentWrites(new FaultVfs(), segmentFileName(0, 1));
    const log = await open('/db', { vfs, segmentBytes: 8192, compress: false });
    const random = prng(11);
    const written: { key: Uint8Array; value: Uint8Array; pointer: Uint8Array }[] = [];
    for (let i = 0; log.segmentInfos().length < 3; i++) {
      const key = utf8.encode(`key-${i}`);
      const value = new Uint8Array(1500).map(() => Math.floor(random() * 256));
      written.push({ key, value, pointer: log.append(0, [key], [value])[0]! });
    }
    let landed = false;
    const landing = log.written().then(() => (landed = true));
    await settleIo();
    assert.ok(state.heldWrites > 0, 'the first segment’s writes are held');
    assert.ok(state.otherSegmentWrites >= 2, `the later segments were written meanwhile (${state.otherSegmentWrites} writes)`);
    assert.equal(landed, false, 'written() waits for the held writes: appends land in the lane’s order');
    const second = decodePointer(written.at(-1)!.pointer).segment;
    assert.equal(log.info(second)!.length, 0, 'a later segment counts as written only after the earlier ones');
    for (const w of written) assert.deepEqual(log.read(w.pointer, w.key), w.value, 'queued frames are readable');
    release();
    await landing;
    await log.sync();
    for (const info of log.segmentInfos()) assert.equal(info.synced, info.length, `segment ${info.segment}`);
    await log.close();
    const again = await open('/db', { vfs, segmentBytes: 8192 });
    for (const w of written) assert.deepEqual(again.read(w.pointer, w.key), w.value);
    await again.close();
  });
});

describe('record reads from segment files', () => {
  test('each read returns memory of its own holding exactly the value, large or small, one record of a frame or several', async (t) => {
    const dir = tempDir(t, 'silt-vlog-');
    const log = await open(dir, { compress: false, frameCacheBytes: 0 });
    const random = prng(11);
    const large = Uint8Array.from({ length: 16 * 1024 }, () => Math.floor(random() * 256));
    const keys = [utf8.encode('large'), utf8.encode('s1'), utf8.encode('s2'), utf8.encode('')];
    const values = [large, utf8.encode('first small'), new Uint8Array(0), utf8.encode('after an empty one')];
    const pointers = keys.map((key, i) => log.append(0, [key], [values[i]!])[0]!);
    const shared = log.append(0, [utf8.encode('m1'), utf8.encode('m2'), utf8.encode('m3')], [utf8.encode('one'), utf8.encode('two'), utf8.encode('three')]);
    assert.deepEqual(shared.map((p) => decodePointer(p).subIndex), [0, 1, 2]);
    await log.sync();
    const reads = [...keys.map((key, i) => ({ key, value: values[i]!, pointer: pointers[i]! })), ...['one', 'two', 'three'].map((v, i) => ({ key: utf8.encode(`m${i + 1}`), value: utf8.encode(v), pointer: shared[i]! }))];
    for (const r of reads) {
      const first = log.read(r.pointer, r.key);
      assert.deepEqual(first, r.value);
      // Nothing else of the frame is reachable from the value (the whole buffer is the value).
      assert.equal(first.byteOffset, 0);
      assert.equal(first.buffer.byteLength, r.value.length);
      first.fill(0x5a);
      const second = log.read(r.pointer, r.key);
      assert.deepEqual(second, r.value, 'a caller writing into a value changes no later read');
      assert.notEqual(second.buffer, first.buffer);
    }
    await log.close();
  });
});

/** A FaultVfs on which every write and datasync of a cold-lane segment waits until released. */
function heldColdLane(inner: FaultVfs) {
  const held: (() => void)[] = [];
  const state = { hold: true, heldCalls: 0 };
  const wait = async (): Promise<void> => {
    if (!state.hold) return;
    state.heldCalls++;
    await new Promise<void>((resolve) => held.push(resolve));
  };
  const vfs = new Proxy(inner, {
    get(target, prop) {
      if (prop === 'open') {
        return async (path: string, options: Parameters<FaultVfs['open']>[1]) => {
          const file = await target.open(path, options);
          if (!/\/255-\d+\.vlog$/.test(path)) return file;
          return new Proxy(file, {
            get(f, p) {
              const value = Reflect.get(f, p) as unknown;
              if (typeof value !== 'function') return value;
              const method = (value as (...args: unknown[]) => unknown).bind(f);
              if (p !== 'write' && p !== 'writev' && p !== 'datasync') return method;
              return async (...args: unknown[]) => {
                await wait();
                return method(...args);
              };
            },
          });
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const release = (): void => {
    state.hold = false;
    for (const resolve of held.splice(0)) resolve();
  };
  return { vfs, state, release };
}

describe('lane scopes', () => {
  test('foreground writes and syncs do not wait for the cold lane; the whole log does', async () => {
    const { vfs, state, release } = heldColdLane(new FaultVfs());
    const log = await open('/db', { vfs, compress: false });
    const random = prng(5);
    const value = (): Uint8Array => new Uint8Array(3000).map(() => Math.floor(random() * 256));
    const cold = log.append(COLD_LANE, [utf8.encode('rewritten')], [value()]);
    const key = utf8.encode('user');
    const userValue = value();
    const [pointer] = log.append(0, [key], [userValue]);
    let all = false;
    const allWritten = log.written().then(() => (all = true));
    let foreground = false;
    void log.sync('foreground').then(() => (foreground = true));
    await settleIo();
    assert.equal(foreground, true, 'the foreground lane landed and synced while the cold lane is held');
    await log.written('foreground');
    assert.ok(log.info(decodePointer(pointer!).segment)!.synced >= decodePointer(pointer!).frameOffset + decodePointer(pointer!).frameLength);
    await settleIo();
    assert.ok(state.heldCalls > 0, 'the cold lane is held');
    assert.equal(all, false, 'written() waits for the cold lane');
    release();
    await allWritten;
    await log.sync();
    assert.deepEqual(log.read(cold[0]!, utf8.encode('rewritten')).length, 3000);
    assert.deepEqual(log.read(pointer!, key), userValue);
    await log.close();
  });
});

describe('damage', () => {
  async function smallSegment(t: TestContext, compress = true): Promise<{ dir: string; path: string; records: { key: Uint8Array; value: Uint8Array; pointer: Uint8Array }[] }> {
    const dir = tempDir(t, 'silt-vlog-');
    const log = await open(dir, { compress });
    const random = prng(7);
    const records: { key: Uint8Array; value: Uint8Array; pointer: Uint8Array }[] = [];
    for (let f = 0; f < 3; f++) {
      const keys = [utf8.encode(`a${f}`), utf8.encode(`b${f}`)];
      const values = [new Uint8Array(40).fill(f), Uint8Array.from({ length: 30 }, () => Math.floor(random() * 256))];
      const pointers = log.append(0, keys, values);
      keys.forEach((key, i) => records.push({ key, value: values[i]!, pointer: pointers[i]! }));
    }
    await log.close();
    const name = readdirSync(join(dir, VLOG_DIR))[0]!;
    return { dir, path: join(dir, VLOG_DIR, name), records };
  }

  for (const compress of [true, false]) {
  test(`every flipped byte of a sealed segment gives CORRUPTION, never other bytes (${compress ? 'LZ4 where it helps' : 'stored raw'})`, async (t) => {
    const { dir, path, records } = await smallSegment(t, compress);
    const original = readFileSync(path);
    const segment = parseSegmentFileName(path.slice(path.lastIndexOf('/') + 1))!.segment;
    for (let at = 0; at < original.length; at++) {
      const damaged = Buffer.from(original);
      damaged[at]! ^= 0x10;
      writeFileSync(path, damaged);
      const log = await open(dir, { recorded: new Map([[segment, { length: original.length, sealed: true }]]), frameCacheBytes: 0 });
      let failures = 0;
      for (const r of records) {
        try {
          assert.deepEqual(log.read(r.pointer, r.key), r.value);
        } catch (error) {
          if ((error as { code?: string }).code !== 'CORRUPTION') throw error;
          failures++;
        }
      }
      assert.ok(failures > 0, `flipping byte ${at} went unnoticed`);
      await log.close();
    }
  });
  }

  test('a torn tail is cut at the last whole frame, and appends continue there', async (t) => {
    const { dir, path, records } = await smallSegment(t);
    const length = statSync(path).size;
    const lastFrame = decodePointer(records.at(-1)!.pointer);
    truncateSync(path, length - 3);
    appendFileSync(path, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22]));
    const log = await open(dir);
    assert.equal(statSync(path).size, lastFrame.frameOffset);
    for (const r of records.slice(0, -2)) assert.deepEqual(log.read(r.pointer, r.key), r.value);
    for (const r of records.slice(-2)) assert.equal(log.resolves(r.pointer, r.key), false);
    const [p] = log.append(0, [utf8.encode('next')], [utf8.encode('value')]);
    assert.equal(decodePointer(p!).frameOffset, lastFrame.frameOffset);
    await log.close();
    const again = await open(dir);
    assert.deepEqual(again.read(p!, utf8.encode('next')), utf8.encode('value'));
    await again.close();
  });

  test('a recorded length is never cut: a shorter file is SHORT_FILE', async (t) => {
    const { dir, path } = await smallSegment(t);
    const length = statSync(path).size;
    const segment = parseSegmentFileName(path.slice(path.lastIndexOf('/') + 1))!.segment;
    truncateSync(path, length - 1);
    await rejectsWithCode(open(dir, { recorded: new Map([[segment, { length, sealed: false }]]) }), 'SHORT_FILE');
    assert.equal(statSync(path).size, length - 1);
  });

  test('a segment whose header never landed is removed at open', async (t) => {
    const dir = tempDir(t, 'silt-vlog-');
    (await open(dir)).close();
    writeFileSync(join(dir, VLOG_DIR, segmentFileName(0, 5)), Buffer.from([0x53, 0x4c]));
    const log = await open(dir);
    assert.deepEqual(log.segmentInfos(), []);
    assert.deepEqual(readdirSync(join(dir, VLOG_DIR)), []);
    await log.close();
  });
});

describe('both accelerators', () => {
  let native: Accelerator;
  try {
    native = loadNativeAccelerator().accelerator;
  } catch (error) {
    test('the native accelerator loads', () => {
      throw error;
    });
    return;
  }
  for (const [writerName, writer, readerName, reader] of [
    ['native', native, 'ts', tsAccelerator],
    ['ts', tsAccelerator, 'native', native],
  ] as const) {
    test(`segments written by ${writerName} are byte-identical and read by ${readerName}`, async (t) => {
      const dirs = [tempDir(t, 'silt-vlog-'), tempDir(t, 'silt-vlog-')];
      const random = prng(11);
      const records = Array.from({ length: 300 }, (_, i) => record(i, random));
      const pointers: Uint8Array[][] = [];
      for (const [i, accelerator] of [writer, reader].entries()) {
        const log = await ValueLog.open(dirs[i]!, { accelerator, segmentBytes: 512 * 1024 });
        const ps: Uint8Array[] = [];
        for (let j = 0; j < records.length; j += 7) {
          const slice = records.slice(j, j + 7);
          ps.push(...log.append(0, slice.map((r) => r.key), slice.map((r) => r.value)));
        }
        await log.close();
        pointers.push(ps);
      }
      assert.deepEqual(pointers[0], pointers[1]);
      const names = readdirSync(join(dirs[0]!, VLOG_DIR));
      assert.deepEqual(names, readdirSync(join(dirs[1]!, VLOG_DIR)));
      for (const name of names) assert.deepEqual(readFileSync(join(dirs[0]!, VLOG_DIR, name)), readFileSync(join(dirs[1]!, VLOG_DIR, name)));
      const log = await ValueLog.open(dirs[0]!, { accelerator: reader, frameCacheBytes: 0 });
      records.forEach((r, i) => assert.deepEqual(log.read(pointers[0]![i]!, r.key), r.value));
      await log.close();
    });
  }
});
