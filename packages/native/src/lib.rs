//! The N-API surface of `@siltdb/native`: a thin layer over `siltdb-core`. Inputs are borrowed from
//! JavaScript typed arrays for the length of the call (no copy in); outputs are Rust vectors handed
//! to JavaScript as external buffers (no copy out), except `lz4Decompress`, which decodes straight
//! into a JavaScript-allocated Buffer (see there). Every function does a whole block, frame, batch
//! or merge job, because crossing N-API per key would cost more than the work it saves.
//!
//! Errors reach JavaScript as an `Error` whose `code` is one of SiltDB's stable codes
//! (`CORRUPTION`, `INVALID_ARGUMENT`, …): napi-rs uses the status of `napi::Error<S>` as the code,
//! and `Code` carries ours. `catch_unwind` turns a panic, which would otherwise abort Node, into a
//! thrown error.

#![deny(clippy::all)]

use napi::bindgen_prelude::{
    Buffer, BufferSlice, Env, External, Function, JsObjectValue, Uint32Array, Uint32ArraySlice,
    Unknown,
};
use napi_derive::napi;
use silt::{Packed, PackedBuf};
use siltdb_core as silt;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

mod allocator;

#[napi_derive::module_init]
fn init() {
    allocator::tune();
}

/// The error status napi-rs turns into `error.code`.
pub struct Code(&'static str);

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

type Result<T> = napi::Result<T, Code>;

fn to_js(error: silt::Error) -> napi::Error<Code> {
    napi::Error::new(Code(error.code()), error.to_string())
}

fn invalid(message: String) -> napi::Error<Code> {
    to_js(silt::Error::invalid_argument(message))
}

/// JavaScript numbers arrive as f64 so that fractions, negatives and NaN are rejected here instead
/// of being truncated or wrapped by an integer conversion.
fn integer(name: &str, value: f64, max: f64) -> Result<u64> {
    if value.fract() == 0.0 && (0.0..=max).contains(&value) {
        Ok(value as u64)
    } else {
        Err(invalid(format!(
            "{name} must be an integer from 0 to {max}, got {value}"
        )))
    }
}

const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Hand a vector to JavaScript without the slack capacity a worst-case reservation left behind:
/// the external buffer keeps the whole allocation alive until garbage collection, and V8 only
/// accounts for the visible length.
fn buffer(mut data: Vec<u8>) -> Buffer {
    if data.capacity() - data.len() > data.len() / 8 + 64 {
        data.shrink_to_fit();
    }
    data.into()
}

// The lifetime must carry this name: napi-derive writes the conversion impls with it.
/// A packed batch borrowed from JavaScript for the length of the call.
#[napi(object, object_to_js = false)]
pub struct PackedInput<'_javascript_function_scope> {
    pub data: &'_javascript_function_scope [u8],
    pub offsets: &'_javascript_function_scope [u32],
}

impl PackedInput<'_> {
    fn packed(&self) -> Result<Packed<'_>> {
        Packed::new(self.data, self.offsets).map_err(to_js)
    }
}

/// A packed batch produced here.
#[napi(object, object_from_js = false)]
pub struct PackedOutput {
    pub data: Buffer,
    pub offsets: Uint32Array,
}

impl From<PackedBuf> for PackedOutput {
    fn from(packed: PackedBuf) -> Self {
        PackedOutput {
            data: buffer(packed.data),
            offsets: Uint32Array::new(packed.offsets),
        }
    }
}

#[napi(object, object_from_js = false)]
pub struct DecodedFrame {
    pub keys: PackedOutput,
    pub values: PackedOutput,
    pub byte_length: f64,
    pub compressed: bool,
}

#[napi(object, object_from_js = false)]
pub struct DecodedBlock {
    pub keys: PackedOutput,
    pub values: PackedOutput,
    pub tags: Buffer,
}

#[napi(object, object_from_js = false)]
pub struct MergeResult {
    pub run: Uint32Array,
    pub index: Uint32Array,
}

/// CRC32C of `data`, extending `seed` (a previous result, 0 to start).
#[napi(js_name = "crc32c", catch_unwind)]
pub fn crc32c(data: &[u8], seed: f64) -> Result<u32> {
    let seed = integer("seed", seed, u32::MAX.into())? as u32;
    Ok(silt::crc32c::crc32c(data, seed))
}

/// CRC32C of each item of a packed batch, one call for the whole batch.
#[napi(js_name = "crc32cMany", catch_unwind)]
pub fn crc32c_many(items: PackedInput) -> Result<Uint32Array> {
    Ok(Uint32Array::new(silt::crc32c::crc32c_many(items.packed()?)))
}

