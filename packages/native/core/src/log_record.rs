//! Indexed-log records (docs/FORMAT.md §4): `u32 N ‖ u32 !N ‖ u32 CRC32C(payload) ‖ payload`, all
//! little-endian. The log copies each payload into its write buffer behind 12 bytes of room, and
//! one call here fills in the headers of a whole batch, checksums included: one crossing per
//! batch of records, never one per record.

use crate::crc32c::crc32c;
use crate::error::{Error, Result};

/// The size of a record header.
pub const RECORD_HEADER_BYTES: usize = 12;

/// Write the header of each record of a batch in front of its payload. `spans[2k]` and
/// `spans[2k + 1]` are where payload `k` starts and ends in `buffer`. The payloads must come in
/// order, each with a header's room before it that no other record uses, and end within
/// `buffer`; otherwise `InvalidArgument`, with `buffer` untouched.
pub fn seal_records(buffer: &mut [u8], spans: &[u32]) -> Result<()> {
    check_spans(buffer.len(), spans)?;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2 (checked just above; std caches the answer), and
        // `check_spans` proved what `x86::seal` relies on: every payload lies within `buffer`,
        // with a header's room before it that no other record uses.
        #[allow(unsafe_code)]
        unsafe {
            x86::seal(buffer, spans)
        };
        return Ok(());
    }
    for span in spans.chunks_exact(2) {
        let checksum = crc32c(&buffer[span[0] as usize..span[1] as usize], 0);
        write_header(buffer, span, checksum);
    }
    Ok(())
}

/// `seal_records` for records given by where each one starts: record `k`'s header is at
/// `starts[k] - shift` in `buffer` and its payload runs to where the next record starts, the last
/// one's to `end`. (The log keeps its records' file offsets, and a batch's buffer is the file from
/// offset `shift` on, so it hands those over as they are instead of recording every payload's
/// span.) `InvalidArgument`, with `buffer` untouched, unless the records come in order, each at
/// least a header long, and end within `buffer`.
pub fn seal_records_at(buffer: &mut [u8], starts: &[u32], shift: u32, end: usize) -> Result<()> {
    let mut spans = Vec::with_capacity(2 * starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let next = match starts.get(k + 1) {
            Some(&next) => next.checked_sub(shift).map(|next| next as usize),
            None => Some(end),
        };
        match (start.checked_sub(shift), next) {
            (Some(at), Some(next)) if next >= at as usize + RECORD_HEADER_BYTES && next <= u32::MAX as usize => {
                spans.push(at + RECORD_HEADER_BYTES as u32);
                spans.push(next as u32);
            }
            _ => {
                return Err(Error::invalid_argument(format!(
                    "record {k} starts at {start} (buffer offset {shift}) and must be followed, at least {RECORD_HEADER_BYTES} bytes later, by the next record or the end ({end})"
                )))
            }
        }
    }
    seal_records(buffer, &spans)
}

