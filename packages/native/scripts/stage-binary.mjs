#!/usr/bin/env node
/**
 * Copy the freshly built `siltdb-native.<platform>.node` into `npm/<platform>/`, the platform package
 * (`@siltdb/native-<platform>`) that installs carry. The copy in this directory serves local work;
 * the staged one is what gets published and what the loader falls back to.
 *
 * The platform name is derived exactly as the napi-rs loader in `index.js` derives it, so the file
 * lands where that loader looks: process.platform and process.arch, glibc vs musl on Linux, MSVC vs
 * GNU on Windows.
 */
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const { napi } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));

function isMusl() {
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    // No ldd script to read: ask the runtime which libc it was loaded with.
  }
  const report = process.report?.getReport?.();
  if (report?.header?.glibcVersionRuntime) return false;
  if (Array.isArray(report?.sharedObjects)) {
    return report.sharedObjects.some((f) => f.includes('libc.musl-') || f.includes('ld-musl-'));
  }
  try {
    return execSync('ldd --version', { encoding: 'utf8' }).includes('musl');
  } catch {
    return false;
  }
}

function platformArchAbi() {
  const { platform, arch } = process;
  if (platform === 'linux') {
    const libc = isMusl() ? 'musl' : 'gnu';
    return arch === 'arm' ? `linux-arm-${libc}eabihf` : `linux-${arch}-${libc}`;
  }
  if (platform === 'win32') {
    const vars = process.config?.variables ?? {};
    const gnu = vars.shlib_suffix === 'dll.a' || vars.node_target_type === 'shared_library';
    return `win32-${arch}-${arch === 'x64' && gnu ? 'gnu' : 'msvc'}`;
  }
  return `${platform}-${arch}`;
}

const platform = platformArchAbi();
const fileName = `${napi.binaryName}.${platform}.node`;
const source = join(packageDir, fileName);
const targetDir = join(packageDir, 'npm', platform);

if (!existsSync(source)) {
  console.error(`stage-binary: ${relative(process.cwd(), source)} does not exist; run napi build first`);
  process.exit(1);
}
if (!existsSync(join(targetDir, 'package.json'))) {
  console.error(
    `stage-binary: there is no platform package npm/${platform}/ for ${fileName}; ` +
      `add its target to package.json "napi.targets" and create the package first`,
  );
  process.exit(1);
}
const target = join(targetDir, fileName);
copyFileSync(source, target);
console.log(`stage-binary: ${fileName} (${statSync(target).size} bytes) -> npm/${platform}/`);