/// A table's point lookup in one block payload (one call per block a read visits): the first entry
/// at or after the internal key `target` when it holds `target`'s user key. Writes its value's
/// start and end (u32 little-endian at 0 and 4), its tag (byte 8) and its key's 8-byte trailer
/// (bytes 12..20) into `result` and returns true; false when there is no such entry.
#[napi(js_name = "blockPointGet", catch_unwind)]
pub fn block_point_get(payload: &[u8], target: &[u8], mut result: BufferSlice<'_>) -> Result<bool> {
    if result.len() < 20 {
        return Err(invalid(format!(
            "the result of a block point lookup needs 20 bytes, got {}",
            result.len()
        )));
    }
    let Some(hit) = silt::block_seek::point_get(payload, target).map_err(to_js)? else {
        return Ok(false);
    };
    // The payload's restart offsets are u32, so every offset in it fits one.
    result[0..4].copy_from_slice(&(hit.value_start as u32).to_le_bytes());
    result[4..8].copy_from_slice(&(hit.value_end as u32).to_le_bytes());
    result[8] = hit.tag;
    result[12..20].copy_from_slice(&hit.trailer);
    Ok(true)
}

/// Fill in the header of each indexed-log record of a batch in front of its payload (length,
/// inverted length, CRC32C; docs/FORMAT.md §4), in place: `spans` holds (start, end) pairs.
#[napi(js_name = "sealLogRecords", catch_unwind)]
pub fn seal_log_records(mut buffer: BufferSlice<'_>, spans: &[u32]) -> Result<()> {
    silt::log_record::seal_records(&mut buffer, spans).map_err(to_js)
}

/// `sealLogRecords` for a batch whose records are given by their starts (record `k` at
/// `starts[k] - shift` in `buffer`, the last ending at `end`), computed on a libuv threadpool
/// thread: the log hands a large batch over as soon as it is framed, and its main thread goes on
/// framing the next one while the checksums are computed. The caller must not touch `buffer` or
/// `starts` until the promise settles. Malformed starts reject with `InvalidArg` (turned into
/// `INVALID_ARGUMENT` by the bindings) and leave `buffer` untouched.
#[napi(js_name = "sealLogBatch", catch_unwind)]
pub fn seal_log_batch(
    buffer: napi::bindgen_prelude::Uint8Array,
    starts: Uint32Array,
    shift: f64,
    end: f64,
) -> Result<napi::bindgen_prelude::AsyncTask<SealLogBatch>> {
    let shift = integer("shift", shift, u32::MAX.into())? as u32;
    let end = integer("end", end, u32::MAX.into())? as usize;
    Ok(napi::bindgen_prelude::AsyncTask::new(SealLogBatch {
        buffer,
        starts,
        shift,
        end,
    }))
}

/// The job of one `sealLogBatch` call (its typed arrays stay referenced until it settles).
pub struct SealLogBatch {
    buffer: napi::bindgen_prelude::Uint8Array,
    starts: Uint32Array,
    shift: u32,
    end: usize,
}