/// The header of the record whose payload is `buffer[span[0]..span[1]]`, in the room before it.
fn write_header(buffer: &mut [u8], span: &[u32], checksum: u32) {
    let start = span[0] as usize;
    let length = span[1] - span[0];
    let header = &mut buffer[start - RECORD_HEADER_BYTES..start];
    header[0..4].copy_from_slice(&length.to_le_bytes());
    header[4..8].copy_from_slice(&(!length).to_le_bytes());
    header[8..12].copy_from_slice(&checksum.to_le_bytes());
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use super::RECORD_HEADER_BYTES;
    use crate::crc32c::crc32c;
    use std::arch::x86_64::{_mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};

    /// Records whose checksums are computed together.
    const LANES: usize = 4;

    /// A tail at least this long is finished by the library's own (three-way parallel) loop.
    const LONG_TAIL: usize = 64;

    /// Write the header of every record of `spans` (as for `seal_records`). Records are
    /// checksummed LANES at a time: one CRC32C is a chain of dependent instructions (3 cycles
    /// each), so several records' chains interleaved keep the CPU busy where one record's chain
    /// would leave it waiting; reads and header writes go through raw pointers because the
    /// bounds were checked once, for the whole batch, by the caller (for 100-byte payloads the
    /// per-access checks cost about as much as the checksums).
    ///
    /// # Safety
    /// The CPU must have SSE4.2, and `spans` must have passed `check_spans` for `buffer`.
    #[target_feature(enable = "sse4.2")]
    pub unsafe fn seal(buffer: &mut [u8], spans: &[u32]) {
        let base = buffer.as_mut_ptr();
        let mut groups = spans.chunks_exact(2 * LANES);
        for group in &mut groups {
            let start: [usize; LANES] = std::array::from_fn(|k| group[2 * k] as usize);
            let length: [usize; LANES] =
                std::array::from_fn(|k| (group[2 * k + 1] - group[2 * k]) as usize);
            let words = length.iter().copied().min().unwrap_or(0) / 8;
            let mut state = [u64::from(u32::MAX); LANES];
            for word in 0..words {
                let at = 8 * word;
                // SAFETY (all four reads): `at + 8 <= length[k]`, so the word lies within
                // payload k, which lies within `buffer`.
                unsafe {
                    state[0] = _mm_crc32_u64(state[0], read_u64(base.add(start[0] + at)));
                    state[1] = _mm_crc32_u64(state[1], read_u64(base.add(start[1] + at)));
                    state[2] = _mm_crc32_u64(state[2], read_u64(base.add(start[2] + at)));
                    state[3] = _mm_crc32_u64(state[3], read_u64(base.add(start[3] + at)));
                }
            }
            for k in 0..LANES {
                let done = 8 * words;
                // SAFETY: the rest of payload k, and its header room, lie within `buffer`.
                unsafe {
                    let checksum =
                        finish(state[k] as u32, base.add(start[k] + done), length[k] - done);
                    write_header(base, start[k], length[k] as u32, checksum);
                }
            }
        }
        for span in groups.remainder().chunks_exact(2) {
            let (start, length) = (span[0] as usize, (span[1] - span[0]) as usize);
            // SAFETY: the payload and its header room lie within `buffer`.
            unsafe {
                let checksum = finish(u32::MAX, base.add(start), length);
                write_header(base, start, length as u32, checksum);
            }
        }
    }

    /// Extend a running CRC state (not inverted) over the `length` bytes at `at`; the final CRC.
    #[target_feature(enable = "sse4.2")]
    unsafe fn finish(state: u32, at: *const u8, length: usize) -> u32 {
        // SAFETY (every read below): the caller vouches for `length` bytes at `at`.
        unsafe {
            if length >= LONG_TAIL {
                return crc32c(std::slice::from_raw_parts(at, length), !state);
            }
            let mut wide = u64::from(state);
            let mut done = 0;
            while length - done >= 8 {
                wide = _mm_crc32_u64(wide, read_u64(at.add(done)));
                done += 8;
            }
            let mut state = wide as u32;
            if length - done >= 4 {
                state = _mm_crc32_u32(
                    state,
                    u32::from_le(at.add(done).cast::<u32>().read_unaligned()),
                );
                done += 4;
            }
            if length - done >= 2 {
                state = _mm_crc32_u16(
                    state,
                    u16::from_le(at.add(done).cast::<u16>().read_unaligned()),
                );
                done += 2;
            }
            if length > done {
                state = _mm_crc32_u8(state, at.add(done).read());
            }
            !state
        }
    }

    /// # Safety
    /// 8 readable bytes at `at`.
    unsafe fn read_u64(at: *const u8) -> u64 {
        // SAFETY: as the caller vouches.
        u64::from_le(unsafe { at.cast::<u64>().read_unaligned() })
    }

    /// # Safety
    /// The 12 bytes before `start` are writable.
    unsafe fn write_header(base: *mut u8, start: usize, length: u32, checksum: u32) {
        // SAFETY: as the caller vouches.
        unsafe {
            let header = base.add(start - RECORD_HEADER_BYTES);
            header.cast::<u32>().write_unaligned(length.to_le());
            header
                .add(4)
                .cast::<u32>()
                .write_unaligned((!length).to_le());
            header
                .add(8)
                .cast::<u32>()
                .write_unaligned(checksum.to_le());
        }
    }
}

