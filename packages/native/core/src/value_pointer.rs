//! Value pointers (docs/FORMAT.md §8.3) as a point read meets them: the 23 bytes a memtable's arena
//! or a table's block holds in place of a separated value, naming one record of a value-log frame.
//! A point read hands them over where they lie, so the pointer is parsed here rather than in
//! JavaScript (where a process that is still warming up runs each byte load interpreted).

/// An encoded pointer's length.
pub const POINTER_BYTES: usize = 23;
/// The only pointer version.
pub const POINTER_VERSION: u8 = 1;
/// A segment's header: no frame starts before it (FORMAT §8.1).
pub const SEGMENT_HEADER_BYTES: u64 = 20;
/// A frame's smallest length: its header and one 4-byte record offset.
const MIN_FRAME_BYTES: u64 = crate::frame::HEADER_LEN as u64 + 4;
/// Segment numbers stay below 2^53, so JavaScript holds them exactly.
const MAX_SEGMENT: u64 = (1 << 53) - 1;

/// The fields of a pointer that passed every check of the format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValuePointer {
    /// The segment number (`vlog/<lane>-<segment>.vlog`), 1 ..= 2^53 − 1.
    pub segment: u64,
    /// Where the frame starts in the segment file.
    pub frame_offset: u64,
    /// The frame's length, header included; the frame ends within 2^32.
    pub frame_length: u64,
    /// The record's position in the frame.
    pub sub_index: usize,
    /// The record's raw length in the frame body: varint key length ‖ key ‖ value; at least 1.
    pub record_bytes: u64,
}

fn u32_at(bytes: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes([
        bytes[at],
        bytes[at + 1],
        bytes[at + 2],
        bytes[at + 3],
    ]))
}

impl ValuePointer {
    /// The pointer `bytes` holds (exactly `POINTER_BYTES` of them), or `None` when they fail a
    /// check `decodePointer` makes in TypeScript (which then names the reason).
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != POINTER_BYTES || bytes[0] != POINTER_VERSION {
            return None;
        }
        let segment = u32_at(bytes, 5) << 32 | u32_at(bytes, 1);
        let frame_offset = u32_at(bytes, 9);
        let frame_length = u32_at(bytes, 13);
        let record_bytes = u32_at(bytes, 19);
        let well_formed = (1..=MAX_SEGMENT).contains(&segment)
            && record_bytes != 0
            && frame_length >= MIN_FRAME_BYTES
            && frame_offset + frame_length <= u64::from(u32::MAX);
        well_formed.then_some(ValuePointer {
            segment,
            frame_offset,
            frame_length,
            sub_index: usize::from(u16::from_le_bytes([bytes[17], bytes[18]])),
            record_bytes,
        })
    }

    /// The length of the record's value when the record holds a key of `key_len` bytes, or `None`
    /// when the record bytes cannot hold that key (a corrupt pointer, or another key's record).
    pub fn value_length(&self, key_len: usize) -> Option<usize> {
        let key_len32 = u32::try_from(key_len).ok()?;
        let key_part = (crate::varint::encoded_len(key_len32) + key_len) as u64;
        usize::try_from(self.record_bytes.checked_sub(key_part)?).ok()
    }

    /// Whether the frame lies in the first `readable` bytes of its segment, past the header.
    pub fn frame_within(&self, readable: u64) -> bool {
        self.frame_offset >= SEGMENT_HEADER_BYTES
            && self.frame_offset + self.frame_length <= readable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(
        segment: u64,
        frame_offset: u32,
        frame_length: u32,
        sub_index: u16,
        record_bytes: u32,
    ) -> Vec<u8> {
        let mut out = vec![POINTER_VERSION];
        out.extend_from_slice(&(segment as u32).to_le_bytes());
        out.extend_from_slice(&((segment >> 32) as u32).to_le_bytes());
        out.extend_from_slice(&frame_offset.to_le_bytes());
        out.extend_from_slice(&frame_length.to_le_bytes());
        out.extend_from_slice(&sub_index.to_le_bytes());
        out.extend_from_slice(&record_bytes.to_le_bytes());
        out
    }

    #[test]
    fn parses_every_field() {
        let bytes = encode((1 << 40) + 7, 4096, 16_500, 513, 16_401);
        assert_eq!(
            ValuePointer::parse(&bytes),
            Some(ValuePointer {
                segment: (1 << 40) + 7,
                frame_offset: 4096,
                frame_length: 16_500,
                sub_index: 513,
                record_bytes: 16_401,
            })
        );
    }

    #[test]
    fn refuses_what_decode_pointer_refuses() {
        let good = encode(3, 20, 100, 0, 50);
        assert!(ValuePointer::parse(&good).is_some());
        assert_eq!(ValuePointer::parse(&good[..22]), None, "short");
        let mut version = good.clone();
        version[0] = 2;
        assert_eq!(ValuePointer::parse(&version), None, "version");
        assert_eq!(
            ValuePointer::parse(&encode(0, 20, 100, 0, 50)),
            None,
            "segment 0"
        );
        assert_eq!(
            ValuePointer::parse(&encode(1 << 53, 20, 100, 0, 50)),
            None,
            "segment ≥ 2^53"
        );
        assert!(ValuePointer::parse(&encode((1 << 53) - 1, 20, 100, 0, 50)).is_some());
        assert_eq!(
            ValuePointer::parse(&encode(3, 20, 23, 0, 50)),
            None,
            "frame under 24 bytes"
        );
        assert_eq!(
            ValuePointer::parse(&encode(3, 20, 100, 0, 0)),
            None,
            "no record bytes"
        );
        assert_eq!(
            ValuePointer::parse(&encode(3, u32::MAX - 99, 100, 0, 50)),
            None,
            "past 2^32"
        );
        assert!(ValuePointer::parse(&encode(3, u32::MAX - 100, 100, 0, 50)).is_some());
    }

    #[test]
    fn value_length_takes_the_key_and_its_varint_out() {
        let pointer = ValuePointer::parse(&encode(3, 20, 100, 0, 50)).unwrap();
        assert_eq!(pointer.value_length(16), Some(50 - 17));
        assert_eq!(pointer.value_length(49), Some(0));
        assert_eq!(pointer.value_length(50), None);
        let long = ValuePointer::parse(&encode(3, 20, 1000, 0, 500)).unwrap();
        assert_eq!(
            long.value_length(200),
            Some(500 - 2 - 200),
            "a two-byte varint"
        );
    }

    #[test]
    fn frame_within_excludes_the_header_and_the_unreadable_tail() {
        let pointer = ValuePointer::parse(&encode(3, 20, 100, 0, 50)).unwrap();
        assert!(pointer.frame_within(120));
        assert!(!pointer.frame_within(119));
        let in_header = ValuePointer::parse(&encode(3, 19, 100, 0, 50)).unwrap();
        assert!(!in_header.frame_within(1000));
    }
}
