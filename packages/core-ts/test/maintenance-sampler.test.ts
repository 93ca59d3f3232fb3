/**
 * Sampled staleness (src/maintenance/sampler.ts) and the planner input it gives: the estimate of a
 * segment with a known live share, expiry by writes and time, and a rewrite pass that picks a
 * segment whose ledger still says live but whose records were all overwritten (the overwrites'
 * pointers still in the memtable) — which the ledger alone would not pick.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accel } from '@siltdb/bindings';
import type { Ledger, LedgerEntry } from '../src/manifest/index.js';
import { open } from '../src/index.js';
import { planRewrites } from '../src/maintenance/planner.js';
import { StalenessSampler, type SamplerHost } from '../src/maintenance/sampler.js';
import { decodePointer, ValueLog } from '../src/vlog/index.js';
import { tempDir } from './helpers/log-fixtures.js';

const utf8 = new TextEncoder();
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A value log with sealed segments of ~`count` records each, and every record's pointer by key. */
async function filledLog(dir: string, records: number): Promise<{ log: ValueLog; pointers: Map<string, Uint8Array> }> {
  const log = await ValueLog.open(dir, { accelerator: accel, segmentBytes: 64 * 1024 });
  const pointers = new Map<string, Uint8Array>();
  for (let i = 0; i < records; i += 16) {
    const keys = Array.from({ length: 16 }, (_, j) => utf8.encode(`k${String(i + j).padStart(6, '0')}`));
    // Incompressible values, so segments fill at the pace of the raw bytes.
    const values = keys.map((_, j) => {
      let x = (i + j + 1) * 2654435761;
      return Uint8Array.from({ length: 200 + ((i + j) % 50) }, () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24));
    });
    log.append(0, keys, values).forEach((pointer, j) => pointers.set(hex(keys[j]!), pointer));
  }
  await log.sync();
  return { log, pointers };
}

/** A host whose "newest pointer" of a key is its record's pointer when `live(key)`, another one else. */
function host(log: ValueLog, pointers: Map<string, Uint8Array>, live: (key: string) => boolean, writes = { n: 0 }): SamplerHost & { lookups: number } {
  const other = new Uint8Array(23).fill(1);
  const h = {
    valueLog: log,
    lookups: 0,
    newestPointer(key: Uint8Array) {
      h.lookups++;
      const k = hex(key);
      return live(k) ? pointers.get(k)! : other;
    },
    writeCount: () => writes.n,
  };
  return h;
}

function hash(text: string): number {
  let x = 2166136261;
  for (let i = 0; i < text.length; i++) x = Math.imul(x ^ text.charCodeAt(i), 16777619) >>> 0;
  return x;
}

