/**
 * Profiling helper: `node --cpu-prof --import tsx bench/log-profile.ts [size] [mode]` (mode: many|one),
 * or under `perf record -F 4000 node --perf-basic-prof --import tsx …` (`perf report --sort sym`):
 * V8's sampling profiler attributes the time of a builtin called from optimized code, such as the
 * generic property-load stub, to the caller, where perf names it. `many` is the judged shape of
 * the benchmark: appendMany in calls of 1 MiB of records, one in flight while the next is built,
 * the array reused in place.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { bytesCodec, IndexedLog, NodeVfs } from '../src/log.js';

const size = Number(process.argv[2] ?? 100);
const mode = process.argv[3] ?? 'many';
const total = (size === 100 ? 32 : 128) * 1024 * 1024;
const count = Math.floor(total / size);
const payloads = Array.from({ length: 1024 }, (_, i) => new Uint8Array(size).fill(i & 0xff));
const dir = mkdtempSync(join(os.tmpdir(), 'silt-prof-'));
const vfs = new NodeVfs();
for (let round = 0; round < 4; round++) {
  const log = await IndexedLog.open(join(dir, `r${round}`), bytesCodec, { vfs, durability: 'none' });
  const start = performance.now();
  const cpu = process.cpuUsage();
  if (mode === 'many') {
    const perCall = Math.floor((1024 * 1024) / (size + 12));
    const batch: Uint8Array[] = [];
    let filled = 0;
    let previous: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < count; i++) {
      batch[filled++] = payloads[i & 1023]!;
      if (filled === perCall || i === count - 1) {
        if (batch.length !== filled) batch.length = filled;
        const call = log.appendMany(batch);
        filled = 0;
        await previous;
        previous = call;
      }
    }
    await previous;
  } else {
    const window = Math.max(64, Math.floor((256 * 1024) / size));
    let last: Promise<number> = Promise.resolve(0);
    let previousWindow: Promise<number> = Promise.resolve(0);
    for (let i = 0; i < count; i++) {
      last = log.append(payloads[i & 1023]!);
      if (i % window === window - 1) {
        await previousWindow;
        previousWindow = last;
      }
    }
    await last;
  }
  await log.close();
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  console.log(
    `${size} B ${mode}: ${((seconds * 1e9) / count).toFixed(0)} ns/entry wall, ` +
      `${((used.user * 1e3) / count).toFixed(0)} ns user + ${((used.system * 1e3) / count).toFixed(0)} ns system CPU (all threads)`,
  );
}
rmSync(dir, { recursive: true, force: true });
