#!/usr/bin/env node
// Runs a package's TypeScript tests with node's own test runner. Node 20's `--test` does not
// discover *.test.ts files, so this lists them (test/**/*.test.ts, sorted) and hands them over
// explicitly, with tsx as the loader. Extra arguments are passed to node (e.g. --test-reporter).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const files = findTests('test');
if (files.length === 0) {
  console.error(`no test files under ${join(process.cwd(), 'test')}`);
  process.exit(1);
}
// A per-test limit far above any test's run time: a test that hangs fails with a message instead of
// holding the whole run until CI's own limit.
const TEST_TIMEOUT_MS = 10 * 60 * 1000;
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-timeout=${TEST_TIMEOUT_MS}`, ...process.argv.slice(2), ...files],
  { stdio: 'inherit' },
);
process.exit(result.status ?? 1);
