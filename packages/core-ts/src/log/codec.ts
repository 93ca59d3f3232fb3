/**
 * How a log turns its entries into bytes and back. `decode` receives a view into a read buffer
 * that the log never reuses, so keeping it (or returning it, as `bytesCodec` does) is safe.
 */
export interface Codec<T> {
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

/** Entries that are already bytes. */
export const bytesCodec: Codec<Uint8Array> = {
  encode: (value) => value,
  decode: (bytes) => bytes,
};

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Strings as UTF-8. */
export const utf8Codec: Codec<string> = {
  encode: (value) => {
    if (typeof value !== 'string') throw new TypeError(`utf8Codec encodes strings, got ${typeof value}`);
    return utf8Encoder.encode(value);
  },
  decode: (bytes) => utf8Decoder.decode(bytes),
};

/** Any JSON-serialisable value, as UTF-8 JSON text. */
export function jsonCodec<T>(): Codec<T> {
  return {
    encode: (value) => {
      const text = JSON.stringify(value);
      if (text === undefined) throw new TypeError('the value has no JSON representation');
      return utf8Encoder.encode(text);
    },
    decode: (bytes) => JSON.parse(utf8Decoder.decode(bytes)) as T,
  };
}
