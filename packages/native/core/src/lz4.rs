//! LZ4 blocks (FORMAT.md §1): SiltDB's own deterministic compressor and a bounds-checked decoder
//! of any valid block.
//!
//! The compressor is not a general LZ4 library: frames and table blocks must come out byte-identical
//! from this module and from the TypeScript twin, so it implements exactly the greedy single-probe
//! matcher FORMAT.md specifies. The speed-ups below (word-sized reads and compares) change how the
//! matcher runs, never which matches it picks.

use crate::error::{Error, Result};

/// Inputs shorter than this are emitted as literals only (LZ4's MFLIMIT 12, plus one).
const MIN_MATCH_INPUT: usize = 13;
/// LZ4 requires the last 5 bytes of a block to be literals.
const LAST_LITERALS: usize = 5;
const MIN_MATCH: usize = 4;
const MAX_OFFSET: usize = 65_535;
const HASH_LOG: u32 = 14;
/// Bytes of the size prefix of the exposed (lz4-napi compatible) form.
pub const SIZE_PREFIX: usize = 4;

/// An upper bound on the block `compress_block` emits for `n` input bytes (LZ4_COMPRESSBOUND).
pub fn max_block_len(n: usize) -> usize {
    n + n / 255 + 16
}

/// The largest output a block of `block_len` bytes can describe: each block byte yields at most 255
/// output bytes. Checking a declared size against this before allocating keeps a forged header from
/// reserving gigabytes.
fn max_decoded_len(block_len: usize) -> u64 {
    255 * block_len as u64 + 64
}

#[inline(always)]
fn read_u32(input: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(input[at..at + 4].try_into().unwrap())
}

#[inline(always)]
fn read_u64(input: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(input[at..at + 8].try_into().unwrap())
}

