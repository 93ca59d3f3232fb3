#!/usr/bin/env node
// Every test of the repository, in one run: the Rust crates' `cargo test`, each TypeScript
// package's node:test suite once with SILTDB_NATIVE=require and once with SILTDB_NATIVE=off, and
// the repository-level checks under test/ (packaging). Each step's counts come from its runner
// (cargo's "test result" lines, node's TAP summary), and the last line printed is the total, so a
// run that executed nothing cannot pass unnoticed. In both accelerator modes it also runs
// abstract-level's own compliance suite against SiltLevel (tape; its `# pass` / `# fail` counts
// are added like the others).
//
//   node scripts/test-all.mjs [--only=cargo,require,off,level,repo]   (level: only the abstract-level suites)
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

/**
 * A tape suite: the console gets its failures (with their diagnostics) and tape's closing counts,
 * not every one of its 5,000 `ok` lines, so CI logs stay readable.
 */
function runTapeSuite(label, cwd, args, env) {
  const started = Date.now();
  const run = spawnSync(process.execPath, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
    maxBuffer: 256 * 1024 * 1024,
  });
  const lines = (run.stdout ?? '').split('\n');
  let inFailure = false;
  for (const line of lines) {
    if (line.startsWith('not ok ')) inFailure = true;
    else if (!line.startsWith(' ')) inFailure = false;
    if (inFailure || /^# (SiltLevel|tests|pass|fail|ok)\b/.test(line) || /^1\.\.\d+$/.test(line)) console.log(line);
  }
  process.stderr.write(run.stderr ?? '');
  const count = (label) => {
    const all = [...(run.stdout ?? '').matchAll(new RegExp(`^# ${label}\\s+(\\d+)$`, 'gm'))];
    return all.length === 0 ? 0 : Number(all[all.length - 1][1]);
  };
  const counts = { passed: count('pass'), failed: count('fail'), skipped: count('skip') + count('todo') };
  if (run.status !== 0 && counts.failed === 0) counts.failed = 1;
  results.push({ step: label, ...counts, seconds: (Date.now() - started) / 1000 });
}

if (wants('cargo')) {
  console.log('\n=== cargo test (packages/native) ===');
  runCargo();
}
for (const mode of ['require', 'off']) {
  if (!wants(mode) && !wants('level')) continue;
  for (const pkg of wants(mode) ? tsPackages : []) {
    const label = `${pkg} [SILTDB_NATIVE=${mode}]`;
    console.log(`\n=== ${label} ===`);
    runNodeTests(label, join(root, 'packages', pkg), join(root, 'scripts/run-tests.mjs'), { SILTDB_NATIVE: mode });
  }
  const suite = `abstract-level suite on SiltLevel [SILTDB_NATIVE=${mode}]`;
  console.log(`\n=== ${suite} ===`);
  runTapeSuite(suite, join(root, 'packages/core-ts'), ['--import', 'tsx', 'test/level/abstract-level-suite.ts'], { SILTDB_NATIVE: mode });
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