impl napi::Task for SealLogBatch {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> napi::Result<()> {
        let (shift, end) = (self.shift, self.end);
        // SAFETY: the caller leaves `buffer` alone until the promise settles (the contract of
        // `sealLogBatch`), so nothing else reads or writes these bytes meanwhile.
        let buffer = unsafe { self.buffer.as_mut() };
        silt::log_record::seal_records_at(buffer, &self.starts, shift, end)
            .map_err(|error| napi::Error::new(napi::Status::InvalidArg, error.to_string()))
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}

/// The longest BLAKE3 output one `blake3` call returns (16 MiB), as in the TypeScript twin.
const MAX_BLAKE3_OUTPUT: f64 = (1u32 << 24) as f64;

/// BLAKE3 of `data` with `out_length` bytes of extendable output.
#[napi(catch_unwind)]
pub fn blake3(data: &[u8], out_length: f64) -> Result<Buffer> {
    let out_length = integer("outLength", out_length, MAX_BLAKE3_OUTPUT)? as usize;
    Ok(silt::lthash::blake3_xof(data, out_length).into())
}

/// LtHash: `lanes` with every (key, value) pair of a whole change set mixed in (or out).
#[napi(catch_unwind)]
pub fn lt_hash_mix(
    lanes: &[u8],
    keys: PackedInput,
    values: PackedInput,
    subtract: bool,
) -> Result<Buffer> {
    silt::lthash::mix(lanes, keys.packed()?, values.packed()?, subtract)
        .map(Buffer::from)
        .map_err(to_js)
}

/// LZ4 block with a 4-byte little-endian size prefix (lz4-napi `compressSync` format).
#[napi(catch_unwind)]
pub fn lz4_compress(data: &[u8]) -> Result<Buffer> {
    silt::lz4::compress(data).map(buffer).map_err(to_js)
}

// The output size is known up front, so the block is decoded straight into a Buffer that
// JavaScript allocates (`Buffer.allocUnsafeSlow`, as the TypeScript twin does). V8 recycles such
// memory as soon as the Buffer dies, whereas an external buffer (a Rust allocation) is only freed
// once the event loop runs its finalizer: a burst of calls would otherwise take fresh pages from the
// kernel every time, and their page faults cost as much as the decoding itself. Every byte is
// written before the Buffer is returned, and on an error it is dropped unseen.
/// Inverse of `lz4Compress`; accepts any valid size-prefixed LZ4 block.
#[napi(catch_unwind)]
pub fn lz4_decompress<'env>(env: &'env Env, data: &[u8]) -> Result<BufferSlice<'env>> {
    let size = silt::lz4::decompressed_size(data).map_err(to_js)?;
    let Some(alloc) = js_alloc(env) else {
        // No `Buffer` global (not Node.js): decode into Rust memory instead.
        let out = silt::lz4::decompress(data).map_err(to_js)?;
        return BufferSlice::from_data(env, out).map_err(napi_failure);
    };
    let mut out = alloc.call(size as u32).map_err(napi_failure)?;
    silt::lz4::decompress_into(data, &mut out).map_err(to_js)?;
    Ok(out)
}

/// `Buffer.allocUnsafeSlow`, if this runtime has it.
fn js_alloc(env: &Env) -> Option<Function<'_, u32, BufferSlice<'_>>> {
    let class: Function<(), Unknown> = env.get_global().ok()?.get_named_property("Buffer").ok()?;
    class.get_named_property("allocUnsafeSlow").ok()
}

/// An error raised by N-API or by JavaScript (say, a failed allocation): not one of SiltDB's codes,
/// so the adapter passes it on as it is.
fn napi_failure(error: napi::Error) -> napi::Error<Code> {
    napi::Error::new(Code("GenericFailure"), error.reason.clone())
}

/// Encode one value-log frame of `keys.offsets.length - 1` records (1..65535).
#[napi(catch_unwind)]
pub fn encode_frame(keys: PackedInput, values: PackedInput, compress: bool) -> Result<Buffer> {
    silt::frame::encode(keys.packed()?, values.packed()?, compress)
        .map(buffer)
        .map_err(to_js)
}

/// Decode and verify the frame starting at `offset` of `data`.
#[napi(catch_unwind)]
pub fn decode_frame(data: &[u8], offset: f64) -> Result<DecodedFrame> {
    let offset = integer("offset", offset, MAX_SAFE_INTEGER)?;
    let offset = usize::try_from(offset).unwrap_or(usize::MAX);
    let frame = silt::frame::decode(data, offset).map_err(to_js)?;
    Ok(DecodedFrame {
        keys: frame.keys.into(),
        values: frame.values.into(),
        byte_length: frame.byte_length as f64,
        compressed: frame.compressed,
    })
}

/// The records of the whole frames at the start of a run of value-log segment bytes.
#[napi(object, object_from_js = false)]
pub struct SegmentScan {
    /// Absent when every scanned frame is stored uncompressed: the offsets index the input.
    pub data: Option<Buffer>,
    pub records: Uint32Array,
    pub frames: Uint32Array,
    pub end: f64,
}

/// Scan, check and list the frames lying back to back in `data`, the segment's bytes from
/// `baseOffset` on: one call for a few MiB of a segment instead of one per frame.
#[napi(catch_unwind)]
pub fn scan_segment(data: &[u8], base_offset: f64) -> Result<SegmentScan> {
    let base_offset = integer("baseOffset", base_offset, u32::MAX.into())?;
    let scan = silt::segment_scan::scan(data, base_offset).map_err(to_js)?;
    Ok(SegmentScan {
        data: (!scan.in_place).then(|| buffer(scan.data)),
        records: Uint32Array::new(scan.records),
        frames: Uint32Array::new(scan.frames),
        end: scan.end as f64,
    })
}

