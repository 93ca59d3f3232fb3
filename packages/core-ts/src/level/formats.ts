/**
 * The three encoding formats SiltLevel speaks on its private API (`supports.encodings`): abstract-
 * level transcodes every other encoding (json, hex, custom ones) to one of them. Keys and values
 * go into the engine as they come (it takes strings as UTF-8 and any Uint8Array); what comes out
 * of the engine is a fresh Uint8Array per key or value, which `buffer` and `view` wrap without
 * copying. `view` data is a Buffer too (a Uint8Array, as the format asks), as classic-level
 * returns it, so code that calls Buffer methods on it keeps working after the switch.
 */
import { Buffer } from 'node:buffer';

export type Format = 'buffer' | 'view' | 'utf8';

export type Decoded = Buffer | Uint8Array | string;

export type Decoder = (bytes: Uint8Array) => Decoded;

const asBuffer: Decoder = (bytes) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
// TextDecoder is ~3× faster than a Buffer wrapper's toString for short strings. ignoreBOM keeps a
// leading U+FEFF (a key may start with one), as Buffer#toString does.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const asUtf8: Decoder = (bytes) => utf8.decode(bytes);

/** The decoder of `format`; abstract-level only ever asks for the formats `supports` lists. */
export function decoderOf(format: unknown): Decoder {
  if (format === 'utf8') return asUtf8;
  return asBuffer;
}
