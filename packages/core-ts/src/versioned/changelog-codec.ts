/**
 * The changelog record of one version (docs/FORMAT.md, "Versioned store"), all integers little-endian:
 *
 *   u8 format (1) ‖ u64 version ‖ u32 set count ‖ sets…
 *   set:    u32 name length ‖ name (UTF-8) ‖ u32 change count ‖ changes…
 *   change: u8 op (1 put, 0 delete) ‖ u32 key length ‖ key ‖ [put: u32 value length ‖ value]
 *
 * The log around it adds a length and a CRC32C per record. Decoding reads the version at once and
 * the change sets only when asked: version lookups (binary search) touch many records.
 */
import { ErrorCodes, siltError } from '../errors.js';
import type { Codec } from '../log/codec.js';
import type { Change, ChangeSet } from './change-set.js';

const FORMAT = 1;
const HEADER_BYTES = 1 + 8 + 4;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export class ChangelogRecord {
  constructor(
    readonly version: number,
    private readonly bytes: Uint8Array | null,
    private sets: readonly ChangeSet[] | null,
  ) {}

  static of(version: number, sets: readonly ChangeSet[]): ChangelogRecord {
    return new ChangelogRecord(version, null, sets);
  }

  changeSets(): readonly ChangeSet[] {
    this.sets ??= decodeSets(this.bytes!, this.version);
    return this.sets;
  }

  encode(): Uint8Array {
    return this.bytes ?? encodeRecord(this.version, this.sets!);
  }
}

function encodeRecord(version: number, sets: readonly ChangeSet[]): Uint8Array {
  const names = sets.map((set) => utf8.encode(set.name));
  let size = HEADER_BYTES;
  sets.forEach((set, i) => {
    size += 8 + names[i]!.length;
    for (const change of set.changes) size += 1 + 4 + change.key.length + (change.value === null ? 0 : 4 + change.value.length);
  });
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = FORMAT;
  view.setBigUint64(1, BigInt(version), true);
  view.setUint32(9, sets.length, true);
  let at = HEADER_BYTES;
  const put = (bytes: Uint8Array): void => {
    view.setUint32(at, bytes.length, true);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  };
  sets.forEach((set, i) => {
    put(names[i]!);
    view.setUint32(at, set.changes.length, true);
    at += 4;
    for (const change of set.changes) {
      out[at++] = change.value === null ? 0 : 1;
      put(change.key);
      if (change.value !== null) put(change.value);
    }
  });
  return out;
}

function corrupt(version: number, why: string): Error {
  return siltError(ErrorCodes.CORRUPTION, `changelog record of version ${version}: ${why}`);
}

function decodeSets(bytes: Uint8Array, version: number): ChangeSet[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let at = HEADER_BYTES;
  const u32 = (): number => {
    if (at + 4 > bytes.length) throw corrupt(version, 'truncated');
    const value = view.getUint32(at, true);
    at += 4;
    return value;
  };
  const chunk = (): Uint8Array => {
    const length = u32();
    if (at + length > bytes.length) throw corrupt(version, 'truncated');
    const out = bytes.subarray(at, at + length);
    at += length;
    return out;
  };
  const setCount = view.getUint32(9, true);
  const sets: ChangeSet[] = [];
  for (let s = 0; s < setCount; s++) {
    let name: string;
    try {
      name = utf8Decoder.decode(chunk());
    } catch (error) {
      if ((error as { code?: unknown }).code === ErrorCodes.CORRUPTION) throw error;
      throw corrupt(version, 'a change-set name is not UTF-8');
    }
    const changeCount = u32();
    const changes: Change[] = [];
    for (let c = 0; c < changeCount; c++) {
      if (at >= bytes.length) throw corrupt(version, 'truncated');
      const op = bytes[at++];
      if (op !== 0 && op !== 1) throw corrupt(version, `unknown change op ${op}`);
      const key = chunk();
      if (key.length === 0) throw corrupt(version, 'an empty key');
      const value = op === 1 ? chunk() : null;
      if (value !== null && value.length === 0) throw corrupt(version, 'an empty value');
      changes.push({ key, value });
    }
    sets.push({ name, changes });
  }
  if (at !== bytes.length) throw corrupt(version, `${bytes.length - at} stray bytes at the end`);
  return sets;
}

export const changelogCodec: Codec<ChangelogRecord> = {
  encode: (record) => record.encode(),
  decode: (bytes) => {
    if (bytes.length < HEADER_BYTES || bytes[0] !== FORMAT) {
      throw siltError(ErrorCodes.CORRUPTION, `a changelog record of ${bytes.length} bytes with format ${bytes[0]} is malformed`);
    }
    const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(1, true);
    if (version > BigInt(Number.MAX_SAFE_INTEGER)) throw siltError(ErrorCodes.CORRUPTION, `changelog version ${version} is out of range`);
    return new ChangelogRecord(Number(version), bytes, null);
  },
};
