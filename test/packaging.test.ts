/**
 * Prebuilt binaries as users get them: pack this platform's @siltdb/native-<platform> package and
 * the wrappers (@siltdb/native, @siltdb/bindings, siltdb) with `pnpm pack`, install the tarballs
 * into an empty project with npm while no Rust toolchain is on PATH, and prove there that the
 * native accelerator loads (`accel.kind === 'native'`) and computes a known CRC32C — from both
 * `require` and `import` — and that `siltdb/level` (the abstract-level database) writes and reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function platformPackageName(): string {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
    return `linux-${arch}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
  }
  if (platform === 'win32') return `win32-${arch}-msvc`;
  return `${platform}-${arch}`;
}

/** PATH without any directory that holds a Rust toolchain, so nothing can compile on install. */
function pathWithoutRust(): string {
  const keep = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !['cargo', 'rustc', 'rustup'].some((tool) => existsSync(join(dir, tool))));
  const nodeDir = dirname(process.execPath);
  return [nodeDir, ...keep.filter((d) => d !== nodeDir)].join(delimiter);
}

function pnpm(args: string[], cwd: string): string {
  return execFileSync('pnpm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('packed tarballs install without Rust and load the native accelerator', { timeout: 300_000 }, () => {
  const platformDir = join(root, 'packages/native/npm', platformPackageName());
  const binary = readdirSync(platformDir).find((f) => f.endsWith('.node'));
  assert.ok(binary, `no .node binary staged in ${platformDir}: run pnpm build first`);

  const work = mkdtempSync(join(tmpdir(), 'silt-pack-'));
  try {
    const tarballs = join(work, 'tarballs');
    const packages = [platformDir, join(root, 'packages/native'), join(root, 'packages/bindings'), join(root, 'packages/core-ts')];
    for (const dir of packages) pnpm(['pack', '--pack-destination', tarballs], dir);
    const files = readdirSync(tarballs).filter((f) => f.endsWith('.tgz'));
    assert.equal(files.length, packages.length, `expected ${packages.length} tarballs, got ${files.join(', ')}`);
    const byName = (prefix: string): string => {
      const found = files.find((f) => f.startsWith(prefix) && /^\d/.test(f.slice(prefix.length)));
      assert.ok(found, `no tarball for ${prefix}`);
      return `file:${join(tarballs, found)}`;
    };
    const platformTarball = byName(`siltdb-native-${platformPackageName()}-`);
    const nativeTarball = byName('siltdb-native-');
    const bindingsTarball = byName('siltdb-bindings-');
    const coreTarball = byName('siltdb-');

    const app = join(work, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'silt-install-check',
        private: true,
        version: '1.0.0',
        dependencies: { siltdb: coreTarball },
        // The tarballs' internal dependencies name versions that are not on a registry; point
        // them at the local tarballs, as a registry install would resolve them to the same files.
        overrides: {
          '@siltdb/bindings': bindingsTarball,
          '@siltdb/native': nativeTarball,
          [`@siltdb/native-${platformPackageName()}`]: platformTarball,
        },
      }),
    );
    const env = { ...process.env, PATH: pathWithoutRust(), npm_config_audit: 'false', npm_config_fund: 'false' };
    delete env.NAPI_RS_NATIVE_LIBRARY_PATH;
    assert.equal(spawnSync('cargo', ['--version'], { env }).error?.message.includes('ENOENT'), true, 'cargo must not be on PATH');
    const install = spawnSync('npm', ['install', '--no-package-lock', '--loglevel=error'], { cwd: app, env, encoding: 'utf8' });
    assert.equal(install.status, 0, `npm install failed:\n${install.stdout}\n${install.stderr}`);
    assert.ok(existsSync(join(app, 'node_modules/@siltdb/native', `../native-${platformPackageName()}`, binary!)), 'platform package installed');
    assert.ok(!existsSync(join(app, 'node_modules/@siltdb/native/target')), 'no build products shipped in the wrapper');

    const check = (file: string, source: string): Record<string, unknown> => {
      writeFileSync(join(app, file), source);
      const run = spawnSync(process.execPath, [file], { cwd: app, env: { ...env, SILTDB_NATIVE: 'require' }, encoding: 'utf8' });
      assert.equal(run.status, 0, `${file} failed:\n${run.stdout}\n${run.stderr}`);
      return JSON.parse(run.stdout) as Record<string, unknown>;
    };
    const probe = (accel: string) =>
      `JSON.stringify({ kind: ${accel}.kind, crc: ${accel}.crc32c(Buffer.from('123456789')).toString(16) })`;
    const fromRequire = check('check.cjs', `const { accel } = require('siltdb'); console.log(${probe('accel')});`);
    assert.deepEqual(fromRequire, { kind: 'native', crc: 'e3069283' });
    const fromImport = check('check.mjs', `import { accel } from 'siltdb'; console.log(${probe('accel')});`);
    assert.deepEqual(fromImport, { kind: 'native', crc: 'e3069283' });

    // siltdb/level: the abstract-level database, with abstract-level installed as a dependency.
    const levelProbe = (dir: string) => `
      const db = new SiltLevel(${JSON.stringify(join(app, dir))}, { valueEncoding: 'json' });
      await db.put('k', { n: 1 });
      const out = { value: await db.get('k'), getSync: db.supports.getSync, keys: await db.keys().all() };
      await db.close();
      console.log(JSON.stringify(out));`;
    const expected = { value: { n: 1 }, getSync: true, keys: ['k'] };
    const levelRequire = check('level.cjs', `const { SiltLevel } = require('siltdb/level'); (async () => {${levelProbe('db-cjs')}})();`);
    assert.deepEqual(levelRequire, expected);
    const levelImport = check('level.mjs', `import { SiltLevel } from 'siltdb/level';${levelProbe('db-esm')}`);
    assert.deepEqual(levelImport, expected);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
