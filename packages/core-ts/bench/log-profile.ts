/** Profiling helper: `node --cpu-prof --import tsx bench/log-profile.ts [size] [mode]` (mode: many|one). */
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
    let previous: Promise<unknown> = Promise.resolve();
    for (let i = 0; i < count; i += 1024) {
      const call = log.appendMany(payloads.slice(0, Math.min(1024, count - i)));
      await previous;
      previous = call;
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