/// `options.trailerBytes` as the accelerator interface defines it: an integer from 0 to 255.
fn trailer_bytes(value: f64) -> Result<usize> {
    Ok(integer("options.trailerBytes", value, 255.0)? as usize)
}

/// The stable permutation ordering `keys` by unsigned bytes; with `trailerBytes` > 0, by all but
/// the last `trailerBytes` bytes first and then by those (internal-key order).
#[napi(catch_unwind)]
pub fn sort_keys(keys: PackedInput, trailer_bytes: f64) -> Result<Uint32Array> {
    let keys = keys.packed()?;
    let trailer_bytes = self::trailer_bytes(trailer_bytes)?;
    let order = silt::sort::sort_keys_with_trailer(keys, trailer_bytes).map_err(to_js)?;
    Ok(Uint32Array::new(order))
}

/// Merge strictly ascending runs, `runs[0]` newest; equal keys emit only the lowest run's entry.
/// `trailerBytes` orders keys as `sortKeys` does.
#[napi(catch_unwind)]
pub fn merge_runs(runs: Vec<PackedInput>, trailer_bytes: f64) -> Result<MergeResult> {
    let packed = runs
        .iter()
        .map(PackedInput::packed)
        .collect::<Result<Vec<_>>>()?;
    let trailer_bytes = self::trailer_bytes(trailer_bytes)?;
    let merged = silt::merge::merge_runs_with_trailer(&packed, trailer_bytes).map_err(to_js)?;
    Ok(MergeResult {
        run: Uint32Array::new(merged.run),
        index: Uint32Array::new(merged.index),
    })
}

/// Encode one table block; `restartInterval` is 1..65535.
#[napi(catch_unwind)]
pub fn encode_block(
    keys: PackedInput,
    values: PackedInput,
    tags: &[u8],
    restart_interval: f64,
    compress: bool,
) -> Result<Buffer> {
    let restart_interval = integer(
        "restartInterval",
        restart_interval,
        silt::block::MAX_RESTART_INTERVAL as f64,
    )? as usize;
    silt::block::encode(
        keys.packed()?,
        values.packed()?,
        tags,
        restart_interval,
        compress,
    )
    .map(buffer)
    .map_err(to_js)
}

/// Verify and decode a whole table block.
#[napi(catch_unwind)]
pub fn decode_block(data: &[u8]) -> Result<DecodedBlock> {
    let block = silt::block::decode(data).map_err(to_js)?;
    Ok(DecodedBlock {
        keys: block.keys.into(),
        values: block.values.into(),
        tags: buffer(block.tags),
    })
}

/// Check and decode a run of a table's stored data blocks (`spans`: offset, length pairs in
/// `run`; `indexKeys`: the index key before the run, then each block's), appending every entry.
#[napi(catch_unwind)]
pub fn decode_data_blocks(
    run: &[u8],
    spans: &[u32],
    index_keys: PackedInput,
    has_previous: bool,
) -> Result<DecodedBlock> {
    let block =
        silt::data_blocks::decode_data_blocks(run, spans, index_keys.packed()?, has_previous)
            .map_err(to_js)?;
    Ok(DecodedBlock {
        keys: block.keys.into(),
        values: block.values.into(),
        tags: buffer(block.tags),
    })
}

/// `decodeDataBlocks`' checks without its output; block `i`'s entry count goes to `counts[i]`.
#[napi(catch_unwind)]
pub fn check_data_blocks(
    run: &[u8],
    spans: &[u32],
    index_keys: PackedInput,
    has_previous: bool,
    mut counts: Uint32ArraySlice<'_>,
) -> Result<()> {
    // SAFETY: the call is synchronous on the JavaScript thread, so nothing else touches the
    // array's memory while this slice of it lives.
    #[allow(unsafe_code)]
    let counts = unsafe { counts.as_mut() };
    silt::data_blocks::check_data_blocks(run, spans, index_keys.packed()?, has_previous, counts)
        .map_err(to_js)
}

/// A read-only view of a file: bulk reads copy from a memory mapping, point reads are positional; reads return copies.
#[napi]
pub struct FileView {
    /// Shared with the view's `recordReader()` handle. (JavaScript is single-threaded and no call
    /// here runs JavaScript, so a borrow never meets another.)
    inner: SharedView,
}

/// A view shared by its `FileView` and the `RecordReader` handles made from it.
type SharedView = Rc<RefCell<silt::file_view::FileView>>;

