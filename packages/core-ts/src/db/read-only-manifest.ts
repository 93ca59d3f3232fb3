/**
 * Reading a manifest without writing anything and without its lock, for `readOnly` opens beside a
 * writer. `ManifestStore.open` cannot serve them: it takes the manifest log's lock, repairs torn
 * tails, removes stale manifests and may rewrite. Here the manifest's segment files are read and
 * every record verified (FORMAT §4); a torn record at the very end of the last segment is an edit
 * the writer is appending right now and is left out. A rewrite by the writer can replace the
 * manifest while it is read, so a failed read is retried a few times before it is reported.
 */
import { join } from 'node:path';
import { ErrorCodes, siltError } from '../errors.js';
import { parseSegmentFileName, segmentFileName } from '../log/file-names.js';
import { decodeIndexStamp, INDEX_STAMP_BYTES, SEGMENT_MAGIC } from '../log/index-stamp.js';
import { RECORD_HEADER_BYTES } from '../log/record-layout.js';
import { recordPayloadLength, scanRecords } from '../log/record.js';
import { decodeEdit, manifestDirName, VersionSet } from '../manifest/index.js';
import { readCurrentFile } from '../manifest/current-file.js';
import type { Vfs } from '../vfs/types.js';

const ATTEMPTS = 5;

/** The version set the database's manifest describes, read without writing. */
export async function readManifestReadOnly(vfs: Vfs, dir: string): Promise<VersionSet> {
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      return await readOnce(vfs, dir);
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 5 * (attempt + 1)));
    }
  }
  throw lastError;
}

async function readOnce(vfs: Vfs, dir: string): Promise<VersionSet> {
  const number = await readCurrentFile(vfs, dir);
  if (number === null) throw siltError(ErrorCodes.INVALID_ARGUMENT, `${dir} holds no database (no CURRENT)`);
  const manifestDir = join(dir, manifestDirName(number));
  const starts = (await vfs.readdir(manifestDir))
    .map(parseSegmentFileName)
    .filter((start): start is number => start !== null)
    .sort((a, b) => a - b);
  if (starts[0] !== 0) throw siltError(ErrorCodes.CORRUPTION, `the manifest in ${manifestDir} does not start at entry 0`);
  const payloads: Uint8Array[] = [];
  for (let s = 0; s < starts.length; s++) {
    const start = starts[s]!;
    const last = s === starts.length - 1;
    if (start !== payloads.length) throw siltError(ErrorCodes.CORRUPTION, `the manifest in ${manifestDir} has a gap before entry ${start}`);
    const bytes = await vfs.readFile(join(manifestDir, segmentFileName(start)));
    if (decodeIndexStamp(bytes, SEGMENT_MAGIC) !== start) {
      if (last && bytes.length < INDEX_STAMP_BYTES) break;
      throw siltError(ErrorCodes.CORRUPTION, `segment ${start} of ${manifestDir} has a bad header`);
    }
    const scan = scanRecords(bytes, INDEX_STAMP_BYTES, bytes.length);
    if (scan.defect !== null && !last) throw siltError(ErrorCodes.CORRUPTION, `segment ${start} of ${manifestDir} is damaged (${scan.defect})`);
    for (const offset of scan.offsets) {
      payloads.push(bytes.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + recordPayloadLength(bytes, offset)));
    }
  }
  if (payloads.length === 0) throw siltError(ErrorCodes.CORRUPTION, `the manifest in ${manifestDir} holds no edit`);
  const versions = new VersionSet();
  payloads.forEach((payload, index) => {
    const edit = decodeEdit(payload);
    if (edit.snapshot !== (index === 0)) throw siltError(ErrorCodes.CORRUPTION, `the manifest in ${manifestDir}: edit ${index} is misplaced`);
    versions.apply(edit);
  });
  return versions;
}
