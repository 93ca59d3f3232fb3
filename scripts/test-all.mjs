#!/usr/bin/env node
// Every test of the repository, in one run: the Rust crates' `cargo test`, each TypeScript
// package's node:test suite once with SILTDB_NATIVE=require and once with SILTDB_NATIVE=off, and
// the repository-level checks under test/ (packaging). Each step's counts come from its runner
// (cargo's "test result" lines, node's TAP summary), and the last line printed is the total, so a
// run that executed nothing cannot pass unnoticed.
//
//   node scripts/test-all.mjs [--only=cargo,require,off,repo]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : null;
const wants = (step) => only === null || only.has(step);

const tsPackages = ['bindings', 'core-ts', 'cli'];
const results = [];
const scratch = mkdtempSync(join(tmpdir(), 'silt-test-all-'));

function runCargo() {
  const started = Date.now();
  const run = spawnSync('cargo', ['test', '--workspace', '--release'], {
    cwd: join(root, 'packages/native'),
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
  });
  process.stdout.write(run.stdout ?? '');
  process.stderr.write(run.stderr ?? '');
  let passed = 0;
  let failed = 0;
  for (const m of (run.stdout ?? '').matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  if (run.status !== 0 && failed === 0) failed = 1;
  results.push({ step: 'cargo test (packages/native)', passed, failed, seconds: (Date.now() - started) / 1000 });
}

function tapCounts(file) {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const count = (label) => {
    const all = [...text.matchAll(new RegExp(`^# ${label} (\\d+)$`, 'gm'))];
    return all.length === 0 ? 0 : Number(all[all.length - 1][1]);
  };
  return { passed: count('pass'), failed: count('fail') + count('cancelled'), skipped: count('skipped') + count('todo') };
}

function runNodeTests(label, cwd, runner, env) {
  const started = Date.now();
  const tap = join(scratch, `${label.replace(/[^a-z0-9]+/gi, '_')}.tap`);
  const run = spawnSync(
    process.execPath,
    [runner, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`],
    { cwd, stdio: 'inherit', env: { ...process.env, ...env } },
  );
  const counts = tapCounts(tap) ?? { passed: 0, failed: 1, skipped: 0 };
  if (run.status !== 0 && counts.failed === 0) counts.failed = 1;
  results.push({ step: label, ...counts, seconds: (Date.now() - started) / 1000 });
}

if (wants('cargo')) {
  console.log('\n=== cargo test (packages/native) ===');
  runCargo();
}
for (const mode of ['require', 'off']) {
  if (!wants(mode)) continue;
  for (const pkg of tsPackages) {
    const label = `${pkg} [SILTDB_NATIVE=${mode}]`;
    console.log(`\n=== ${label} ===`);
    runNodeTests(label, join(root, 'packages', pkg), join(root, 'scripts/run-tests.mjs'), { SILTDB_NATIVE: mode });
  }
}
if (wants('repo')) {
  console.log('\n=== repository checks (test/) ===');
  runNodeTests('repository checks', root, join(root, 'scripts/run-tests.mjs'), {});
}
rmSync(scratch, { recursive: true, force: true });

let passed = 0;
let failed = 0;
console.log('\n=== summary ===');
for (const r of results) {
  passed += r.passed;
  failed += r.failed;
  const skipped = r.skipped ? `, ${r.skipped} skipped` : '';
  console.log(`${r.failed === 0 ? 'ok  ' : 'FAIL'} ${r.step}: ${r.passed} passed, ${r.failed} failed${skipped} (${r.seconds.toFixed(1)} s)`);
}
if (results.length === 0 || passed === 0) failed += 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
