/**
 * The fixed parts of a table file (FORMAT.md §5): the footer, block handles, and the 5-byte trailer
 * the filter and properties blocks share with data blocks (FORMAT §3) so every block is checked the
 * same way.
 */
import type { Accelerator } from '@siltdb/bindings';
import { ErrorCodes, SiltError } from '../errors.js';
import { GrowableBytes, readU32, readU64, VarintCursor, varintLength, writeU32, writeU64, writeVarint } from './bytes.js';

/** "SILTTABL": the footer starts with it, so a stray file is told apart from a damaged table. */
export const TABLE_MAGIC = Uint8Array.from([0x53, 0x49, 0x4c, 0x54, 0x54, 0x41, 0x42, 0x4c]);
export const TABLE_FORMAT_VERSION = 1;
export const FOOTER_BYTES = 68;
/** Compression byte plus CRC32C, after every block's payload. */
export const BLOCK_TRAILER_BYTES = 5;
/**
 * Block handles in the index are 32-bit varints (FORMAT conventions), so a table ends below 4 GiB.
 * Compaction targets tables of tens of MiB, far under this.
 */
export const MAX_TABLE_BYTES = 0xffffffff;

/** Where a block lives: `length` counts the whole stored block, trailer included. */
export interface BlockHandle {
  readonly offset: number;
  readonly length: number;
}

export interface Footer {
  readonly index: BlockHandle;
  readonly filter: BlockHandle;
  readonly properties: BlockHandle;
}

export function corruption(message: string): SiltError {
  return new SiltError(ErrorCodes.CORRUPTION, message);
}

export function encodeFooter(footer: Footer, accelerator: Accelerator): Uint8Array {
  const out = new Uint8Array(FOOTER_BYTES);
  out.set(TABLE_MAGIC, 0);
  writeU32(out, 8, TABLE_FORMAT_VERSION);
  writeU32(out, 12, 0);
  writeU64(out, 16, footer.index.offset);
  writeU64(out, 24, footer.index.length);
  writeU64(out, 32, footer.filter.offset);
  writeU64(out, 40, footer.filter.length);
  writeU64(out, 48, footer.properties.offset);
  writeU64(out, 56, footer.properties.length);
  writeU32(out, 64, accelerator.crc32c(out.subarray(0, 64)));
  return out;
}

/**
 * Decode and check the footer of a `fileLength`-byte table. Beyond the CRC, the three blocks must
 * tile the file exactly — data blocks, index, filter, properties, footer, with no gap or overlap —
 * so a truncated or extended file is corruption even when its last 68 bytes happen to be a footer.
 */
export function decodeFooter(bytes: Uint8Array, fileLength: number, accelerator: Accelerator): Footer {
  if (bytes.length !== FOOTER_BYTES) throw corruption(`table footer is ${bytes.length} bytes, not ${FOOTER_BYTES}`);
  if (accelerator.crc32c(bytes.subarray(0, 64)) !== readU32(bytes, 64)) throw corruption('table footer checksum mismatch');
  for (let i = 0; i < TABLE_MAGIC.length; i++) {
    if (bytes[i] !== TABLE_MAGIC[i]) throw corruption('table footer magic mismatch: not a SiltDB table');
  }
  const version = readU32(bytes, 8);
  if (version !== TABLE_FORMAT_VERSION) throw corruption(`unknown table format version ${version}`);
  if (readU32(bytes, 12) !== 0) throw corruption('table footer reserved field is not zero');
  const footer: Footer = {
    index: { offset: readU64(bytes, 16, 'index offset'), length: readU64(bytes, 24, 'index length') },
    filter: { offset: readU64(bytes, 32, 'filter offset'), length: readU64(bytes, 40, 'filter length') },
    properties: { offset: readU64(bytes, 48, 'properties offset'), length: readU64(bytes, 56, 'properties length') },
  };
  const { index, filter, properties } = footer;
  if (
    index.length < BLOCK_TRAILER_BYTES ||
    filter.length < BLOCK_TRAILER_BYTES ||
    properties.length < BLOCK_TRAILER_BYTES ||
    index.offset + index.length !== filter.offset ||
    filter.offset + filter.length !== properties.offset ||
    properties.offset + properties.length + FOOTER_BYTES !== fileLength
  ) {
    throw corruption('table footer block handles do not tile the file');
  }
  return footer;
}

/** `payload ‖ 00 ‖ CRC32C(payload ‖ 00)`: a FORMAT §3 block trailer on a payload that is not an entry block. */
export function sealBlock(payload: Uint8Array, accelerator: Accelerator): Uint8Array {
  const out = new Uint8Array(payload.length + BLOCK_TRAILER_BYTES);
  out.set(payload, 0);
  out[payload.length] = 0;
  writeU32(out, payload.length + 1, accelerator.crc32c(out.subarray(0, payload.length + 1)));
  return out;
}

/** The payload of a sealed block, after checking its trailer (compression must be 0). */
export function unsealBlock(block: Uint8Array, what: string, accelerator: Accelerator): Uint8Array {
  if (block.length < BLOCK_TRAILER_BYTES) throw corruption(`${what} block is shorter than its trailer`);
  const payloadLength = block.length - BLOCK_TRAILER_BYTES;
  if (accelerator.crc32c(block.subarray(0, payloadLength + 1)) !== readU32(block, payloadLength + 1)) {
    throw corruption(`${what} block checksum mismatch`);
  }
  if (block[payloadLength] !== 0) throw corruption(`${what} block has compression ${block[payloadLength]}; only 0 is valid`);
  return block.subarray(0, payloadLength);
}

/** An index entry's value: `varint offset ‖ varint length`, appended to `target`. */
export function appendHandle(target: GrowableBytes, handle: BlockHandle): void {
  const scratch = new Uint8Array(varintLength(handle.offset) + varintLength(handle.length));
  writeVarint(scratch, writeVarint(scratch, 0, handle.offset), handle.length);
  target.append(scratch);
}

/** Decode the handle in `data[from, to)`, which it must fill exactly. */
export function decodeHandle(data: Uint8Array, from: number, to: number): BlockHandle {
  const cursor = new VarintCursor(data, from, to);
  const offset = cursor.read('block handle offset');
  const length = cursor.read('block handle length');
  if (cursor.pos !== to) throw corruption('block handle has trailing bytes');
  return { offset, length };
}
