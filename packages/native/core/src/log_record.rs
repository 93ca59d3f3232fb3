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
    for span in spans.chunks_exact(2) {
        let (start, end) = (span[0] as usize, span[1] as usize);
        let length = span[1] - span[0];
        let checksum = crc32c(&buffer[start..end], 0);
        let header = &mut buffer[start - RECORD_HEADER_BYTES..start];
        header[0..4].copy_from_slice(&length.to_le_bytes());
        header[4..8].copy_from_slice(&(!length).to_le_bytes());
        header[8..12].copy_from_slice(&checksum.to_le_bytes());
    }
    Ok(())
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
