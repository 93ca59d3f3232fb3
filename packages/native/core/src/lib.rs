//! SiltDB's byte-level algorithms: everything the `@siltdb/native` accelerator computes, kept free
//! of any Node.js dependency so `cargo test` exercises it without a JavaScript runtime. The byte
//! formats are specified in `docs/FORMAT.md`; the pure-TypeScript twin in `@siltdb/bindings` must
//! produce identical bytes, so every encoder here is deterministic down to the last bit.

// Only the memory map in `file_view` and the SSE4.2 / PCLMULQDQ CRC32C loops in `log_record` and
// `crc32c_copy` (behind a run-time feature check) need `unsafe`; everything else stays checkable
// by the compiler.
#![deny(unsafe_code)]

pub mod block;
pub mod block_seek;
pub mod crc32c;
pub mod crc32c_copy;
pub mod data_blocks;
pub mod error;
pub mod file_view;
pub mod frame;
pub mod log_record;
pub mod lthash;
pub mod lz4;
pub mod merge;
pub mod packed;
pub mod segment_scan;
pub mod sort;
#[cfg(test)]
mod test_rng;
pub mod value_pointer;
pub mod varint;

pub use error::{Error, Result};
pub use packed::{Packed, PackedBuf};