#[inline(always)]
fn hash(sequence: u32) -> usize {
    (sequence.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize
}

/// Compress `input` into the size-prefixed form (`lz4Compress`, lz4-napi's `compressSync`).
pub fn compress(input: &[u8]) -> Result<Vec<u8>> {
    let size = u32::try_from(input.len())
        .map_err(|_| Error::invalid_argument("LZ4 input longer than 2^32 - 1 bytes"))?;
    let mut out = Vec::with_capacity(SIZE_PREFIX + max_block_len(input.len()));
    out.extend_from_slice(&size.to_le_bytes());
    compress_block_into(input, &mut out);
    Ok(out)
}

/// Compress `input` as a bare LZ4 block (no size prefix), appended to `out`.
///
/// Callers keep `input` below 4 GiB (the size prefix and the hash table's `position + 1` slots are
/// u32); `compress` and the frame and block encoders check that.
pub fn compress_block_into(input: &[u8], out: &mut Vec<u8>) {
    let n = input.len();
    out.reserve(max_block_len(n));
    if n < MIN_MATCH_INPUT {
        emit_last_literals(input, out);
        return;
    }
    // 64 KiB: on the heap so a deep caller stack never has to hold it.
    let mut table = vec![0u32; 1 << HASH_LOG];
    let limit = n - MIN_MATCH_INPUT;
    let match_end = n - LAST_LITERALS;
    let mut anchor = 0;
    let mut p = 0;
    while p <= limit {
        let sequence = read_u32(input, p);
        let h = hash(sequence);
        let slot = table[h] as usize;
        table[h] = (p + 1) as u32;
        if slot != 0 {
            let mut c = slot - 1;
            if p - c <= MAX_OFFSET && read_u32(input, c) == sequence {
                let mut start = p;
                while start > anchor && c > 0 && input[start - 1] == input[c - 1] {
                    start -= 1;
                    c -= 1;
                }
                // FORMAT.md extends forwards "from length 4" at the moved-back start; the bytes up to
                // the original probe plus its 4 are already known to match, and all of them lie
                // before `match_end` (p ≤ n − 13), so resuming after them finds the same length.
                let len = extend_match(input, c, start, MIN_MATCH + (p - start), match_end);
                emit_sequence(&input[anchor..start], start - c, len, out);
                p = start + len;
                anchor = p;
                continue;
            }
        }
        p += 1 + ((p - anchor) >> 6);
    }
    emit_last_literals(&input[anchor..], out);
}

/// Grow a match of `len` bytes between `c` and `p` (`c < p`) while it stays before `end`, eight bytes
/// per compare: the lowest set bit of the XOR of two little-endian words is the first differing byte.
#[inline(always)]
fn extend_match(input: &[u8], c: usize, p: usize, mut len: usize, end: usize) -> usize {
    while p + len + 8 <= end {
        let diff = read_u64(input, c + len) ^ read_u64(input, p + len);
        if diff != 0 {
            return len + (diff.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while p + len < end && input[c + len] == input[p + len] {
        len += 1;
    }
    len
}

#[inline(always)]
fn write_length(mut rest: usize, out: &mut Vec<u8>) {
    if rest >= 255 {
        let runs = rest / 255;
        out.resize(out.len() + runs, 255);
        rest -= runs * 255;
    }
    out.push(rest as u8);
}

#[inline(always)]
fn emit_sequence(literals: &[u8], offset: usize, match_len: usize, out: &mut Vec<u8>) {
    let lit = literals.len();
    let extra = match_len - MIN_MATCH;
    out.push(((lit.min(15) as u8) << 4) | extra.min(15) as u8);
    if lit >= 15 {
        write_length(lit - 15, out);
    }
    out.extend_from_slice(literals);
    out.extend_from_slice(&(offset as u16).to_le_bytes());
    if extra >= 15 {
        write_length(extra - 15, out);
    }
}

fn emit_last_literals(literals: &[u8], out: &mut Vec<u8>) {
    let lit = literals.len();
    out.push((lit.min(15) as u8) << 4);
    if lit >= 15 {
        write_length(lit - 15, out);
    }
    out.extend_from_slice(literals);
}

/// Decode the size-prefixed form (`lz4Decompress`, lz4-napi's `uncompressSync`).
///
/// The output is zero-filled before decoding (for a large output that is fresh memory from the
/// kernel, zeroed anyway); `decompress_into` decodes into a buffer the caller provides instead.
pub fn decompress(input: &[u8]) -> Result<Vec<u8>> {
    let size = decompressed_size(input)?;
    let mut out = vec![0u8; size];
    decompress_block_into(&input[SIZE_PREFIX..], &mut out)?;
    Ok(out)
}

/// The size a size-prefixed block declares, once it passes the checks that need no decoding (the
/// prefix is present, and the block is long enough to expand that far). `decompress_into` needs an
/// output of exactly this many bytes.
pub fn decompressed_size(input: &[u8]) -> Result<usize> {
    if input.len() < SIZE_PREFIX {
        return Err(Error::corruption(format!(
            "LZ4 input of {} bytes is shorter than its 4-byte size prefix",
            input.len()
        )));
    }
    let size = u32::from_le_bytes(input[..SIZE_PREFIX].try_into().unwrap());
    check_declared_size(input.len() - SIZE_PREFIX, size)?;
    Ok(size as usize)
}

/// Decode the size-prefixed form into `out`, which must hold exactly `decompressed_size(input)`
/// bytes. On error `out` holds garbage and must be discarded.
pub fn decompress_into(input: &[u8], out: &mut [u8]) -> Result<()> {
    let size = decompressed_size(input)?;
    if out.len() != size {
        return Err(Error::invalid_argument(format!(
            "LZ4 output buffer of {} bytes for a block of {size}",
            out.len()
        )));
    }
    decompress_block_into(&input[SIZE_PREFIX..], out)
}

fn check_declared_size(block_len: usize, size: u32) -> Result<()> {
    if u64::from(size) > max_decoded_len(block_len) {
        return Err(Error::corruption(format!(
            "LZ4 block of {block_len} bytes cannot expand to the declared {size} bytes"
        )));
    }
    Ok(())
}

/// Decode a bare LZ4 block that must expand to exactly `size` bytes. Every length, offset and
/// boundary is checked, so any input either decodes exactly or fails with `CORRUPTION`.
pub fn decompress_block(block: &[u8], size: u32) -> Result<Vec<u8>> {
    check_declared_size(block.len(), size)?;
    let mut out = vec![0u8; size as usize];
    decompress_block_into(block, &mut out)?;
    Ok(out)
}

/// `decompress_block` into `out`, whose length is the size the block must expand to (callers have
/// checked it against the block length). `out` may hold anything beforehand: the decoder only ever
/// reads bytes it has written.
///
/// Short copies are "wild": they move a fixed 16 or 32 bytes (register moves instead of a `memcpy`
/// call) when the buffers have room. The bytes such a copy writes past the sequence lie ahead of
/// `op` and are overwritten by the following sequences before `op` reaches them, and matches only
/// read bytes before `op`; `op == size` at the end proves every byte was written by its own
/// sequence.
fn decompress_block_into(block: &[u8], out: &mut [u8]) -> Result<()> {
    let size = out.len();
    // The bare size prefix `00 00 00 00` is accepted as the empty block.
    if block.is_empty() {
        return if size == 0 {
            Ok(())
        } else {
            Err(Error::corruption("empty LZ4 block for a non-empty output"))
        };
    }
    let end = block.len();
    let mut op = 0;
    let mut ip = 0;
    loop {
        let Some(&token) = block.get(ip) else {
            return Err(corrupt_end_after_match());
        };
        ip += 1;

        let mut literals = usize::from(token >> 4);
        if literals == 15 {
            literals += read_length(block, &mut ip)?;
        }
        if literals <= WILD_COPY && ip + WILD_COPY <= end && op + WILD_COPY <= size {
            // Both 16-byte windows are in bounds, so the literals are within the block and the
            // output.
            out[op..op + WILD_COPY].copy_from_slice(&block[ip..ip + WILD_COPY]);
        } else {
            if literals > end - ip {
                return Err(corrupt_literals_past_block());
            }
            if literals > size - op {
                return Err(corrupt_literals_past_size());
            }
            out[op..op + literals].copy_from_slice(&block[ip..ip + literals]);
        }
        op += literals;
        ip += literals;
        if ip == end {
            break;
        }

        if end - ip < 2 {
            return Err(corrupt_offset_past_block());
        }
        let offset = usize::from(u16::from_le_bytes([block[ip], block[ip + 1]]));
        ip += 2;
        if offset == 0 || offset > op {
            return Err(corrupt_offset(offset, op));
        }
        let mut match_len = usize::from(token & 0x0f);
        if match_len == 15 {
            match_len += read_length(block, &mut ip)?;
        }
        match_len += MIN_MATCH;
        if match_len > size - op {
            return Err(corrupt_match_past_size());
        }
        copy_match(out, op, offset, match_len);
        op += match_len;
    }
    if op != size {
        return Err(Error::corruption(format!(
            "LZ4 block expands to {op} bytes, not the declared {size}"
        )));
    }
    Ok(())
}

// The error constructors are out of line so the decoding loop stays small.
#[cold]
#[inline(never)]
fn corrupt_end_after_match() -> Error {
    Error::corruption("LZ4 block ends after a match instead of a literal-only sequence")
}

#[cold]
#[inline(never)]
fn corrupt_literals_past_block() -> Error {
    Error::corruption("LZ4 literals run past the end of the block")
}

#[cold]
#[inline(never)]
fn corrupt_literals_past_size() -> Error {
    Error::corruption("LZ4 literals run past the declared output size")
}

#[cold]
#[inline(never)]
fn corrupt_offset_past_block() -> Error {
    Error::corruption("LZ4 match offset runs past the end of the block")
}

#[cold]
#[inline(never)]
fn corrupt_offset(offset: usize, op: usize) -> Error {
    Error::corruption(format!(
        "LZ4 match offset {offset} reaches before the start of the output ({op} bytes)"
    ))
}

#[cold]
#[inline(never)]
fn corrupt_match_past_size() -> Error {
    Error::corruption("LZ4 match runs past the declared output size")
}

#[cold]
#[inline(never)]
fn corrupt_length_past_block() -> Error {
    Error::corruption("LZ4 length extension runs past the end of the block")
}

/// Copies at most this long move a fixed number of bytes when the buffers have room.
const WILD_COPY: usize = 16;

/// Read a length extension: bytes of 255 continue it, the first byte below 255 ends it.
#[inline]
fn read_length(block: &[u8], ip: &mut usize) -> Result<usize> {
    let mut total = 0usize;
    loop {
        let Some(&byte) = block.get(*ip) else {
            return Err(corrupt_length_past_block());
        };
        *ip += 1;
        total += usize::from(byte);
        if byte != 255 {
            return Ok(total);
        }
    }
}

/// Write `len` bytes at `op` copied from `offset` bytes back (`1 <= offset <= op`,
/// `op + len <= out.len()`), where the source may overlap the destination (offset < len repeats
/// the last `offset` bytes).
#[inline(always)]
fn copy_match(out: &mut [u8], op: usize, offset: usize, len: usize) {
    let src = op - offset;
    if offset >= WILD_COPY && len <= 2 * WILD_COPY && op + 2 * WILD_COPY <= out.len() {
        // Each 16-byte chunk reads `offset >= 16` bytes behind where it starts writing, so its
        // source was written before it is read.
        let first: [u8; WILD_COPY] = out[src..src + WILD_COPY].try_into().unwrap();
        out[op..op + WILD_COPY].copy_from_slice(&first);
        let second: [u8; WILD_COPY] = out[src + WILD_COPY..src + 2 * WILD_COPY]
            .try_into()
            .unwrap();
        out[op + WILD_COPY..op + 2 * WILD_COPY].copy_from_slice(&second);
    } else if offset >= len {
        out.copy_within(src..src + len, op);
    } else {
        // `out[src..op + done]` is periodic with period `offset`, and `done` stays a multiple of it
        // until the final (possibly partial) pass, so each pass copies whole periods that end
        // exactly where the destination begins and doubles what the next pass can copy.
        let mut done = 0;
        while done < len {
            let chunk = (len - done).min(offset + done);
            out.copy_within(src..src + chunk, op + done);
            done += chunk;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small xorshift generator: deterministic pseudo-random test data without a dependency.
    pub(crate) fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            out.extend_from_slice(&seed.to_le_bytes());
        }
        out.truncate(len);
        out
    }

    pub(crate) fn json_like(len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 128);
        let mut i = 0u64;
        while out.len() < len {
            out.extend_from_slice(
                format!(
                    "{{\"id\":{i},\"name\":\"user-{}\",\"score\":{},\"active\":{},\"tags\":[\"t{}\",\"silt\"]}},\n",
                    i * 7919 % 10007,
                    (i * 31) % 997,
                    i.is_multiple_of(3),
                    i % 13
                )
                .as_bytes(),
            );
            i += 1;
        }
        out.truncate(len);
        out
    }

    /// The matcher of FORMAT.md §1 transcribed literally (byte-at-a-time compares, forward extension
    /// from length 4 at the moved-back start), to prove the optimised one picks the same matches.
    fn reference_compress_block(input: &[u8]) -> Vec<u8> {
        let n = input.len();
        let mut out = Vec::new();
        if n < 13 {
            emit_last_literals(input, &mut out);
            return out;
        }
        let mut slot = vec![0u32; 1 << 14];
        let limit = n - 13;
        let (mut anchor, mut p) = (0usize, 0usize);
        while p <= limit {
            let v = u32::from_le_bytes(input[p..p + 4].try_into().unwrap());
            let h = (v.wrapping_mul(2_654_435_761) >> 18) as usize;
            let previous = slot[h];
            slot[h] = p as u32 + 1;
            if previous != 0 {
                let mut c = previous as usize - 1;
                if p - c <= 65_535 && input[c..c + 4] == input[p..p + 4] {
                    while p > anchor && c > 0 && input[p - 1] == input[c - 1] {
                        p -= 1;
                        c -= 1;
                    }
                    let mut len = 4;
                    while p + len < n - 5 && input[c + len] == input[p + len] {
                        len += 1;
                    }
                    emit_sequence(&input[anchor..p], p - c, len, &mut out);
                    p += len;
                    anchor = p;
                    continue;
                }
            }
            p += 1 + ((p - anchor) >> 6);
        }
        emit_last_literals(&input[anchor..], &mut out);
        out
    }

    fn round_trip(input: &[u8]) -> Vec<u8> {
        let packed = compress(input).unwrap();
        assert_eq!(&packed[..4], &(input.len() as u32).to_le_bytes());
        assert_eq!(decompress(&packed).unwrap(), input);
        assert!(packed.len() <= 4 + max_block_len(input.len()));
        assert_eq!(
            &packed[4..],
            &reference_compress_block(input)[..],
            "the optimised matcher diverged from FORMAT.md"
        );
        packed
    }

    fn corruption(input: &[u8]) {
        match decompress(input) {
            Err(e) => assert_eq!(e.code(), "CORRUPTION", "{input:?}: {e}"),
            Ok(out) => panic!("{input:?} decoded to {out:?}"),
        }
    }

    #[test]
    fn empty_input() {
        assert_eq!(round_trip(b""), [0, 0, 0, 0, 0]);
        assert_eq!(decompress(&[0, 0, 0, 0]).unwrap(), b"");
    }

    #[test]
    fn one_byte() {
        assert_eq!(round_trip(b"x"), [1, 0, 0, 0, 0x10, b'x']);
    }

    #[test]
    fn short_inputs_are_literal_only() {
        let input = b"aaaaaaaaaaaa"; // 12 bytes: too short to search for matches
        assert_eq!(
            round_trip(input),
            [&[12, 0, 0, 0, 0xc0][..], &input[..]].concat()
        );
        let fifteen = [7u8; 15];
        let packed = round_trip(&fifteen);
        // 15 bytes of one value: a match starting at 1 with offset 1 running to n − 5.
        assert_eq!(packed, [15, 0, 0, 0, 0x15, 7, 1, 0, 0x50, 7, 7, 7, 7, 7]);
    }

    #[test]
    fn known_answer_for_a_repetitive_text() {
        let input = b"abcdabcdabcdabcdabcdabcdabcdabcdabcdabcd"; // 40 bytes
        let packed = round_trip(input);
        assert_eq!(
            packed,
            [
                &[40, 0, 0, 0, 0x4f, b'a', b'b', b'c', b'd', 4, 0, 12, 0x50][..],
                b"dabcd"
            ]
            .concat()
        );
    }

    #[test]
    fn literal_length_extensions() {
        for len in [13, 14, 15, 16, 100, 269, 270, 271, 524, 525, 70_000] {
            round_trip(&random_bytes(len, len as u64 + 1));
        }
    }

    #[test]
    fn incompressible_random() {
        let input = random_bytes(1 << 20, 42);
        let packed = round_trip(&input);
        assert!(packed.len() > input.len());
    }

    #[test]
    fn highly_compressible() {
        let zeros = vec![0u8; 1 << 20];
        let packed = round_trip(&zeros);
        assert!(packed.len() < 5000, "{}", packed.len());
        let pattern: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        round_trip(&pattern);
    }

    #[test]
    fn four_mib_of_json() {
        let input = json_like(4 << 20);
        let packed = round_trip(&input);
        assert!(packed.len() < input.len() / 2, "{}", packed.len());
    }

    #[test]
    fn mixed_content_round_trips() {
        let mut input = json_like(100_000);
        input.extend(random_bytes(70_000, 9));
        input.extend(vec![b'z'; 70_000]);
        input.extend(json_like(50_000));
        round_trip(&input);
        for len in 0..200 {
            round_trip(&input[..len]);
            round_trip(&input[1000..1000 + len]);
        }
    }

    #[test]
    fn decodes_blocks_from_other_compressors() {
        // A match of offset 1 that overlaps itself (the RLE case) and ends the block with a match
        // longer than 15 + 255, then the mandatory final literals.
        let mut block = vec![0x1f, b'a', 1, 0, 255, 10];
        block.extend_from_slice(&[0x50, b'b', b'c', b'd', b'e', b'f']);
        let out = decompress_block(&block, 1 + 4 + 15 + 255 + 10 + 5).unwrap();
        assert_eq!(out.len(), 290);
        assert!(out[..285].iter().all(|&b| b == b'a'));
        assert_eq!(&out[285..], b"bcdef");
        // Offset 3 overlapping copy, and a zero-literal final sequence.
        let block = [0x35, b'x', b'y', b'z', 3, 0, 0x00];
        assert_eq!(decompress_block(&block, 12).unwrap(), b"xyzxyzxyzxyz");
    }

    #[test]
    fn truncated_blocks_are_corruption() {
        let packed = compress(&json_like(10_000)).unwrap();
        for cut in [0, 1, 3, 4, 5, 6, packed.len() / 2, packed.len() - 1] {
            corruption(&packed[..cut]);
        }
        corruption(&[5, 0, 0, 0, 0x50, b'a', b'b']);
        corruption(&[20, 0, 0, 0, 0xf0]);
        corruption(&[20, 0, 0, 0, 0xf0, 255]);
        corruption(&[20, 0, 0, 0, 0x1f, b'a', 1]);
        corruption(&[20, 0, 0, 0, 0x1f, b'a', 1, 0]);
        corruption(&[20, 0, 0, 0, 0x1f, b'a', 1, 0, 255]);
    }

    #[test]
    fn bad_offsets_are_corruption() {
        corruption(&[8, 0, 0, 0, 0x10, b'a', 0, 0, 0x20, b'b', b'c']);
        corruption(&[8, 0, 0, 0, 0x10, b'a', 2, 0, 0x20, b'b', b'c']);
        corruption(&[8, 0, 0, 0, 0x00, 1, 0, 0x00]);
    }

    #[test]
    fn size_mismatches_are_corruption() {
        let packed = compress(b"hello, hello, hello, hello!").unwrap();
        for delta in [-5i64, -1, 1, 100] {
            let mut wrong = packed.clone();
            let size = (27 + delta) as u32;
            wrong[..4].copy_from_slice(&size.to_le_bytes());
            corruption(&wrong);
        }
        corruption(&[3, 0, 0, 0]);
        corruption(&[0, 0, 0, 0, 0x10, b'a']);
        corruption(&[0, 0, 0]);
        // Trailing bytes after the final literals would read as another sequence.
        let mut trailing = compress(b"abc").unwrap();
        trailing.push(0);
        corruption(&trailing);
    }

    #[test]
    fn huge_declared_sizes_are_rejected_before_allocating() {
        corruption(&[0xff, 0xff, 0xff, 0xff, 0x00]);
        let err = decompress_block(&[0x10, b'a'], 255 * 2 + 65).unwrap_err();
        assert!(err.to_string().contains("cannot expand"), "{err}");
        // Exactly at the bound the header passes and the block itself is judged.
        let err = decompress_block(&[0x10, b'a'], 255 * 2 + 64).unwrap_err();
        assert!(err.to_string().contains("not the declared"), "{err}");
    }

    #[test]
    fn random_garbage_never_panics() {
        let noise = random_bytes(1 << 16, 1234);
        for i in 0..4000 {
            let start = (i * 37) % (noise.len() - 200);
            let block = &noise[start..start + 1 + i % 150];
            for size in [0, 1, 17, 100, 1000, 40_000] {
                if let Ok(out) = decompress_block(block, size) {
                    assert_eq!(out.len(), size as usize);
                }
            }
        }
    }

    #[test]
    fn every_single_bit_flip_fails_or_decodes_to_the_declared_size() {
        let packed = compress(&json_like(2000)).unwrap();
        for bit in 0..packed.len() * 8 {
            let mut flipped = packed.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            if let Ok(out) = decompress(&flipped) {
                let declared = u32::from_le_bytes(flipped[..4].try_into().unwrap());
                assert_eq!(out.len(), declared as usize);
            }
        }
    }

    use crate::test_rng::Rng;

    /// FORMAT.md §1's decoding rules transcribed literally, one byte at a time: `None` for
    /// corruption.
    fn reference_decompress_block(block: &[u8], size: usize) -> Option<Vec<u8>> {
        if size as u64 > 255 * block.len() as u64 + 64 {
            return None;
        }
        if block.is_empty() {
            return (size == 0).then(Vec::new);
        }
        let mut out = Vec::new();
        let mut ip = 0;
        let length = |ip: &mut usize| -> Option<usize> {
            let mut total = 0;
            loop {
                let byte = *block.get(*ip)?;
                *ip += 1;
                total += byte as usize;
                if byte != 255 {
                    return Some(total);
                }
            }
        };
        loop {
            let token = *block.get(ip)?;
            ip += 1;
            let mut literals = (token >> 4) as usize;
            if literals == 15 {
                literals += length(&mut ip)?;
            }
            for _ in 0..literals {
                out.push(*block.get(ip)?);
                ip += 1;
            }
            if out.len() > size {
                return None;
            }
            if ip == block.len() {
                break;
            }
            let offset = u16::from_le_bytes([*block.get(ip)?, *block.get(ip + 1)?]) as usize;
            ip += 2;
            if offset == 0 || offset > out.len() {
                return None;
            }
            let mut len = (token & 15) as usize;
            if len == 15 {
                len += length(&mut ip)?;
            }
            for _ in 0..len + 4 {
                out.push(out[out.len() - offset]);
            }
            if out.len() > size {
                return None;
            }
        }
        (out.len() == size).then_some(out)
    }

    /// A valid block of random sequences, far more varied than the compressor's output: long
    /// literal runs, offsets of 1 to 65535 (overlapping copies included), long matches, and an
    /// empty final literal run now and then. Returns the block and its decoded size.
    fn random_block(rng: &mut Rng, sequences: usize) -> (Vec<u8>, usize) {
        let mut block = Vec::new();
        let mut size = 0usize;
        let put_length = |block: &mut Vec<u8>, mut rest: usize| {
            while rest >= 255 {
                block.push(255);
                rest -= 255;
            }
            block.push(rest as u8);
        };
        for i in 0..=sequences {
            let literals = match rng.below(8) {
                0..=3 => 0,
                4 | 5 => rng.below(16),
                6 => rng.below(300),
                _ => rng.below(20),
            };
            // The first sequence needs a literal to refer back to.
            let literals = if size == 0 { literals.max(1) } else { literals };
            let last = i == sequences;
            let match_len = match rng.below(6) {
                0 => 4 + rng.below(12),
                1..=3 => 4 + rng.below(40),
                4 => 4 + rng.below(600),
                _ => 4 + rng.below(20),
            };
            let token_match = if last { 0 } else { (match_len - 4).min(15) };
            block.push(((literals.min(15) as u8) << 4) | token_match as u8);
            if literals >= 15 {
                put_length(&mut block, literals - 15);
            }
            for _ in 0..literals {
                block.push(rng.next() as u8 % 7);
            }
            size += literals;
            if last {
                break;
            }
            let offset = match rng.below(4) {
                0 => 1 + rng.below(size.min(16)),
                1 => 1 + rng.below(size.min(65_535)),
                _ => 1 + rng.below(size.min(300)),
            };
            block.extend_from_slice(&(offset as u16).to_le_bytes());
            if match_len - 4 >= 15 {
                put_length(&mut block, match_len - 4 - 15);
            }
            size += match_len;
        }
        (block, size)
    }

    #[test]
    fn decoding_into_a_caller_buffer() {
        let input = json_like(50_000);
        let packed = compress(&input).unwrap();
        assert_eq!(decompressed_size(&packed).unwrap(), input.len());
        let mut out = vec![0xaa; input.len()];
        decompress_into(&packed, &mut out).unwrap();
        assert_eq!(out, input);
        // The buffer must have exactly the declared size.
        for len in [0, input.len() - 1, input.len() + 1] {
            let err = decompress_into(&packed, &mut vec![0; len]).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
        }
        // The header checks come before any buffer is needed.
        assert_eq!(decompressed_size(&[1, 0]).unwrap_err().code(), "CORRUPTION");
        let err = decompressed_size(&[0xff, 0xff, 0xff, 0xff, 0]).unwrap_err();
        assert!(err.to_string().contains("cannot expand"), "{err}");
        assert_eq!(decompressed_size(&[0, 0, 0, 0]).unwrap(), 0);
        decompress_into(&[0, 0, 0, 0], &mut []).unwrap();
        // A corrupt block fails into a caller buffer just as it does into a fresh one.
        let mut damaged = packed.clone();
        damaged.truncate(packed.len() - 3);
        let err = decompress_into(&damaged, &mut out).unwrap_err();
        assert_eq!(err.code(), "CORRUPTION");
    }

    #[test]
    fn random_blocks_match_the_reference_decoder() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for round in 0..400 {
            let sequences = rng.below(if round % 10 == 0 { 3000 } else { 40 });
            let (block, size) = random_block(&mut rng, sequences);
            let expected = reference_decompress_block(&block, size).expect("a valid block");
            assert_eq!(decompress_block(&block, size as u32).unwrap(), expected);
            // Whatever the output buffer held before, the decoder never reads it.
            let mut packed = (size as u32).to_le_bytes().to_vec();
            packed.extend_from_slice(&block);
            for fill in [0x00, 0x55, 0xff] {
                let mut out = vec![fill; size];
                decompress_into(&packed, &mut out).unwrap();
                assert_eq!(out, expected);
            }
        }
    }

    #[test]
    fn damaged_random_blocks_agree_with_the_reference_decoder() {
        let mut rng = Rng(77);
        for _ in 0..3000 {
            let sequences = rng.below(30);
            let (mut block, mut size) = random_block(&mut rng, sequences);
            match rng.below(5) {
                0 => block.truncate(rng.below(block.len() + 1)),
                1 => {
                    let at = rng.below(block.len());
                    block[at] = rng.next() as u8;
                }
                2 => block.push(rng.next() as u8),
                3 => size = (size + rng.below(40)).saturating_sub(20),
                _ => {
                    let at = rng.below(block.len());
                    block[at] ^= 1 << rng.below(8);
                }
            }
            let expected = reference_decompress_block(&block, size);
            match decompress_block(&block, size as u32) {
                Ok(out) => assert_eq!(Some(out), expected, "{block:?} {size}"),
                Err(e) => {
                    assert_eq!(e.code(), "CORRUPTION");
                    assert_eq!(expected, None, "{block:?} {size}: {e}");
                }
            }
        }
    }

    #[test]
    fn every_match_offset_and_length_near_the_wild_copy_sizes() {
        // Offsets and lengths around 16 and 32 (where the copies switch strategy), also at the
        // very end of the output, where the wild copies must not be used.
        for offset in 1..=40usize {
            for len in 4..=70usize {
                for tail in [0usize, 1, 5, 15, 16, 17, 40] {
                    let literals: Vec<u8> = (0..offset as u8).map(|b| b.wrapping_mul(37)).collect();
                    let mut block = vec![((offset.min(15) as u8) << 4) | (len - 4).min(15) as u8];
                    if offset >= 15 {
                        block.push((offset - 15) as u8);
                    }
                    block.extend_from_slice(&literals);
                    block.extend_from_slice(&(offset as u16).to_le_bytes());
                    if len - 4 >= 15 {
                        block.push((len - 4 - 15) as u8);
                    }
                    block.push((tail.min(15) as u8) << 4);
                    if tail >= 15 {
                        block.push((tail - 15) as u8);
                    }
                    block.extend((0..tail).map(|b| b as u8));
                    let size = offset + len + tail;
                    let expected = reference_decompress_block(&block, size).unwrap();
                    assert_eq!(decompress_block(&block, size as u32).unwrap(), expected);
                }
            }
        }
    }
}
