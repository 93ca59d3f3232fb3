/** The size of a record header (docs/FORMAT.md §4): u32 N ‖ u32 ~N ‖ u32 CRC32C(payload). */
export const RECORD_HEADER_BYTES = 12;
