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
    // Records are checksummed LANES at a time: one CRC32C is a chain of dependent instructions
    // (about 3 cycles each), so several records' chains interleaved keep the CPU busy where one
    // record's chain would leave it waiting. For 100-byte payloads this is most of the call.
    let mut groups = spans.chunks_exact(2 * LANES);
    for group in &mut groups {
        let checksums = interleaved::checksums(buffer, group);
        for (span, checksum) in group.chunks_exact(2).zip(checksums) {
            write_header(buffer, span, checksum);
        }
    }
    for span in groups.remainder().chunks_exact(2) {
        let checksum = crc32c(&buffer[span[0] as usize..span[1] as usize], 0);
        write_header(buffer, span, checksum);
    }
    Ok(())
}

/// Records whose checksums are computed together.
const LANES: usize = 4;

/// The header of the record whose payload is `buffer[span[0]..span[1]]`, in the room before it.
fn write_header(buffer: &mut [u8], span: &[u32], checksum: u32) {
    let start = span[0] as usize;
    let length = span[1] - span[0];
    let header = &mut buffer[start - RECORD_HEADER_BYTES..start];
    header[0..4].copy_from_slice(&length.to_le_bytes());
    header[4..8].copy_from_slice(&(!length).to_le_bytes());
    header[8..12].copy_from_slice(&checksum.to_le_bytes());
}

mod interleaved {
    use super::LANES;
    use crate::crc32c::crc32c;

    /// The CRC32C of the LANES payloads `buffer[group[2k]..group[2k + 1]]`: the same values as
    /// `crc32c(payload, 0)` for each.
    pub fn checksums(buffer: &[u8], group: &[u32]) -> [u32; LANES] {
        let payloads: [&[u8]; LANES] =
            std::array::from_fn(|k| &buffer[group[2 * k] as usize..group[2 * k + 1] as usize]);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the CPU has SSE4.2, checked just above (std caches the answer).
            #[allow(unsafe_code)]
            return unsafe { x86::checksums(&payloads) };
        }
        payloads.map(|payload| crc32c(payload, 0))
    }

    #[cfg(target_arch = "x86_64")]
    mod x86 {
        use super::LANES;
        use crate::crc32c::crc32c;
        use std::arch::x86_64::{_mm_crc32_u16, _mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};

        /// The CRC32C instruction on 8-byte words of every payload in turn, as far as the shortest
        /// one goes; each payload's rest is finished on its own.
        #[target_feature(enable = "sse4.2")]
        pub fn checksums(payloads: &[&[u8]; LANES]) -> [u32; LANES] {
            let mut state = [u64::from(u32::MAX); LANES];
            let [a, b, c, d] = payloads.map(|payload| payload.chunks_exact(8));
            let mut words = 0;
            for (((a, b), c), d) in a.zip(b).zip(c).zip(d) {
                state[0] = _mm_crc32_u64(state[0], word(a));
                state[1] = _mm_crc32_u64(state[1], word(b));
                state[2] = _mm_crc32_u64(state[2], word(c));
                state[3] = _mm_crc32_u64(state[3], word(d));
                words += 1;
            }
            std::array::from_fn(|k| finish(state[k] as u32, &payloads[k][8 * words..]))
        }

        /// Extend a running CRC state (not inverted) over `rest` and return the final CRC.
        #[target_feature(enable = "sse4.2")]
        fn finish(mut state: u32, rest: &[u8]) -> u32 {
            if rest.len() >= 8 {
                // A longer tail (payloads of unequal lengths): the library's own parallel loop.
                return crc32c(rest, !state);
            }
            let mut at = 0;
            if rest.len() - at >= 4 {
                state = _mm_crc32_u32(
                    state,
                    u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]),
                );
                at = 4;
            }
            if rest.len() - at >= 2 {
                state = _mm_crc32_u16(state, u16::from_le_bytes([rest[at], rest[at + 1]]));
                at += 2;
            }
            if rest.len() > at {
                state = _mm_crc32_u8(state, rest[at]);
            }
            !state
        }

        fn word(bytes: &[u8]) -> u64 {
            u64::from_le_bytes(bytes.try_into().expect("8-byte chunk"))
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
                let mut buffer = Vec::new();
                let mut spans = Vec::new();
                for payload in &payloads {
                    buffer.extend_from_slice(&[0u8; RECORD_HEADER_BYTES]);
                    spans.push(buffer.len() as u32);
                    buffer.extend_from_slice(payload);
                    spans.push(buffer.len() as u32);
                }
                seal_records(&mut buffer, &spans).unwrap();
                assert_eq!(buffer, framed(&payloads), "uniform {uniform}, base {base}");
            }
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
