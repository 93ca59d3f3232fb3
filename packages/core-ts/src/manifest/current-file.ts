/**
 * `CURRENT`: the one small file that says which manifest is live. It is one line,
 * `MANIFEST-<number> <crc32c>\n`, the checksum (8 lowercase hex digits) taken over the name, so
 * that any damaged byte — in the name, the checksum or the line end — is `CORRUPTION`, never a
 * wrong manifest.
 *
 * It is replaced atomically in two steps the store tells apart: `stageCurrentFile` writes and
 * fsyncs `CURRENT.tmp` (a failure there leaves `CURRENT` untouched), `commitCurrentFile` renames it
 * over `CURRENT` and fsyncs the directory (a failure there leaves it unknown which one the disk
 * holds).
 */
import { join } from 'node:path';
import { accel } from '@siltdb/bindings';
import { ErrorCodes, siltError } from '../errors.js';
import { isNotFound } from '../vfs/io-error.js';
import type { Vfs } from '../vfs/types.js';
import { CURRENT_FILE, CURRENT_TEMP_FILE, manifestDirName, parseManifestDirName } from './file-names.js';

const LINE = /^(MANIFEST-\d+) ([0-9a-f]{8})\n$/;
const MAX_CURRENT_BYTES = 64;

export function encodeCurrentFile(manifestNumber: number): Uint8Array {
  const name = manifestDirName(manifestNumber);
  return new TextEncoder().encode(`${name} ${checksumHex(name)}\n`);
}

/** The manifest number in CURRENT's bytes; `CORRUPTION` unless they are exactly a valid line. */
export function decodeCurrentFile(bytes: Uint8Array, path: string): number {
  const corrupt = (why: string) => siltError(ErrorCodes.CORRUPTION, `${path} is corrupt: ${why}`);
  if (bytes.length > MAX_CURRENT_BYTES) throw corrupt(`${bytes.length} bytes is too long for a CURRENT file`);
  // latin1: one character per byte, so a damaged byte cannot vanish in UTF-8 decoding.
  const match = LINE.exec(Buffer.from(bytes).toString('latin1'));
  if (match === null) throw corrupt('it is not one line "MANIFEST-<number> <crc32c>"');
  const [, name, checksum] = match;
  if (checksumHex(name!) !== checksum) throw corrupt(`the checksum ${checksum} does not match ${name}`);
  const number = parseManifestDirName(name!);
  if (number === null) throw corrupt(`${name} is not a valid manifest name`);
  return number;
}

/** The manifest number CURRENT names, or null when there is no CURRENT file. */
export async function readCurrentFile(vfs: Vfs, dir: string): Promise<number | null> {
  const path = join(dir, CURRENT_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await vfs.readFile(path);
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  return decodeCurrentFile(bytes, path);
}

/** Write and fsync `CURRENT.tmp` naming the manifest. `CURRENT` itself is not touched. */
export async function stageCurrentFile(vfs: Vfs, dir: string, manifestNumber: number): Promise<void> {
  const file = await vfs.open(join(dir, CURRENT_TEMP_FILE), { mode: 'replace' });
  try {
    await file.write(encodeCurrentFile(manifestNumber), 0);
    await file.sync();
  } finally {
    await file.close();
  }
}

/** Rename the staged `CURRENT.tmp` over `CURRENT` and fsync the directory. */
export async function commitCurrentFile(vfs: Vfs, dir: string): Promise<void> {
  await vfs.rename(join(dir, CURRENT_TEMP_FILE), join(dir, CURRENT_FILE), { durable: true });
}

function checksumHex(name: string): string {
  return accel.crc32c(new TextEncoder().encode(name)).toString(16).padStart(8, '0');
}
