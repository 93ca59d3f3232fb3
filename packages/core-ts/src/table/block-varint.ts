/**
 * Varints of a table block that its checks already walked, read on the hot paths of the block
 * cursor and the sorted seeker: the value goes into a module slot rather than an allocated pair
 * (importers read it through the live binding).
 */

/** The value of the last `readVarint`. */
export let varintValue = 0;

/** Read the (already checked) varint at `pos` into `varintValue`; returns the position after it. */
export function readVarint(data: Uint8Array, pos: number): number {
  let result = 0;
  let scale = 1;
  for (;;) {
    const byte = data[pos++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 128;
  }
  varintValue = result;
  return pos;
}
