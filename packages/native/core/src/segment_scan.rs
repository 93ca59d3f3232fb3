//! A whole-segment scan of value-log frames (FORMAT.md §2, §8): every frame of a run of segment
//! bytes parsed, checked (header, CRC32C, LZ4, record offsets) and its records listed in one
//! packed result. A value-log rewrite reads a 16 MiB segment; decoding it one frame per call would
//! cross N-API some four thousand times and allocate two packed batches per frame, so the scan
//! takes a few MiB per call and returns one buffer of bodies with one index.

use crate::crc32c::crc32c;
use crate::error::{Error, Result};
use crate::frame::{self, HEADER_LEN, MAGIC, VERSION};
use crate::lz4;

const FLAG_LZ4: u8 = 0x01;
const CRC_AT: usize = 16;
/// `u32` fields per record in `SegmentScan::records`.
pub const RECORD_FIELDS: usize = 5;
/// `u32` fields per frame in `SegmentScan::frames`.
pub const FRAME_FIELDS: usize = 2;

/// The records of the whole frames at the start of a run of segment bytes.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SegmentScan {
    /// The raw bodies of the scanned frames, back to back (decompressed where they were stored
    /// compressed): every key and value is a range of it. Empty when `in_place`.
    pub data: Vec<u8>,
    /// Every scanned frame is stored uncompressed (and at least one was scanned): nothing was
    /// copied, the record offsets are offsets into the scanned input itself.
    pub in_place: bool,
    /// Per record, `RECORD_FIELDS` values: frame index (into `frames`), sub-index in its frame,
    /// key start, value start (= key end), value end — offsets into `data`.
    pub records: Vec<u32>,
    /// Per frame, `FRAME_FIELDS` values: the frame's offset in the segment, its length.
    pub frames: Vec<u32>,
    /// The segment offset just past the last whole frame scanned (`base_offset` when none was).
    pub end: u64,
}

#[inline]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Scan the frames lying back to back from the start of `data`, which holds the segment's bytes
/// from offset `base_offset` on (a frame boundary). Scanning stops before a frame that does not lie
/// wholly within `data` (the caller reads on from `end`), and before a frame whose body would take
/// `data` of the result past 2^32 − 1 bytes when some frame was scanned already. A frame that lies
/// within `data` and does not check is `CORRUPTION`, as is a header that does not (magic, version,
/// flags, record count, lengths) even when its frame runs past `data`: no further read could make
/// it one.
///
/// When every whole frame in `data` is stored uncompressed, nothing is copied: the result is
/// `in_place` and its offsets index `data` (a rewrite scans 16 MiB of incompressible values, and
/// copying them into fresh memory cost more than checking them).
pub fn scan(data: &[u8], base_offset: u64) -> Result<SegmentScan> {
    let mut out = SegmentScan {
        end: base_offset,
        in_place: all_whole_frames_raw(data),
        ..SegmentScan::default()
    };
    let mut at = 0usize;
    while data.len() - at >= HEADER_LEN {
        let frame_offset = base_offset + at as u64;
        let frame = &data[at..];
        let corrupt = |why: String| Error::corruption(format!("frame at {frame_offset}: {why}"));
        if frame[0..4] != MAGIC {
            return Err(corrupt("bad frame magic".into()));
        }
        if frame[4] != VERSION {
            return Err(corrupt(format!("unknown frame version {}", frame[4])));
        }
        let flags = frame[5];
        if flags & !FLAG_LZ4 != 0 {
            return Err(corrupt(format!("unknown frame flags {flags:#04x}")));
        }
        let compressed = flags & FLAG_LZ4 != 0;
        let count = usize::from(u16::from_le_bytes([frame[6], frame[7]]));
        if count == 0 {
            return Err(corrupt("frame with no records".into()));
        }
        let raw_len = u32_at(frame, 8);
        let stored_len = u32_at(frame, 12);
        if !compressed && stored_len != raw_len {
            return Err(corrupt(format!(
                "uncompressed frame stores {stored_len} bytes for a {raw_len}-byte body"
            )));
        }
        let body_at = HEADER_LEN + 4 * count;
        let total = body_at as u64 + u64::from(stored_len);
        if frame_offset + total > u64::from(u32::MAX) {
            return Err(corrupt(format!(
                "a frame of {total} bytes ends past the 4 GiB a pointer can name"
            )));
        }
        if total > frame.len() as u64 {
            break;
        }
        if !out.in_place
            && !out.data.is_empty()
            && out.data.len() as u64 + u64::from(raw_len) > u64::from(u32::MAX)
        {
            break;
        }
        let total = total as usize;
        let expected_crc = u32_at(frame, CRC_AT);
        let actual_crc = crc32c(&frame[HEADER_LEN..total], crc32c(&frame[..CRC_AT], 0));
        if actual_crc != expected_crc {
            return Err(corrupt(format!(
                "checksum mismatch (stored {expected_crc:#010x}, computed {actual_crc:#010x})"
            )));
        }
        let stored = &frame[body_at..total];
        // In place, offsets count from the input (`at + total` ≤ 2^32 − 1: a frame ends within
        // the 4 GiB a pointer names, checked above).
        let (body_start, body) = if out.in_place {
            (at + body_at, stored)
        } else {
            let body_start = out.data.len();
            if compressed {
                out.data
                    .extend_from_slice(&lz4::decompress_block(stored, raw_len)?);
            } else {
                out.data.extend_from_slice(stored);
            }
            (body_start, &out.data[body_start..])
        };
        let frame_index = (out.frames.len() / FRAME_FIELDS) as u32;
        for i in 0..count {
            let (key_start, value_start, end) =
                frame::record_range(frame, body, count, i).map_err(corrupt)?;
            // Offsets fit u32: the body buffer stays below 2^32 bytes (checked above).
            out.records.extend_from_slice(&[
                frame_index,
                i as u32,
                (body_start + key_start) as u32,
                (body_start + value_start) as u32,
                (body_start + end) as u32,
            ]);
        }
        out.frames
            .extend_from_slice(&[frame_offset as u32, total as u32]);
        at += total;
        out.end = base_offset + at as u64;
    }
    Ok(out)
}