fn check_spans(buffer_length: usize, spans: &[u32]) -> Result<()> {
    if !spans.len().is_multiple_of(2) {
        return Err(Error::invalid_argument(format!(
            "spans must hold (start, end) pairs, got {} numbers",
            spans.len()
        )));
    }
    // The first header may start at 0; each later one at the end of the payload before it.
    let mut free_from = 0usize;
    for (k, span) in spans.chunks_exact(2).enumerate() {
        let (start, end) = (span[0] as usize, span[1] as usize);
        if start < free_from + RECORD_HEADER_BYTES || end < start || end > buffer_length {
            return Err(Error::invalid_argument(format!(
                "record {k}: payload [{start}, {end}) needs {RECORD_HEADER_BYTES} free bytes before it (from {free_from}) and must end within the buffer ({buffer_length} bytes)"
            )));
        }
        free_from = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    /// The same records framed one by one from the format's definition.
    fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for payload in payloads {
            let length = payload.len() as u32;
            out.extend_from_slice(&length.to_le_bytes());
            out.extend_from_slice(&(length ^ 0xFFFF_FFFF).to_le_bytes());
            out.extend_from_slice(&crc32c(payload, 0).to_le_bytes());
            out.extend_from_slice(payload);
        }
        out
    }

    /// The payloads laid out with zeroed headers before each, and their spans: a batch to seal.
    fn unsealed(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<u32>) {
        let mut buffer = Vec::new();
        let mut spans = Vec::new();
        for payload in payloads {
            buffer.extend_from_slice(&[0u8; RECORD_HEADER_BYTES]);
            spans.push(buffer.len() as u32);
            buffer.extend_from_slice(payload);
            spans.push(buffer.len() as u32);
        }
        (buffer, spans)
    }

    #[test]
    fn fills_every_header_of_a_batch() {
        let mut rng = Rng(0x5EED_1234);
        for _ in 0..50 {
            let count = rng.below(40);
            let payloads: Vec<Vec<u8>> = (0..count)
                .map(|_| (0..rng.below(300)).map(|_| rng.next() as u8).collect())
                .collect();
            let lead = rng.below(30);
            let mut buffer = vec![0xAAu8; lead];
            let mut spans = Vec::new();
            for payload in &payloads {
                buffer.extend_from_slice(&[0x55; RECORD_HEADER_BYTES]);
                spans.push(buffer.len() as u32);
                buffer.extend_from_slice(payload);
                spans.push(buffer.len() as u32);
            }
            seal_records(&mut buffer, &spans).unwrap();
            assert_eq!(&buffer[..lead], &vec![0xAAu8; lead][..]);
            assert_eq!(&buffer[lead..], &framed(&payloads)[..]);
        }
    }

    /// Every payload length up to a few hundred bytes, in groups of equal and of unequal lengths
    /// (the checksums are computed several records at a time), against the definition.
    #[test]
    fn every_length_in_equal_and_mixed_groups() {
        let mut rng = Rng(0xC0FF_EE11);
        for uniform in [true, false] {
            for base in 0..300usize {
                let payloads: Vec<Vec<u8>> = (0..9)
                    .map(|_| {
                        let length = if uniform {
                            base
                        } else {
                            rng.below(2 * base + 1)
                        };
                        (0..length).map(|_| rng.next() as u8).collect()
                    })
                    .collect();
                let (mut buffer, spans) = unsealed(&payloads);
                seal_records(&mut buffer, &spans).unwrap();
                assert_eq!(buffer, framed(&payloads), "uniform {uniform}, base {base}");
            }
        }
    }

    /// Groups whose lengths straddle the word size and the long-tail threshold, and long payloads
    /// next to empty ones: every lane finishes a different tail.
    #[test]
    fn lanes_of_very_unequal_lengths() {
        let lengths = [0usize, 1, 7, 8, 63, 64, 65, 100, 4096, 4097];
        let mut rng = Rng(0x1A2E_5EED);
        for rotation in 0..lengths.len() {
            let payloads: Vec<Vec<u8>> = (0..lengths.len() + 3)
                .map(|k| {
                    let length = lengths[(k + rotation) % lengths.len()];
                    (0..length).map(|_| rng.next() as u8).collect()
                })
                .collect();
            let (mut buffer, spans) = unsealed(&payloads);
            seal_records(&mut buffer, &spans).unwrap();
            assert_eq!(buffer, framed(&payloads), "rotation {rotation}");
        }
    }

    #[test]
    fn records_given_by_their_starts_match_the_spans() {
        let mut rng = Rng(0x57A2_75A7);
        for _ in 0..50 {
            let payloads: Vec<Vec<u8>> = (0..rng.below(40))
                .map(|_| (0..rng.below(300)).map(|_| rng.next() as u8).collect())
                .collect();
            let (mut buffer, spans) = unsealed(&payloads);
            let shift = rng.below(1 << 20) as u32;
            let starts: Vec<u32> = spans
                .chunks_exact(2)
                .map(|span| span[0] - RECORD_HEADER_BYTES as u32 + shift)
                .collect();
            let end = buffer.len();
            seal_records_at(&mut buffer, &starts, shift, end).unwrap();
            assert_eq!(buffer, framed(&payloads));
        }
    }

    #[test]
    fn malformed_starts_change_nothing() {
        let original: Vec<u8> = (0..64).collect();
        let cases: [(&[u32], u32, usize); 5] = [
            (&[5], 10, 40),    // starts before the buffer
            (&[0, 11], 0, 40), // the first record is shorter than a header
            (&[0], 0, 65),     // ends past the buffer
            (&[0, 20], 0, 25), // the last record is shorter than a header
            (&[20, 0], 0, 40), // out of order
        ];
        for (starts, shift, end) in cases {
            let mut buffer = original.clone();
            let error = seal_records_at(&mut buffer, starts, shift, end).unwrap_err();
            assert_eq!(error.code(), "INVALID_ARGUMENT", "{starts:?}");
            assert_eq!(buffer, original, "{starts:?}");
        }
    }

    #[test]
    fn known_record() {
        // "123456789" has CRC32C 0xE3069283 (the check value).
        let mut buffer = vec![0u8; 12];
        buffer.extend_from_slice(b"123456789");
        seal_records(&mut buffer, &[12, 21]).unwrap();
        assert_eq!(
            &buffer[..12],
            &[9, 0, 0, 0, 0xF6, 0xFF, 0xFF, 0xFF, 0x83, 0x92, 0x06, 0xE3]
        );
    }

    #[test]
    fn malformed_spans_change_nothing() {
        let original: Vec<u8> = (0..64).collect();
        let cases: [&[u32]; 6] = [
            &[12],             // not pairs
            &[11, 20],         // no room for the first header
            &[12, 65],         // ends past the buffer
            &[20, 12],         // ends before it starts
            &[12, 20, 31, 40], // the second header would overlap the first payload
            &[30, 40, 12, 20], // out of order
        ];
        for spans in cases {
            let mut buffer = original.clone();
            let error = seal_records(&mut buffer, spans).unwrap_err();
            assert_eq!(error.code(), "INVALID_ARGUMENT", "{spans:?}");
            assert_eq!(buffer, original, "{spans:?}");
        }
        let mut empty: Vec<u8> = Vec::new();
        seal_records(&mut empty, &[]).unwrap();
    }
}
