/**
 * The store's metadata record: the committed version and its LtHash, kept in the working database
 * under the empty key (user keys are never empty, so it cannot collide). It is written in the same
 * engine batch as the data of its version, so the hash on disk always describes exactly the data on
 * disk (docs/FORMAT.md, "Versioned store"):
 *
 *   u8 format (1) ‖ u64le version ‖ 2048 bytes of LtHash lanes
 */
import { ErrorCodes, siltError } from '../errors.js';
import { LT_HASH_BYTES } from './lthash.js';

export const META_KEY = new Uint8Array(0);
const META_FORMAT = 1;
export const META_BYTES = 1 + 8 + LT_HASH_BYTES;

export interface StoreMeta {
  readonly version: number;
  readonly lanes: Uint8Array;
}

export function encodeMeta(version: number, lanes: Uint8Array): Uint8Array {
  const out = new Uint8Array(META_BYTES);
  out[0] = META_FORMAT;
  new DataView(out.buffer).setBigUint64(1, BigInt(version), true);
  out.set(lanes, 9);
  return out;
}

export function decodeMeta(bytes: Uint8Array, where: string): StoreMeta {
  if (bytes.length !== META_BYTES || bytes[0] !== META_FORMAT) {
    throw siltError(ErrorCodes.CORRUPTION, `${where}: the store metadata record is malformed (${bytes.length} bytes, format ${bytes[0]})`);
  }
  const version = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getBigUint64(1, true);
  if (version > BigInt(Number.MAX_SAFE_INTEGER)) throw siltError(ErrorCodes.CORRUPTION, `${where}: version ${version} is out of range`);
  return { version: Number(version), lanes: bytes.slice(9) };
}