/// The handle `readRecordValue` takes: the view of a `FileView`, reached without the class.
///
/// Why not a method: a call on a class instance unwraps it (a private-property lookup in V8's
/// C++ runtime) and has napi-rs register the borrow of `&self` and check the class's identity,
/// about half of N-API's share of a hot loop of 16 KiB point reads (node's N-API samples 4.9 % →
/// 2.3 % with this handle), on the call every value-log point read makes. An `External` is one
/// `napi_get_value_external`.
pub struct RecordReader(SharedView);

#[napi]
impl FileView {
    /// Open `path`; with `expectedLength` the view exposes exactly that many bytes and opening fails
    /// with `SHORT_FILE` when the file is shorter.
    #[napi(factory, catch_unwind)]
    pub fn open(path: String, expected_length: Option<f64>) -> Result<Self> {
        let expected_length = expected_length
            .map(|n| integer("expectedLength", n, MAX_SAFE_INTEGER))
            .transpose()?;
        let inner = silt::file_view::FileView::open(path, expected_length).map_err(to_js)?;
        Ok(FileView {
            inner: Rc::new(RefCell::new(inner)),
        })
    }

    /// The number of readable bytes.
    #[napi(getter)]
    pub fn length(&self) -> f64 {
        self.inner.borrow().len() as f64
    }

    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.borrow().is_closed()
    }

    /// Copy `length` bytes at `offset`: `OUT_OF_RANGE` past the view, `SHORT_FILE` when the file was
    /// truncated under it, `CLOSED` after `close()`.
    #[napi(catch_unwind)]
    pub fn read(&self, offset: f64, length: f64) -> Result<Buffer> {
        let inner = self.inner.borrow();
        // A closed view reports CLOSED whatever the arguments, like the TypeScript one.
        if inner.is_closed() {
            return inner.read(0, 0).map(buffer).map_err(to_js);
        }
        let offset = integer("offset", offset, MAX_SAFE_INTEGER)?;
        let length = integer("length", length, MAX_SAFE_INTEGER)?;
        inner.read(offset, length).map(buffer).map_err(to_js)
    }

    /// Copy `length` bytes at `offset` into `target` from `targetOffset`: a buffer the caller
    /// allocated, so a block read leaves no native allocation for the garbage collector to find.
    /// Errors as `read`, and `INVALID_ARGUMENT` when the bytes do not fit `target`.
    #[napi(js_name = "readInto", catch_unwind)]
    pub fn read_into(
        &self,
        offset: f64,
        length: f64,
        mut target: BufferSlice<'_>,
        target_offset: f64,
    ) -> Result<()> {
        let inner = self.inner.borrow();
        if inner.is_closed() {
            return inner.read(0, 0).map(|_| ()).map_err(to_js);
        }
        let offset = integer("offset", offset, MAX_SAFE_INTEGER)?;
        let length = integer("length", length, MAX_SAFE_INTEGER)?;
        let target_offset = integer("targetOffset", target_offset, MAX_SAFE_INTEGER)?;
        let end = target_offset
            .checked_add(length)
            .filter(|&end| end <= target.len() as u64)
            .ok_or_else(|| {
                invalid(format!(
                    "{length} bytes at {target_offset} do not fit a {}-byte target",
                    target.len()
                ))
            })?;
        inner
            .read_into(offset, &mut target[target_offset as usize..end as usize])
            .map_err(to_js)
    }

    /// The handle of this view for `readRecordValue` (it reads the view as it is: closed, it
    /// reports `CLOSED`).
    #[napi(
        js_name = "recordReader",
        ts_return_type = "ExternalObject<'RecordReader'>"
    )]
    pub fn record_reader(&self) -> External<RecordReader> {
        External::new(RecordReader(Rc::clone(&self.inner)))
    }

    /// Unmap and close the file. Idempotent.
    #[napi]
    pub fn close(&mut self) {
        self.inner.borrow_mut().close();
    }
}

/// The value of record `index` of the value-log frame at `offset` (`length` bytes) of the view
/// behind `reader` (`FileView.recordReader()`), copied into `target` (exactly the value's length)
/// after checking the frame's checksum and that the record holds `key`: `CORRUPTION` otherwise.
/// False, `target` untouched, for a compressed frame.
#[napi(js_name = "readRecordValue", catch_unwind)]
pub fn read_record_value(
    #[napi(ts_arg_type = "ExternalObject<'RecordReader'>")] reader: &External<RecordReader>,
    offset: f64,
    length: f64,
    index: u32,
    key: BufferSlice<'_>,
    mut target: BufferSlice<'_>,
) -> Result<bool> {
    let inner = reader.0.borrow();
    if inner.is_closed() {
        return inner.read(0, 0).map(|_| false).map_err(to_js);
    }
    let offset = integer("offset", offset, MAX_SAFE_INTEGER)?;
    let length = integer("length", length, MAX_SAFE_INTEGER)?;
    inner
        .read_record_value(offset, length, index as usize, &key, &mut target)
        .map_err(to_js)
}