/// Whether `data` starts with at least one whole frame and every whole frame from its start is
/// stored uncompressed, by their headers alone. Headers that do not parse end the walk: the scan
/// reports them, or stops before them, at the same frame.
fn all_whole_frames_raw(data: &[u8]) -> bool {
    let mut at = 0usize;
    let mut whole = 0usize;
    while data.len() - at >= HEADER_LEN {
        let frame = &data[at..];
        let count = usize::from(u16::from_le_bytes([frame[6], frame[7]]));
        let total = (HEADER_LEN + 4 * count) as u64 + u64::from(u32_at(frame, 12));
        if count == 0 || total > (data.len() - at) as u64 {
            break;
        }
        if frame[5] & FLAG_LZ4 != 0 {
            return false;
        }
        at += total as usize;
        whole += 1;
    }
    whole > 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame;
    use crate::packed::PackedBuf;

    fn frame_of(records: &[(&[u8], &[u8])], compress: bool) -> Vec<u8> {
        let keys: PackedBuf = records.iter().map(|r| r.0).collect();
        let values: PackedBuf = records.iter().map(|r| r.1).collect();
        frame::encode(keys.as_packed(), values.as_packed(), compress).unwrap()
    }

    /// Every (frame offset, sub-index, key, value) the scan of `input` lists.
    fn listed(scan: &SegmentScan, input: &[u8]) -> Vec<(u32, u32, Vec<u8>, Vec<u8>)> {
        let data = if scan.in_place { input } else { &scan.data[..] };
        scan.records
            .chunks(RECORD_FIELDS)
            .map(|r| {
                let frame_offset = scan.frames[r[0] as usize * FRAME_FIELDS];
                let key = data[r[2] as usize..r[3] as usize].to_vec();
                let value = data[r[3] as usize..r[4] as usize].to_vec();
                (frame_offset, r[1], key, value)
            })
            .collect()
    }

    fn two_frames() -> (Vec<u8>, usize) {
        let compressible = vec![b'x'; 300];
        let mut bytes = frame_of(&[(b"a", b"1"), (b"bb", b"22")], false);
        let first = bytes.len();
        bytes.extend(frame_of(&[(b"c", &compressible), (b"d", b"")], true));
        (bytes, first)
    }

    #[test]
    fn lists_every_record_with_its_frame_and_sub_index() {
        let (bytes, first) = two_frames();
        let scan = scan(&bytes, 20).unwrap();
        assert_eq!(scan.end, 20 + bytes.len() as u64);
        assert_eq!(
            scan.frames,
            vec![
                20,
                first as u32,
                20 + first as u32,
                (bytes.len() - first) as u32
            ]
        );
        assert!(!scan.in_place);
        let records = listed(&scan, &bytes);
        assert_eq!(records.len(), 4);
        assert_eq!(records[0], (20, 0, b"a".to_vec(), b"1".to_vec()));
        assert_eq!(records[1], (20, 1, b"bb".to_vec(), b"22".to_vec()));
        assert_eq!(
            records[2],
            (20 + first as u32, 0, b"c".to_vec(), vec![b'x'; 300])
        );
        assert_eq!(
            records[3],
            (20 + first as u32, 1, b"d".to_vec(), Vec::new())
        );
        // The second frame was stored compressed and comes back decoded.
        assert!(frame::decode(&bytes, first).unwrap().compressed);
    }

    #[test]
    fn uncompressed_frames_are_listed_in_place_without_a_copy() {
        let (bytes, first) = two_frames();
        let mut raw = bytes[..first].to_vec();
        raw.extend(frame_of(&[(b"e", b"555"), (b"f", b"")], false));
        let whole = scan(&raw, 20).unwrap();
        assert!(whole.in_place && whole.data.is_empty());
        assert_eq!(whole.end, 20 + raw.len() as u64);
        let records = listed(&whole, &raw);
        assert_eq!(records[0], (20, 0, b"a".to_vec(), b"1".to_vec()));
        assert_eq!(records[1], (20, 1, b"bb".to_vec(), b"22".to_vec()));
        assert_eq!(
            records[2],
            (20 + first as u32, 0, b"e".to_vec(), b"555".to_vec())
        );
        assert_eq!(
            records[3],
            (20 + first as u32, 1, b"f".to_vec(), Vec::new())
        );
        // A compressed frame anywhere among the whole ones: the bodies are copied out, decoded.
        let mixed = [raw.clone(), bytes[first..].to_vec()].concat();
        let copied = scan(&mixed, 20).unwrap();
        assert!(!copied.in_place);
        assert_eq!(listed(&copied, &mixed)[..4], records[..]);
        // ... but one cut short is not scanned, so it does not count.
        let cut = scan(&mixed[..mixed.len() - 1], 20).unwrap();
        assert!(cut.in_place);
        assert_eq!(listed(&cut, &mixed), records);
    }

    #[test]
    fn stops_before_a_frame_that_runs_past_the_data() {
        let (bytes, first) = two_frames();
        for cut in [first, first + 5, first + HEADER_LEN, bytes.len() - 1] {
            let scan = scan(&bytes[..cut], 100).unwrap();
            assert_eq!(scan.end, 100 + first as u64, "cut at {cut}");
            assert_eq!(scan.records.len(), 2 * RECORD_FIELDS);
        }
        let empty = scan(&bytes[..first - 1], 100).unwrap();
        assert_eq!(empty.end, 100);
        assert!(empty.records.is_empty() && empty.data.is_empty() && !empty.in_place);
    }

    #[test]
    fn a_damaged_byte_is_corruption() {
        let (bytes, _) = two_frames();
        for at in 0..bytes.len() {
            // The stored CRC, its bytes, each header field: any flipped bit must be caught (a
            // flip in a length field may also just make the frame look longer than the data).
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            match scan(&damaged, 20) {
                Err(e) => assert_eq!(e.code(), "CORRUPTION", "byte {at}: {e}"),
                Ok(s) => assert!(
                    s.end < 20 + bytes.len() as u64,
                    "byte {at}: a damaged segment scanned whole"
                ),
            }
        }
    }

    #[test]
    fn a_bad_header_is_corruption_even_when_the_frame_is_cut() {
        let (mut bytes, _) = two_frames();
        bytes[0] = b'X';
        let error = scan(&bytes[..HEADER_LEN], 20).unwrap_err();
        assert_eq!(error.code(), "CORRUPTION");
    }
}
