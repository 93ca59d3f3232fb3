//! Value-log frames (FORMAT.md §2): K records under one header and one CRC32C, the body
//! LZ4-compressed when that saves at least 12.5 %.

use crate::crc32c::crc32c;
use crate::crc32c_copy::copy_crc32c;
use crate::error::{Error, Result};
use crate::lz4;
use crate::packed::{Packed, PackedBuf};
use crate::varint;

pub const MAGIC: [u8; 4] = *b"SLVF";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 20;
pub const MAX_RECORDS: usize = 65_535;
const FLAG_LZ4: u8 = 0x01;
/// Bodies shorter than this are never worth a compression attempt.
const MIN_COMPRESS_LEN: usize = 64;
const CRC_AT: usize = 16;

/// The records of one frame, in frame order.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodedFrame {
    pub keys: PackedBuf,
    pub values: PackedBuf,
    /// Bytes the frame occupies from the offset it was decoded at.
    pub byte_length: usize,
    /// Whether the stored body was LZ4-compressed.
    pub compressed: bool,
}

/// Encode one frame holding `keys.len()` records (1..=65535, as many values as keys).
pub fn encode(keys: Packed<'_>, values: Packed<'_>, compress: bool) -> Result<Vec<u8>> {
    let count = keys.len();
    if count != values.len() {
        return Err(Error::invalid_argument(format!(
            "a frame needs as many values as keys ({} keys, {} values)",
            count,
            values.len()
        )));
    }
    if !(1..=MAX_RECORDS).contains(&count) {
        return Err(Error::invalid_argument(format!(
            "a frame holds 1 to {MAX_RECORDS} records, not {count}"
        )));
    }
    let raw_len = (0..count).try_fold(0u64, |total, i| {
        let key_len = u32::try_from(keys.get(i).len())
            .map_err(|_| Error::invalid_argument("frame key longer than 2^32 - 1 bytes"))?;
        Ok::<_, Error>(
            total
                + varint::encoded_len(key_len) as u64
                + u64::from(key_len)
                + values.get(i).len() as u64,
        )
    })?;
    let raw_len = u32::try_from(raw_len)
        .map_err(|_| Error::invalid_argument("frame body longer than 2^32 - 1 bytes"))?;
    let raw_len_usize = raw_len as usize;

    let offsets_len = 4 * count;
    let body_at = HEADER_LEN + offsets_len;
    let mut frame = Vec::with_capacity(body_at + raw_len_usize);
    frame.resize(body_at, 0);
    let mut body = Vec::with_capacity(raw_len_usize);
    for i in 0..count {
        let at = HEADER_LEN + 4 * i;
        frame[at..at + 4].copy_from_slice(&(body.len() as u32).to_le_bytes());
        let key = keys.get(i);
        varint::encode(key.len() as u32, &mut body);
        body.extend_from_slice(key);
        body.extend_from_slice(values.get(i));
    }

    let mut flags = 0;
    if compress && raw_len_usize >= MIN_COMPRESS_LEN {
        let mut block = Vec::new();
        lz4::compress_block_into(&body, &mut block);
        if 8 * block.len() as u64 <= 7 * u64::from(raw_len) {
            flags |= FLAG_LZ4;
            body = block;
        }
    }
    // A compressed body is at most the raw length here, so it fits the u32 field.
    let stored_len = body.len() as u32;
    frame.extend_from_slice(&body);

    frame[0..4].copy_from_slice(&MAGIC);
    frame[4] = VERSION;
    frame[5] = flags;
    frame[6..8].copy_from_slice(&(count as u16).to_le_bytes());
    frame[8..12].copy_from_slice(&raw_len.to_le_bytes());
    frame[12..16].copy_from_slice(&stored_len.to_le_bytes());
    let crc = crc32c(&frame[HEADER_LEN..], crc32c(&frame[..CRC_AT], 0));
    frame[CRC_AT..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    Ok(frame)
}

#[inline]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// The checks every reader of a frame makes first — long enough for a header, magic, version,
/// known flags — returning the flags.
fn check_header(frame: &[u8]) -> Result<u8> {
    if frame.len() < HEADER_LEN {
        return Err(Error::corruption(format!(
            "truncated frame: {} bytes, the header alone needs {HEADER_LEN}",
            frame.len()
        )));
    }
    if frame[0..4] != MAGIC {
        return Err(Error::corruption("bad frame magic"));
    }
    if frame[4] != VERSION {
        return Err(Error::corruption(format!(
            "unknown frame version {}",
            frame[4]
        )));
    }
    let flags = frame[5];
    if flags & !FLAG_LZ4 != 0 {
        return Err(Error::corruption(format!(
            "unknown frame flags {flags:#04x}"
        )));
    }
    Ok(flags)
}

/// Decode and verify the frame starting at `offset` of `data`. Bytes after the frame are ignored:
/// a reader may hand in a whole segment and decode frame after frame.
pub fn decode(data: &[u8], offset: usize) -> Result<DecodedFrame> {
    // An offset past the data is the caller's mistake; one at the very end is a truncated frame.
    let Some(frame) = data.get(offset..) else {
        return Err(Error::invalid_argument(format!(
            "frame offset {offset} is past the {} available bytes",
            data.len()
        )));
    };
    let flags = check_header(frame)?;
    let compressed = flags & FLAG_LZ4 != 0;
    let count = usize::from(u16::from_le_bytes([frame[6], frame[7]]));
    if count == 0 {
        return Err(Error::corruption("frame with no records"));
    }
    let raw_len = u32_at(frame, 8);
    let stored_len = u32_at(frame, 12);
    if !compressed && stored_len != raw_len {
        return Err(Error::corruption(format!(
            "uncompressed frame stores {stored_len} bytes for a {raw_len}-byte body"
        )));
    }
    let body_at = HEADER_LEN + 4 * count;
    let total = body_at as u64 + u64::from(stored_len);
    if total > frame.len() as u64 {
        return Err(Error::corruption(format!(
            "frame of {total} bytes runs past the {} available bytes",
            frame.len()
        )));
    }
    let total = total as usize;
    let expected_crc = u32_at(frame, CRC_AT);
    let actual_crc = crc32c(&frame[HEADER_LEN..total], crc32c(&frame[..CRC_AT], 0));
    if actual_crc != expected_crc {
        return Err(Error::corruption(format!(
            "frame checksum mismatch (stored {expected_crc:#010x}, computed {actual_crc:#010x})"
        )));
    }

    let stored = &frame[body_at..total];
    let decompressed;
    let body: &[u8] = if compressed {
        decompressed = lz4::decompress_block(stored, raw_len)?;
        &decompressed
    } else {
        stored
    };

    let mut keys = PackedBuf::with_capacity(count, 0);
    let mut values = PackedBuf::with_capacity(count, body.len());
    for i in 0..count {
        let (key_start, value_start, end) =
            record_range(frame, body, count, i).map_err(Error::corruption)?;
        keys.push(&body[key_start..value_start]);
        values.push(&body[value_start..end]);
    }
    Ok(DecodedFrame {
        keys,
        values,
        byte_length: total,
        compressed,
    })
}

/// Record `i` of a frame's `count`, located through the frame's record-offset table (FORMAT §2:
/// the first record at 0, offsets strictly increasing within `body`, each record a varint key
/// length, the key, the value): `(key start, value start, end)` within `body`, or what is wrong.
pub(crate) fn record_range(
    frame: &[u8],
    body: &[u8],
    count: usize,
    i: usize,
) -> std::result::Result<(usize, usize, usize), String> {
    let record_start = |i: usize| u32_at(frame, HEADER_LEN + 4 * i) as usize;
    let start = record_start(i);
    if i == 0 && start != 0 {
        return Err("the first frame record does not start at 0".into());
    }
    let end = if i + 1 < count {
        record_start(i + 1)
    } else {
        body.len()
    };
    if start >= end || end > body.len() {
        return Err(format!(
            "frame record offsets are not strictly increasing within the body at record {i}"
        ));
    }
    let record = &body[start..end];
    let mut pos = 0;
    let key_len = varint::decode(record, &mut pos).map_err(|e| e.to_string())? as usize;
    if key_len > record.len() - pos {
        return Err(format!(
            "frame record {i} has a {key_len}-byte key in {} bytes",
            record.len() - pos
        ));
    }
    Ok((start + pos, start + pos + key_len, end))
}

/// Copy the value of record `index` out of `frame` (exactly one stored frame, as long as its pointer
/// says) into `out`, after the checks `decode` makes and after checking that the record holds `key`
/// and a value of exactly `out.len()` bytes: a point read needs one value, and decoding the frame
/// would copy every record of it. The checksum is computed over the copy where the value lies, so the
/// bytes handed back are the bytes checked even if the source changed underneath (a mapped file).
/// `Ok(false)`, `out` untouched, when the frame is compressed: its body is decompressed whole, so the
/// caller decodes it. `out`'s bytes are unspecified after an error.
pub fn copy_record_value(frame: &[u8], index: usize, key: &[u8], out: &mut [u8]) -> Result<bool> {
    let flags = check_header(frame)?;
    if flags & FLAG_LZ4 != 0 {
        return Ok(false);
    }
    let count = usize::from(u16::from_le_bytes([frame[6], frame[7]]));
    if count == 0 {
        return Err(Error::corruption("frame with no records"));
    }
    let raw_len = u32_at(frame, 8);
    let stored_len = u32_at(frame, 12);
    if stored_len != raw_len {
        return Err(Error::corruption(format!(
            "uncompressed frame stores {stored_len} bytes for a {raw_len}-byte body"
        )));
    }
    let body_at = HEADER_LEN + 4 * count;
    let total = body_at as u64 + u64::from(stored_len);
    if total != frame.len() as u64 {
        return Err(Error::corruption(format!(
            "a frame of {total} bytes where its pointer says {}",
            frame.len()
        )));
    }
    if index >= count {
        return Err(Error::corruption(format!(
            "record {index} of a frame of {count}"
        )));
    }
    let body = &frame[body_at..];
    let (key_start, value_start, end) =
        record_range(frame, body, count, index).map_err(Error::corruption)?;
    if end - value_start != out.len() {
        return Err(Error::corruption(format!(
            "frame record {index} holds a {}-byte value, its pointer says {}",
            end - value_start,
            out.len()
        )));
    }
    // The value is checksummed as it is copied, from the words stored into `out`: what is handed
    // out is what was checked, even if the file's bytes changed under a mapping meanwhile.
    let mut crc = crc32c(&frame[..CRC_AT], 0);
    crc = crc32c(&frame[HEADER_LEN..body_at + value_start], crc);
    crc = copy_crc32c(&body[value_start..end], out, crc);
    crc = crc32c(&frame[body_at + end..], crc);
    let expected_crc = u32_at(frame, CRC_AT);
    if crc != expected_crc {
        return Err(Error::corruption(format!(
            "frame checksum mismatch (stored {expected_crc:#010x}, computed {crc:#010x})"
        )));
    }
    if body[key_start..value_start] != *key {
        return Err(Error::corruption(format!(
            "frame record {index} holds another key"
        )));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(items: &[&[u8]]) -> PackedBuf {
        items.iter().copied().collect()
    }

    fn encode_items(keys: &[&[u8]], values: &[&[u8]], compress: bool) -> Vec<u8> {
        let (k, v) = (pack(keys), pack(values));
        encode(k.as_packed(), v.as_packed(), compress).unwrap()
    }

    fn corruption(data: &[u8], offset: usize) -> String {
        match decode(data, offset) {
            Err(e) => {
                assert_eq!(e.code(), "CORRUPTION", "{e}");
                e.to_string()
            }
            Ok(f) => panic!("decoded {f:?}"),
        }
    }

    #[test]
    fn one_record_known_bytes() {
        let frame = encode_items(&[b"k"], &[b"value"], true);
        // Body `01 'k' "value"` is 7 bytes: too short to compress.
        let mut expected = vec![b'S', b'L', b'V', b'F', 1, 0, 1, 0, 7, 0, 0, 0, 7, 0, 0, 0];
        let mut covered = expected.clone();
        let tail = [0, 0, 0, 0, 1, b'k', b'v', b'a', b'l', b'u', b'e'];
        covered.extend_from_slice(&tail);
        let crc = crc32c(&covered, 0);
        expected.extend_from_slice(&crc.to_le_bytes());
        expected.extend_from_slice(&tail);
        assert_eq!(frame, expected);
        let decoded = decode(&frame, 0).unwrap();
        assert_eq!(decoded.keys, pack(&[b"k"]));
        assert_eq!(decoded.values, pack(&[b"value"]));
        assert_eq!(decoded.byte_length, frame.len());
        assert!(!decoded.compressed);
    }

    #[test]
    fn compressed_and_uncompressed_round_trip() {
        let value = crate::lz4::tests::json_like(5000);
        let keys: Vec<Vec<u8>> = (0..50)
            .map(|i| format!("key-{i:04}").into_bytes())
            .collect();
        let key_refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let value_refs: Vec<&[u8]> = (0..50).map(|i| &value[i * 100..i * 100 + 90]).collect();
        for compress in [false, true] {
            let frame = encode_items(&key_refs, &value_refs, compress);
            assert_eq!(frame[5] & 1 == 1, compress);
            let decoded = decode(&frame, 0).unwrap();
            assert_eq!(decoded.compressed, compress);
            assert_eq!(decoded.keys, pack(&key_refs));
            assert_eq!(decoded.values, pack(&value_refs));
            assert_eq!(decoded.byte_length, frame.len());
            let raw = u32_at(&frame, 8) as usize;
            let stored = u32_at(&frame, 12) as usize;
            assert_eq!(frame.len(), HEADER_LEN + 4 * 50 + stored);
            if compress {
                assert!(8 * stored <= 7 * raw);
            } else {
                assert_eq!(stored, raw);
            }
        }
    }

    #[test]
    fn compression_is_kept_only_when_it_saves_an_eighth() {
        let random = crate::lz4::tests::random_bytes(1000, 3);
        let frame = encode_items(&[b"r"], &[&random], true);
        assert_eq!(frame[5], 0, "random bytes do not compress");
        let repetitive = vec![b'a'; 63];
        let frame = encode_items(&[b""], &[&repetitive[..62]], true);
        assert_eq!(frame[5], 0, "bodies under 64 bytes stay raw");
        let frame = encode_items(&[b""], &[&repetitive], true);
        assert_eq!(frame[5], 1, "64-byte bodies may compress");
    }

    #[test]
    fn maximum_record_count() {
        let keys: Vec<[u8; 2]> = (0..MAX_RECORDS as u16).map(|i| i.to_be_bytes()).collect();
        let key_refs: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        let value_refs: Vec<&[u8]> = (0..MAX_RECORDS).map(|i| &b"vv"[..i % 3]).collect();
        for compress in [false, true] {
            let frame = encode_items(&key_refs, &value_refs, compress);
            assert_eq!(&frame[6..8], &[0xff, 0xff]);
            let decoded = decode(&frame, 0).unwrap();
            assert_eq!(decoded.keys.len(), MAX_RECORDS);
            assert_eq!(decoded.keys, pack(&key_refs));
            assert_eq!(decoded.values, pack(&value_refs));
        }
    }

    #[test]
    fn empty_keys_and_values() {
        let frame = encode_items(&[b"", b"", b"k"], &[b"", b"v", b""], true);
        let decoded = decode(&frame, 0).unwrap();
        assert_eq!(decoded.keys, pack(&[b"", b"", b"k"]));
        assert_eq!(decoded.values, pack(&[b"", b"v", b""]));
    }

    #[test]
    fn decodes_at_an_offset_and_ignores_what_follows() {
        let first = encode_items(&[b"a"], &[b"1"], false);
        let second = encode_items(&[b"b", b"c"], &[b"22", b"333"], true);
        let segment = [&first[..], &second[..], b"garbage"].concat();
        let a = decode(&segment, 0).unwrap();
        assert_eq!(a.byte_length, first.len());
        let b = decode(&segment, first.len()).unwrap();
        assert_eq!(b.values, pack(&[b"22", b"333"]));
        assert_eq!(b.byte_length, second.len());
    }

    #[test]
    fn invalid_arguments() {
        let one = pack(&[b"a"]);
        let two = pack(&[b"a", b"b"]);
        let none = pack(&[]);
        for (k, v) in [(&one, &two), (&none, &none)] {
            let err = encode(k.as_packed(), v.as_packed(), true).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
        }
        let many = PackedBuf {
            data: vec![],
            offsets: vec![0; MAX_RECORDS + 2],
        };
        let err = encode(many.as_packed(), many.as_packed(), false).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
    }

    #[test]
    fn truncation_is_corruption() {
        let value = crate::lz4::tests::json_like(3000);
        for compress in [false, true] {
            let frame = encode_items(&[b"k1", b"k2"], &[&value[..1500], &value[1500..]], compress);
            for cut in (0..frame.len())
                .step_by(97)
                .chain([19, 20, frame.len() - 1])
            {
                corruption(&frame[..cut], 0);
            }
            corruption(&frame, frame.len());
            let past = decode(&frame, frame.len() + 1).unwrap_err();
            assert_eq!(past.code(), "INVALID_ARGUMENT");
        }
    }

    #[test]
    fn every_flipped_bit_is_corruption() {
        let value = crate::lz4::tests::json_like(600);
        for compress in [false, true] {
            let frame = encode_items(&[b"key", b""], &[&value[..300], &value[300..]], compress);
            assert_eq!(frame[5] == 1, compress);
            for bit in 0..frame.len() * 8 {
                let mut flipped = frame.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                corruption(&flipped, 0);
            }
        }
    }

    /// Frames whose checksum is right but whose contents are not, as a buggy writer could produce.
    fn reseal(mut frame: Vec<u8>) -> Vec<u8> {
        let count = usize::from(u16::from_le_bytes([frame[6], frame[7]]));
        let stored = u32_at(&frame, 12) as usize;
        let end = (HEADER_LEN + 4 * count + stored).min(frame.len());
        let crc = crc32c(&frame[HEADER_LEN..end], crc32c(&frame[..CRC_AT], 0));
        frame[CRC_AT..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
        frame
    }

    #[test]
    fn structural_errors_behind_a_valid_checksum_are_corruption() {
        let frame = encode_items(&[b"ab", b"cd"], &[b"1", b"2"], false);
        let mutate = |at: usize, bytes: &[u8]| {
            let mut f = frame.clone();
            f[at..at + bytes.len()].copy_from_slice(bytes);
            reseal(f)
        };
        let cases = [
            (mutate(4, &[2]), "version"),
            (mutate(5, &[2]), "flags"),
            (mutate(6, &[0, 0]), "no records"),
            (mutate(8, &[9]), "stores"),
            (mutate(12, &[9]), "stores"),
            (mutate(20, &[1]), "start at 0"),
            (mutate(24, &[0]), "strictly increasing"),
            (mutate(24, &[9]), "strictly increasing"),
            (mutate(28, &[7]), "key"),
            (mutate(28, &[0x80, 0x80, 0x80, 0x80]), "varint"),
        ];
        for (bad, why) in cases {
            let message = corruption(&bad, 0);
            assert!(message.contains(why), "{why}: {message}");
        }
        let mut compressed_flag = frame.clone();
        compressed_flag[5] = 1;
        let message = corruption(&reseal(compressed_flag), 0);
        assert!(message.contains("LZ4"), "{message}");
    }

    fn record_value(frame: &[u8], index: usize, key: &[u8], len: usize) -> Result<Option<Vec<u8>>> {
        let mut out = vec![0xEE; len];
        copy_record_value(frame, index, key, &mut out).map(|copied| copied.then_some(out))
    }

    #[test]
    fn copies_one_record_value() {
        let value = crate::lz4::tests::random_bytes(16 << 10, 5);
        let frame = encode_items(&[b"a", b"bb", b""], &[b"x", &value, b""], false);
        assert_eq!(record_value(&frame, 0, b"a", 1).unwrap().unwrap(), b"x");
        assert_eq!(
            record_value(&frame, 1, b"bb", value.len())
                .unwrap()
                .unwrap(),
            value
        );
        assert_eq!(record_value(&frame, 2, b"", 0).unwrap().unwrap(), b"");
        // A compressed frame is left to the caller, `out` untouched.
        let text = crate::lz4::tests::json_like(4000);
        let compressed = encode_items(&[b"t"], &[&text], true);
        assert_eq!(compressed[5], 1);
        let mut out = vec![7u8; text.len()];
        assert!(!copy_record_value(&compressed, 0, b"t", &mut out).unwrap());
        assert!(out.iter().all(|&b| b == 7));
    }

    #[test]
    fn record_value_mismatches_are_corruption() {
        let frame = encode_items(&[b"a", b"bb"], &[b"x", b"yz"], false);
        // (frame bytes, record index, key, value length, what the error says)
        type Case<'a> = (&'a [u8], usize, &'a [u8], usize, &'a str);
        let cases: [Case; 5] = [
            (&frame, 2, b"bb", 2, "record 2 of a frame of 2"),
            (&frame, 1, b"bc", 2, "another key"),
            (&frame, 1, b"bb", 3, "pointer says 3"),
            (&frame[..frame.len() - 1], 1, b"bb", 2, "pointer says"),
            (&frame[..10], 0, b"a", 1, "truncated"),
        ];
        for (bytes, index, key, len, why) in cases {
            let error = record_value(bytes, index, key, len).unwrap_err();
            assert_eq!(error.code(), "CORRUPTION", "{why}: {error}");
            assert!(error.to_string().contains(why), "{why}: {error}");
        }
        let mut longer = frame.clone();
        longer.push(0);
        assert_eq!(
            record_value(&longer, 0, b"a", 1).unwrap_err().code(),
            "CORRUPTION"
        );
    }

    #[test]
    fn every_flipped_bit_of_a_record_read_is_corruption() {
        let value = crate::lz4::tests::random_bytes(300, 9);
        let frame = encode_items(&[b"key", b"k2"], &[&value[..200], &value[200..]], false);
        for index in 0..2 {
            let (key, len): (&[u8], usize) = if index == 0 {
                (b"key", 200)
            } else {
                (b"k2", 100)
            };
            for bit in 0..frame.len() * 8 {
                let mut flipped = frame.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                match record_value(&flipped, index, key, len) {
                    Err(e) => assert_eq!(e.code(), "CORRUPTION", "bit {bit}: {e}"),
                    // Flipping the compression flag hands the frame to `decode`, which checks it.
                    Ok(None) => assert_eq!(bit, 5 * 8),
                    Ok(Some(v)) => panic!("bit {bit} of record {index} read as {} bytes", v.len()),
                }
            }
        }
    }
}
