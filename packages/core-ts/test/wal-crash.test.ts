/**
 * The WAL under power loss and bit rot. Random histories of appends (awaited or left in flight),
 * syncs and timer syncs are cut by `FaultVfs.crash()` — with torn unsynced writes — in each
 * durability mode; replay after reboot must give a prefix of the appended batches that holds every
 * batch acknowledged as durable. And a byte flipped anywhere in the WAL's files gives CORRUPTION,
 * or, inside the very last record, a torn tail that is cut (FORMAT §4) — never different data.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FaultVfs, SeededRandom } from '../src/vfs/index.js';
import { decodeWriteBatch, encodeWriteBatch, putOp, delOp, WriteAheadLog, type WalDurability, type WriteBatch } from '../src/wal/index.js';

const DIR = '/db/wal';

function randomBatch(random: SeededRandom, firstSeq: number): WriteBatch {
  const ops = [];
  const count = random.int(0, 6) === 0 ? 0 : random.int(1, 5);
  for (let k = 0; k < count; k++) {
    const key = `k${random.int(0, 50)}`;
    ops.push(random.chance(0.2) ? delOp(key) : putOp(key, 'v'.repeat(random.int(0, 200)) + firstSeq));
  }
  return { firstSeq, ops };
}

function plain(batch: WriteBatch): string {
  return Buffer.from(encodeWriteBatch(batch)).toString('hex');
}

async function replayed(vfs: FaultVfs, durability: WalDurability): Promise<string[]> {
  const wal = await WriteAheadLog.open(DIR, { vfs, durability });
  const out: string[] = [];
  try {
    await wal.replay(wal.firstIndex, (batch) => void out.push(plain(batch)));
  } finally {
    await wal.close();
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('WAL power loss', () => {
  for (const durability of ['sync', 'relaxed'] as const) {
    for (let seed = 1; seed <= 12; seed++) {
      test(`${durability}, seed ${seed}: replay after a crash is a prefix holding every durable batch`, async () => {
        const random = new SeededRandom(seed * 7919 + (durability === 'sync' ? 0 : 1));
        const vfs = new FaultVfs();
        const wal = await WriteAheadLog.open(DIR, { vfs, durability, segmentBytes: 1024, relaxedSyncMs: random.int(1, 8) });
        const appended: WriteBatch[] = [];
        /** Batches below this index were acknowledged as durable before the crash. */
        let durable = 0;
        const inFlight: Promise<unknown>[] = [];
        let seq = 1;
        const steps = random.int(5, 120);
        for (let step = 0; step < steps; step++) {
          const action = random.int(0, 9);
          if (action < 6) {
            const batch = randomBatch(random, seq);
            seq += batch.ops.length + random.int(0, 1);
            appended.push(batch);
            const wantSync = durability === 'relaxed' && random.chance(0.1);
            const done = wal.append(batch, wantSync ? { sync: true } : undefined).then((index) => {
              if (durability === 'sync' || wantSync) durable = Math.max(durable, index + 1);
            });
            inFlight.push(done.catch(() => {}));
            if (random.chance(0.5)) await done;
          } else if (action < 7) {
            const before = wal.nextIndex;
            const done = wal.sync().then(() => (durable = Math.max(durable, before)));
            inFlight.push(done.catch(() => {}));
            if (random.chance(0.5)) await done;
          } else if (action < 9) {
            await new Promise((resolve) => setImmediate(resolve));
          } else {
            await sleep(random.int(0, 10));
          }
        }
        durable = Math.max(durable, wal.durableIndex);
        const rebooted = vfs.crash({ seed });
        // The dead process's work fails from here on; let it settle before checking.
        await Promise.all(inFlight);
        await wal.close().catch(() => {});
        const recovered = await replayed(rebooted, durability);
        const expected = appended.map(plain);
        assert.ok(recovered.length >= durable, `recovered ${recovered.length} batches, but ${durable} were acknowledged as durable`);
        assert.deepEqual(recovered, expected.slice(0, recovered.length), 'the recovered batches are a prefix of the appended ones');
        // The log takes appends again where the recovered prefix ends.
        const reopened = await WriteAheadLog.open(DIR, { vfs: rebooted, durability });
        assert.equal(await reopened.append({ firstSeq: seq, ops: [putOp('after', 'crash')] }), recovered.length);
        await reopened.close();
      });
    }
  }
});

describe('WAL bit rot', () => {
  test('a flipped byte anywhere: CORRUPTION, or a torn last record cut — never other data', async () => {
    const random = new SeededRandom(42);
    const batches: WriteBatch[] = [];
    let seq = 1;
    for (let i = 0; i < 9; i++) {
      const batch = randomBatch(random, seq);
      seq += batch.ops.length;
      batches.push(batch);
    }
    const build = async (): Promise<FaultVfs> => {
      const vfs = new FaultVfs();
      const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'sync', segmentBytes: 700 });
      for (const batch of batches) await wal.append(batch);
      await wal.close();
      return vfs;
    };
    const probe = await build();
    const segments = (await probe.readdir(DIR)).filter((name) => name.endsWith('.seg'));
    assert.ok(segments.length >= 2, `the log spans several segments: ${segments.join(', ')}`);
    const lastSegment = segments[segments.length - 1]!;
    const lastRecordStart = probe.contentOf(`${DIR}/${lastSegment}`).length - 12 - encodeWriteBatch(batches[batches.length - 1]!).length;
    const expected = batches.map(plain);
    const outcomes = { corruption: 0, tornTail: 0 };
    for (const segment of segments) {
      const length = probe.contentOf(`${DIR}/${segment}`).length;
      for (let position = 0; position < length; position++) {
        const vfs = await build();
        vfs.corrupt(`${DIR}/${segment}`, position, 1 << (position % 8));
        let result: string[];
        try {
          result = await replayed(vfs, 'sync');
        } catch (error) {
          assert.equal((error as { code?: string }).code, 'CORRUPTION', `${segment}@${position}: ${(error as Error).message}`);
          outcomes.corruption++;
          continue;
        }
        assert.ok(segment === lastSegment && position >= lastRecordStart, `${segment}@${position}: the flip went unnoticed`);
        assert.deepEqual(result, expected.slice(0, -1), `${segment}@${position}: a torn last record is cut, nothing else`);
        outcomes.tornTail++;
      }
    }
    assert.ok(outcomes.corruption > 0 && outcomes.tornTail > 0, JSON.stringify(outcomes));
  });

  test('a payload that passes its checksum but is not a batch is CORRUPTION on replay', async () => {
    // Written below the WAL (as raw log entries) to stand in for a bug or a foreign file.
    const { IndexedLog, bytesCodec } = await import('../src/log.js');
    const vfs = new FaultVfs();
    const log = await IndexedLog.open(DIR, bytesCodec, { vfs });
    await log.append(encodeWriteBatch({ firstSeq: 1, ops: [putOp('a', 'b')] }));
    await log.append(new Uint8Array([1, 2, 3]));
    await log.close();
    assert.throws(() => decodeWriteBatch(new Uint8Array([1, 2, 3])), { code: 'CORRUPTION' });
    const wal = await WriteAheadLog.open(DIR, { vfs, durability: 'sync' });
    const seen: number[] = [];
    await assert.rejects(
      wal.replay(0, (_, index) => void seen.push(index)),
      { code: 'CORRUPTION' },
    );
    assert.deepEqual(seen, [0]);
    await wal.close();
  });
});