/// The segments whose value pointers `readPointerValue` resolves: segment number → the view of its
/// file (shared with the `FileView` it came from, so a view closed there reads as closed here).
pub struct PointerReads(RefCell<HashMap<u64, SharedView>>);

/// A segment number: an integer in [1, 2^53).
fn segment_number(value: f64) -> Result<u64> {
    match integer("segment", value, MAX_SAFE_INTEGER)? {
        0 => Err(invalid(
            "segment must be an integer from 1 to 9007199254740991, got 0".into(),
        )),
        segment => Ok(segment),
    }
}

/// An empty set of segments for `readPointerValue` (one per value log).
#[napi(
    js_name = "openPointerReads",
    ts_return_type = "ExternalObject<'PointerReads'>"
)]
pub fn open_pointer_reads() -> External<PointerReads> {
    External::new(PointerReads(RefCell::new(HashMap::new())))
}

/// Resolve pointers into `segment` through the view behind `reader` from now on (replacing the
/// segment's earlier view, if any).
#[napi(js_name = "servePointerReads", catch_unwind)]
pub fn serve_pointer_reads(
    #[napi(ts_arg_type = "ExternalObject<'PointerReads'>")] reads: &External<PointerReads>,
    segment: f64,
    #[napi(ts_arg_type = "ExternalObject<'RecordReader'>")] reader: &External<RecordReader>,
) -> Result<()> {
    let segment = segment_number(segment)?;
    reads.0.borrow_mut().insert(segment, Rc::clone(&reader.0));
    Ok(())
}

/// Stop resolving pointers into `segment`. Idempotent.
#[napi(js_name = "dropPointerReads", catch_unwind)]
pub fn drop_pointer_reads(
    #[napi(ts_arg_type = "ExternalObject<'PointerReads'>")] reads: &External<PointerReads>,
    segment: f64,
) -> Result<()> {
    let segment = segment_number(segment)?;
    reads.0.borrow_mut().remove(&segment);
    Ok(())
}

/// A value-log point read from the pointer itself: the value of the record the 23-byte pointer at
/// `bytes[from..]` names (docs/FORMAT.md §8.3) copied into `target`, when the pointer's segment is
/// served, its frame lies within the served view and is stored uncompressed, `target` is exactly
/// the value's length (the pointer's record bytes less `key` and its varint), the frame checks
/// and the record holds `key`. False in every other case, malformed pointers and corrupt frames
/// included (`target`'s bytes are then unspecified): the caller's full read path then reads the
/// value or reports why.
///
/// One call from the pointer's bytes to the value: the pointer is parsed and its segment found
/// here, where JavaScript spent ~1.5 µs of interpreted code per read on them while a process warmed
/// up. The value's memory stays JavaScript's to allocate: creating the array through N-API (a
/// Buffer, then a plain `Uint8Array` over it) made the steady-state read ~7 % slower.
#[napi(js_name = "readPointerValue", catch_unwind)]
pub fn read_pointer_value(
    #[napi(ts_arg_type = "ExternalObject<'PointerReads'>")] reads: &External<PointerReads>,
    bytes: BufferSlice<'_>,
    from: f64,
    key: BufferSlice<'_>,
    mut target: BufferSlice<'_>,
) -> Result<bool> {
    let from = integer("from", from, MAX_SAFE_INTEGER)? as usize;
    let Some(pointer) = bytes
        .get(from..from.saturating_add(silt::value_pointer::POINTER_BYTES))
        .and_then(silt::value_pointer::ValuePointer::parse)
    else {
        return Ok(false);
    };
    if pointer.value_length(key.len()) != Some(target.len()) {
        return Ok(false);
    }
    let views = reads.0.borrow();
    let Some(view) = views.get(&pointer.segment) else {
        return Ok(false);
    };
    let view = view.borrow();
    if view.is_closed() || !pointer.frame_within(view.len()) {
        return Ok(false);
    }
    Ok(matches!(
        view.read_record_value(
            pointer.frame_offset,
            pointer.frame_length,
            pointer.sub_index,
            &key,
            &mut target,
        ),
        Ok(true)
    ))
}