describe('staleness sampler', () => {
  test('estimates a segment’s stale share from a sample of its records', async (t) => {
    const { log, pointers } = await filledLog(tempDir(t, 'silt-sampler-'), 2000);
    const sealed = log.segmentInfos().filter((info) => info.sealed);
    assert.ok(sealed.length >= 3);
    // About 30 % of keys live, chosen by a hash: the true share per segment is computed exactly.
    const live = (key: string) => hash(key) % 10 < 3;
    const h = host(log, pointers, live);
    const sampler = new StalenessSampler({ recordsPerSegment: 48 });
    for (const info of sealed) {
      let liveBytes = 0;
      let total = 0;
      for (const [key, pointer] of pointers) {
        const p = decodePointer(pointer);
        if (p.segment !== info.segment) continue;
        total += p.recordBytes;
        if (live(key)) liveBytes += p.recordBytes;
      }
      const truth = 1 - liveBytes / total;
      const before = h.lookups;
      const estimate = sampler.sample(h, info)!;
      assert.equal(h.lookups - before, 48, 'one newest-pointer lookup per sampled record');
      assert.ok(Math.abs(estimate.staleRatio - truth) < 0.2, `segment ${info.segment}: estimate ${estimate.staleRatio}, truth ${truth}`);
      assert.equal(sampler.staleRatio(info.segment), estimate.staleRatio);
    }
    // All live and all overwritten are exact.
    const allLive = new StalenessSampler();
    const allDead = new StalenessSampler();
    assert.equal(allLive.sample(host(log, pointers, () => true), sealed[0]!)!.staleRatio, 0);
    assert.equal(allDead.sample(host(log, pointers, () => false), sealed[0]!)!.staleRatio, 1);
    await log.close();
  });

  test('refresh samples missing and expired estimates only, forgets deleted segments', async (t) => {
    const { log, pointers } = await filledLog(tempDir(t, 'silt-sampler-'), 1000);
    const writes = { n: 0 };
    let liveNow = true;
    const h = host(log, pointers, () => liveNow, writes);
    const sampler = new StalenessSampler({ recordsPerSegment: 8, maxWrites: 100, maxAgeMs: 60_000, budgetMs: 1e9 });
    const infos = log.segmentInfos();
    const sealed = infos.filter((info) => info.sealed);
    sampler.refresh(h, infos, 1000);
    for (const info of sealed) assert.equal(sampler.staleRatio(info.segment), 0);
    const unsealed = infos.find((info) => !info.sealed);
    if (unsealed !== undefined) assert.equal(sampler.staleRatio(unsealed.segment), undefined, 'the open segment is not sampled');

    liveNow = false;
    writes.n = 99;
    const lookups = h.lookups;
    sampler.refresh(h, infos, 2000);
    assert.equal(h.lookups, lookups, 'fresh estimates are kept');
    writes.n = 100;
    sampler.refresh(h, infos, 2000);
    for (const info of sealed) assert.equal(sampler.staleRatio(info.segment), 1, 'expired after maxWrites writes');

    liveNow = true;
    sampler.refresh(h, infos, 2000 + 60_000);
    for (const info of sealed) assert.equal(sampler.staleRatio(info.segment), 0, 'expired after maxAgeMs');

    sampler.refresh(h, infos.filter((info) => info.segment !== sealed[0]!.segment), 2000 + 60_000);
    assert.equal(sampler.staleRatio(sealed[0]!.segment), undefined);

    // A segment that cannot be read gets no estimate, and refresh (called from the controller's
    // timer) does not throw.
    const missing = { segment: 9999, lane: 0, length: 4096, synced: 4096, sealed: true };
    sampler.refresh(h, [...infos, missing], 3000 + 60_000);
    assert.equal(sampler.staleRatio(missing.segment), undefined);
    assert.equal(sampler.stats().failures, 1);
    assert.throws(() => sampler.sample(h, missing), (error: { code?: string }) => error.code === 'CORRUPTION');
    await log.close();
  });

  test('refreshSoon samples on the next turn of the event loop, not in the call; calls meanwhile share one refresh; cancelRefresh drops it', async (t) => {
    const { log, pointers } = await filledLog(tempDir(t, 'silt-sampler-'), 1000);
    const h = host(log, pointers, () => true);
    const sampler = new StalenessSampler({ recordsPerSegment: 8, budgetMs: 1e9 });
    const infos = log.segmentInfos();
    const sealed = infos.filter((info) => info.sealed);
    assert.ok(sealed.length >= 2, `${sealed.length} sealed segments`);
    let refreshes = 0;
    const refresh = (): void => {
      refreshes++;
      sampler.refresh(h, infos, 1000);
    };
    sampler.refreshSoon(refresh);
    sampler.refreshSoon(refresh);
    assert.equal(h.lookups, 0, 'nothing is sampled inside the call');
    assert.equal(sampler.staleRatio(sealed[0]!.segment), undefined);
    assert.equal(sampler.refreshPending, true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(refreshes, 1, 'the two calls shared one refresh');
    assert.equal(sampler.refreshPending, false);
    for (const info of sealed) assert.equal(sampler.staleRatio(info.segment), 0);

    sampler.refreshSoon(refresh);
    sampler.cancelRefresh();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(refreshes, 1, 'a cancelled refresh does not run');
    assert.equal(sampler.refreshPending, false);
    await log.close();
  });
});

describe('planner with sampled staleness', () => {
  const entry = (segment: number, total: number, stale: number): LedgerEntry =>
    ({ segment, lane: 0, total, stale, length: 0, sealed: true, created: 0, attempts: 0, cooldownUntil: 0, retiredAt: 0 }) as unknown as LedgerEntry;

  test('a segment the ledger shows live but the sample shows stale is planned, scored by the larger ratio', () => {
    const ledger: Ledger = new Map([
      [1, entry(1, 1000, 0)],
      [2, entry(2, 1000, 600)],
      [3, entry(3, 1000, 100)],
    ]);
    const infos = [1, 2, 3].map((segment) => ({ segment, lane: 0, length: 1100, synced: 1100, sealed: true }));
    assert.deepEqual(planRewrites(ledger, infos, 10).map((c) => c.segment), [2]);
    const sampled = new Map([[1, 0.9], [2, 0.2]]);
    const plan = planRewrites(ledger, infos, 10, { sampledStaleRatio: (segment) => sampled.get(segment) });
    assert.deepEqual(plan.map((c) => c.segment), [1, 2]);
    assert.equal(plan[0]!.staleRatio, 0.9);
    assert.equal(plan[0]!.sampledStaleRatio, 0.9);
    assert.equal(plan[0]!.stale, 0, 'ledger figures stay the ledger’s');
    assert.equal(plan[1]!.staleRatio, 0.6, 'the ledger ratio when it is larger');
  });

  test('a rewrite pass takes segments whose records were overwritten while the ledger still says live', async (t) => {
    const dir = tempDir(t, 'silt-sampler-db-');
    const db = await open(dir, { valueThreshold: 16, valueLogSegmentBytes: 4096, disableAutoCompaction: true });
    const value = (round: number, i: number) => `${round}:${String(i).padStart(4, '0')}:${'v'.repeat(120)}`;
    for (let i = 0; i < 200; i++) await db.put(`key${i}`, value(0, i));
    await db.compact();
    const ledgerLive = () => {
      const s = db.stats();
      return s.maintenance!.queue.segments;
    };
    assert.equal(ledgerLive(), 0, 'nothing stale in the ledger');
    // Overwrite every key: the new pointers stay in the memtable, the ledger still shows the old
    // segments all live.
    for (let i = 0; i < 200; i++) await db.put(`key${i}`, value(1, i));
    assert.equal(ledgerLive(), 0, 'the ledger does not see the overwrites yet');
    const report = await db.maintain({ mode: 'rewrite' });
    assert.ok(report.plannedSegments > 0, JSON.stringify(report));
    // The sample was right: those segments held nothing live, so nothing was copied.
    assert.equal(report.copiedBytes, 0);
    const sampler = db.stats().maintenance!.sampler;
    assert.ok(sampler.samples >= report.plannedSegments && sampler.records >= 48 * report.plannedSegments, JSON.stringify(sampler));
    for (let i = 0; i < 200; i++) assert.equal(Buffer.from((await db.get(`key${i}`))!).toString(), value(1, i));
    await db.close();
  });
});
