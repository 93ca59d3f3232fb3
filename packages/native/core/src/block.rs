//! Table blocks (FORMAT.md §3): LevelDB-style prefix-compressed entries with restart points, one
//! engine-defined tag byte per entry, an optional LZ4 payload and a CRC32C trailer.

use std::borrow::Cow;

use crate::crc32c::crc32c;
use crate::error::{Error, Result};
use crate::lz4;
use crate::packed::{Packed, PackedBuf};
use crate::varint;

pub const DEFAULT_RESTART_INTERVAL: usize = 16;
pub const MAX_RESTART_INTERVAL: usize = 65_535;
const COMPRESSION_NONE: u8 = 0;
const COMPRESSION_LZ4: u8 = 1;
/// Payloads shorter than this are never worth a compression attempt.
const MIN_COMPRESS_LEN: usize = 64;
/// The compression byte and the CRC32C.
const TRAILER_LEN: usize = 5;

/// The entries of a block: one key, value and tag per entry.
#[derive(Debug, PartialEq, Eq)]
pub struct DecodedBlock {
    pub keys: PackedBuf,
    pub values: PackedBuf,
    pub tags: Vec<u8>,
}

/// The length of the common prefix of `a` and `b`, compared a word at a time because sorted keys
/// in one block often share long prefixes.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let max = a.len().min(b.len());
    let mut n = 0;
    while n + 8 <= max {
        let x = u64::from_le_bytes(a[n..n + 8].try_into().unwrap());
        let y = u64::from_le_bytes(b[n..n + 8].try_into().unwrap());
        if x != y {
            return n + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < max && a[n] == b[n] {
        n += 1;
    }
    n
}

fn length_u32(len: usize, what: &str) -> Result<u32> {
    u32::try_from(len)
        .map_err(|_| Error::invalid_argument(format!("block {what} longer than 2^32 - 1 bytes")))
}

/// Encode one block. `restart_interval` is the number of entries per restart group (1..=65535).
pub fn encode(
    keys: Packed<'_>,
    values: Packed<'_>,
    tags: &[u8],
    restart_interval: usize,
    compress: bool,
) -> Result<Vec<u8>> {
    let count = keys.len();
    if values.len() != count || tags.len() != count {
        return Err(Error::invalid_argument(format!(
            "a block needs one value and one tag per key ({count} keys, {} values, {} tags)",
            values.len(),
            tags.len()
        )));
    }
    if !(1..=MAX_RESTART_INTERVAL).contains(&restart_interval) {
        return Err(Error::invalid_argument(format!(
            "restartInterval must be 1 to {MAX_RESTART_INTERVAL}, not {restart_interval}"
        )));
    }
    let restart_count = count.div_ceil(restart_interval);
    let mut payload = Vec::with_capacity(
        keys.total_bytes() + values.total_bytes() + 4 * count + 4 * restart_count + 4,
    );
    let mut restarts = Vec::with_capacity(restart_count);
    let mut previous: &[u8] = &[];
    for (i, &tag) in tags.iter().enumerate() {
        let key = keys.get(i);
        let value = values.get(i);
        let shared = if i % restart_interval == 0 {
            restarts.push(length_u32(payload.len(), "payload")?);
            0
        } else {
            common_prefix(previous, key)
        };
        varint::encode(shared as u32, &mut payload);
        varint::encode(length_u32(key.len() - shared, "key")?, &mut payload);
        varint::encode(length_u32(value.len(), "value")?, &mut payload);
        payload.push(tag);
        payload.extend_from_slice(&key[shared..]);
        payload.extend_from_slice(value);
        previous = key;
    }
    length_u32(payload.len(), "payload")?;
    for offset in &restarts {
        payload.extend_from_slice(&offset.to_le_bytes());
    }
    payload.extend_from_slice(&(restarts.len() as u32).to_le_bytes());

    let mut compression = COMPRESSION_NONE;
    let mut block = payload;
    if compress && block.len() >= MIN_COMPRESS_LEN {
        // The size-prefixed form is what the block stores, so its length (prefix included) is the
        // `C` that has to save an eighth.
        let packed = lz4::compress(&block)?;
        if 8 * packed.len() as u64 <= 7 * block.len() as u64 {
            block = packed;
            compression = COMPRESSION_LZ4;
        }
    }
    block.reserve_exact(TRAILER_LEN);
    block.push(compression);
    let crc = crc32c(&block, 0);
    block.extend_from_slice(&crc.to_le_bytes());
    Ok(block)
}

#[inline]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Verify and decode a whole block.
pub fn decode(data: &[u8]) -> Result<DecodedBlock> {
    if data.len() < TRAILER_LEN {
        return Err(Error::corruption(format!(
            "truncated block: {} bytes, the trailer alone needs {TRAILER_LEN}",
            data.len()
        )));
    }
    let crc_at = data.len() - 4;
    let expected_crc = u32_at(data, crc_at);
    let actual_crc = crc32c(&data[..crc_at], 0);
    if actual_crc != expected_crc {
        return Err(Error::corruption(format!(
            "block checksum mismatch (stored {expected_crc:#010x}, computed {actual_crc:#010x})"
        )));
    }
    let stored = &data[..crc_at - 1];
    let payload: Cow<'_, [u8]> = match data[crc_at - 1] {
        COMPRESSION_NONE => Cow::Borrowed(stored),
        COMPRESSION_LZ4 => Cow::Owned(lz4::decompress(stored)?),
        other => {
            return Err(Error::corruption(format!(
                "unknown block compression {other}"
            )))
        }
    };
    decode_payload(&payload)
}

fn decode_payload(payload: &[u8]) -> Result<DecodedBlock> {
    if payload.len() < 4 {
        return Err(Error::corruption(format!(
            "block payload of {} bytes has no restart count",
            payload.len()
        )));
    }
    let restart_count = u32_at(payload, payload.len() - 4) as usize;
    let restarts_len = 4 * restart_count as u64;
    if restarts_len + 4 > payload.len() as u64 {
        return Err(Error::corruption(format!(
            "{restart_count} block restart points do not fit a {}-byte payload",
            payload.len()
        )));
    }
    let entries_end = payload.len() - 4 - 4 * restart_count;
    let restart_at = |r: usize| u32_at(payload, entries_end + 4 * r) as usize;
    if restart_count == 0 && entries_end != 0 {
        return Err(Error::corruption("block entries without restart points"));
    }
    let entries = &payload[..entries_end];

    let mut keys = PackedBuf::with_capacity(0, 0);
    let mut values = PackedBuf::with_capacity(0, 0);
    let mut tags = Vec::new();
    let mut previous_start = 0usize;
    let mut next_restart = 0usize;
    let mut pos = 0usize;
    while pos < entries_end {
        // Restart offsets must name entry starts, in order: one that falls inside an entry (or
        // repeats) is left behind here.
        if next_restart < restart_count && restart_at(next_restart) < pos {
            return Err(Error::corruption(format!(
                "block restart offset {} is not the start of an entry",
                restart_at(next_restart)
            )));
        }
        let at_restart = next_restart < restart_count && restart_at(next_restart) == pos;
        if at_restart {
            next_restart += 1;
        } else if pos == 0 {
            return Err(Error::corruption("the first block restart offset is not 0"));
        }
        let entry_start = pos;
        let shared = varint::decode(entries, &mut pos)? as usize;
        let unshared = varint::decode(entries, &mut pos)? as usize;
        let value_len = varint::decode(entries, &mut pos)? as usize;
        let previous_len = keys.data.len() - previous_start;
        if at_restart && shared != 0 {
            return Err(Error::corruption(format!(
                "block entry at restart offset {entry_start} shares {shared} bytes"
            )));
        }
        if shared > previous_len {
            return Err(Error::corruption(format!(
                "block entry shares {shared} bytes of a {previous_len}-byte previous key"
            )));
        }
        let Some(&tag) = entries.get(pos) else {
            return Err(Error::corruption("block entry runs past the entries"));
        };
        pos += 1;
        let key_end = pos + unshared;
        let value_end = key_end
            .checked_add(value_len)
            .filter(|&end| end <= entries_end)
            .ok_or_else(|| Error::corruption("block entry runs past the entries"))?;
        // Shared prefixes let a small block describe far more key bytes than it holds; the output
        // offsets are u32, so refuse before growing past what they can address.
        let key_start = keys.data.len();
        if (key_start + shared + unshared) as u64 > u64::from(u32::MAX) {
            return Err(Error::corruption(
                "block keys expand past 4 GiB when decoded",
            ));
        }
        keys.data
            .extend_from_within(previous_start..previous_start + shared);
        keys.data.extend_from_slice(&entries[pos..key_end]);
        keys.offsets.push(keys.data.len() as u32);
        previous_start = key_start;
        values.push(&entries[key_end..value_end]);
        tags.push(tag);
        pos = value_end;
    }
    if next_restart != restart_count {
        return Err(Error::corruption(format!(
            "block restart offset {} is not the start of an entry",
            restart_at(next_restart)
        )));
    }
    Ok(DecodedBlock { keys, values, tags })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Entries {
        keys: PackedBuf,
        values: PackedBuf,
        tags: Vec<u8>,
    }

    fn entries(items: &[(&str, &str, u8)]) -> Entries {
        Entries {
            keys: items.iter().map(|e| e.0.as_bytes()).collect(),
            values: items.iter().map(|e| e.1.as_bytes()).collect(),
            tags: items.iter().map(|e| e.2).collect(),
        }
    }

    fn encode_entries(e: &Entries, restart_interval: usize, compress: bool) -> Vec<u8> {
        encode(
            e.keys.as_packed(),
            e.values.as_packed(),
            &e.tags,
            restart_interval,
            compress,
        )
        .unwrap()
    }

    fn round_trip(e: &Entries, restart_interval: usize, compress: bool) -> Vec<u8> {
        let block = encode_entries(e, restart_interval, compress);
        let decoded = decode(&block).unwrap();
        assert_eq!(decoded.keys, e.keys);
        assert_eq!(decoded.values, e.values);
        assert_eq!(decoded.tags, e.tags);
        block
    }

    fn seal(payload: &[u8], compression: u8) -> Vec<u8> {
        let mut block = payload.to_vec();
        block.push(compression);
        let crc = crc32c(&block, 0);
        block.extend_from_slice(&crc.to_le_bytes());
        block
    }

    fn corruption(block: &[u8]) -> String {
        match decode(block) {
            Err(e) => {
                assert_eq!(e.code(), "CORRUPTION", "{e}");
                e.to_string()
            }
            Ok(d) => panic!("decoded {d:?}"),
        }
    }

    #[test]
    fn empty_block_known_bytes() {
        let block = round_trip(&entries(&[]), 16, true);
        assert_eq!(block, seal(&[0, 0, 0, 0], 0));
        assert_eq!(block.len(), 9);
    }

    #[test]
    fn restart_interval_two_known_bytes() {
        let e = entries(&[
            ("apple", "1", 0),
            ("applesauce", "22", 1),
            ("apply", "", 2),
            ("banana", "4444", 0),
        ]);
        let block = round_trip(&e, 2, false);
        let mut payload = Vec::new();
        payload.extend_from_slice(&[0, 5, 1, 0]);
        payload.extend_from_slice(b"apple1");
        // Shares "apple" with its predecessor.
        payload.extend_from_slice(&[5, 5, 2, 1]);
        payload.extend_from_slice(b"sauce22");
        // Entry 2 starts the second restart group at byte 21, so it stores its whole key.
        payload.extend_from_slice(&[0, 5, 0, 2]);
        payload.extend_from_slice(b"apply");
        payload.extend_from_slice(&[0, 6, 4, 0]);
        payload.extend_from_slice(b"banana4444");
        for word in [0u32, 21, 2] {
            payload.extend_from_slice(&word.to_le_bytes());
        }
        assert_eq!(block, seal(&payload, 0));
    }

    #[test]
    fn restart_intervals_one_and_sixteen() {
        let keys: Vec<String> = (0..100).map(|i| format!("user:{:06}", i * 37)).collect();
        let values: Vec<String> = (0..100).map(|i| "v".repeat(i % 7)).collect();
        let items: Vec<(&str, &str, u8)> = keys
            .iter()
            .zip(&values)
            .enumerate()
            .map(|(i, (k, v))| (k.as_str(), v.as_str(), (i % 3) as u8))
            .collect();
        let e = entries(&items);
        let every = round_trip(&e, 1, false);
        let sixteen = round_trip(&e, 16, false);
        assert!(sixteen.len() < every.len());
        let restarts = |block: &[u8]| u32_at(block, block.len() - 9);
        assert_eq!(restarts(&every), 100);
        assert_eq!(restarts(&sixteen), 7);
        assert_eq!(encode_entries(&e, DEFAULT_RESTART_INTERVAL, false), sixteen);
        round_trip(&e, MAX_RESTART_INTERVAL, false);
    }

    #[test]
    fn compressed_blocks() {
        let keys: Vec<String> = (0..200).map(|i| format!("order/2024/{i:08}")).collect();
        let value = crate::lz4::tests::json_like(200 * 64);
        let items: Vec<(&str, &str, u8)> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let v = std::str::from_utf8(&value[i * 64..i * 64 + 60]).unwrap();
                (k.as_str(), v, 1)
            })
            .collect();
        let e = entries(&items);
        let plain = round_trip(&e, 16, false);
        let compressed = round_trip(&e, 16, true);
        assert_eq!(plain[plain.len() - 5], 0);
        assert_eq!(compressed[compressed.len() - 5], 1);
        assert!(8 * (compressed.len() - 5) <= 7 * (plain.len() - 5));
        // Small or incompressible payloads stay raw even when compression is asked for.
        let small = round_trip(&entries(&[("a", "b", 0)]), 16, true);
        assert_eq!(small[small.len() - 5], 0);
        let random = crate::lz4::tests::random_bytes(500, 5);
        let random_block = encode(
            ["k"]
                .iter()
                .map(|s| s.as_bytes())
                .collect::<PackedBuf>()
                .as_packed(),
            [&random[..]]
                .iter()
                .copied()
                .collect::<PackedBuf>()
                .as_packed(),
            &[0],
            16,
            true,
        )
        .unwrap();
        assert_eq!(random_block[random_block.len() - 5], 0);
    }

    #[test]
    fn keys_need_not_be_sorted_and_may_repeat_or_be_empty() {
        round_trip(
            &entries(&[
                ("", "", 9),
                ("b", "x", 1),
                ("a", "", 2),
                ("a", "y", 3),
                ("", "z", 4),
            ]),
            3,
            false,
        );
    }

    #[test]
    fn long_shared_prefixes() {
        let base = "p".repeat(1000);
        let keys: Vec<String> = (0..40).map(|i| format!("{base}{i:03}")).collect();
        let items: Vec<(&str, &str, u8)> = keys.iter().map(|k| (k.as_str(), "v", 0)).collect();
        let block = round_trip(&entries(&items), 16, false);
        assert!(block.len() < 3 * 1000 + 40 * 20, "{}", block.len());
        assert_eq!(common_prefix(b"abcdefghij", b"abcdefghiX"), 9);
        assert_eq!(common_prefix(b"abcdefgh", b"abcdefghij"), 8);
        assert_eq!(common_prefix(b"", b"a"), 0);
    }

    #[test]
    fn invalid_arguments() {
        let e = entries(&[("a", "1", 0), ("b", "2", 0)]);
        let code = |r: Result<Vec<u8>>| r.unwrap_err().code();
        let one_tag = [0u8];
        assert_eq!(
            code(encode(
                e.keys.as_packed(),
                e.values.as_packed(),
                &one_tag,
                16,
                false
            )),
            "INVALID_ARGUMENT"
        );
        let one_value: PackedBuf = [&b"1"[..]].iter().copied().collect();
        assert_eq!(
            code(encode(
                e.keys.as_packed(),
                one_value.as_packed(),
                &e.tags,
                16,
                false
            )),
            "INVALID_ARGUMENT"
        );
        for interval in [0, MAX_RESTART_INTERVAL + 1] {
            assert_eq!(
                code(encode(
                    e.keys.as_packed(),
                    e.values.as_packed(),
                    &e.tags,
                    interval,
                    false
                )),
                "INVALID_ARGUMENT"
            );
        }
    }

    #[test]
    fn truncation_and_flipped_bits_are_corruption() {
        let keys: Vec<String> = (0..30).map(|i| format!("key{i:04}")).collect();
        let items: Vec<(&str, &str, u8)> = keys
            .iter()
            .map(|k| (k.as_str(), "value-value", 0))
            .collect();
        for compress in [false, true] {
            let block = round_trip(&entries(&items), 4, compress);
            assert_eq!(block[block.len() - 5], u8::from(compress));
            for cut in 0..block.len() {
                corruption(&block[..cut]);
            }
            for bit in 0..block.len() * 8 {
                let mut flipped = block.clone();
                flipped[bit / 8] ^= 1 << (bit % 8);
                corruption(&flipped);
            }
        }
    }

    #[test]
    fn structural_errors_behind_a_valid_checksum_are_corruption() {
        let r = |offsets: &[u32]| -> Vec<u8> {
            let mut tail = Vec::new();
            for o in offsets {
                tail.extend_from_slice(&o.to_le_bytes());
            }
            tail.extend_from_slice(&(offsets.len() as u32).to_le_bytes());
            tail
        };
        let e1 = [0u8, 1, 1, 7, b'a', b'x'];
        let e2 = [1u8, 1, 0, 7, b'b'];
        let two = [&e1[..], &e2[..]].concat();
        let cases: Vec<(Vec<u8>, u8, &str)> = vec![
            (vec![], 0, "no restart count"),
            (vec![0, 0, 0], 0, "no restart count"),
            (vec![5, 0, 0, 0], 0, "do not fit"),
            ([&e1[..], &r(&[])[..]].concat(), 0, "without restart points"),
            (r(&[0]), 0, "not the start of an entry"),
            (
                [&two[..], &r(&[0, 3])[..]].concat(),
                0,
                "not the start of an entry",
            ),
            (
                [&two[..], &r(&[0, 0])[..]].concat(),
                0,
                "not the start of an entry",
            ),
            ([&two[..], &r(&[0, 6])[..]].concat(), 0, "shares"),
            ([&two[..], &r(&[6])[..]].concat(), 0, "is not 0"),
            (
                [&[3u8, 1, 1, 7, b'a', b'x'][..], &r(&[0])[..]].concat(),
                0,
                "shares",
            ),
            ([&two[..], &[9u8][..], &r(&[0])[..]].concat(), 0, "varint"),
            (
                [&two[..], &[0u8, 9, 0, 1][..], &r(&[0])[..]].concat(),
                0,
                "past the entries",
            ),
            (
                [&two[..], &[0u8, 0, 0][..], &r(&[0])[..]].concat(),
                0,
                "past the entries",
            ),
            (
                [&two[..], &r(&[0])[..]].concat(),
                2,
                "unknown block compression",
            ),
            ([&two[..], &r(&[0])[..]].concat(), 1, "LZ4"),
        ];
        for (payload, compression, why) in cases {
            let message = corruption(&seal(&payload, compression));
            assert!(message.contains(why), "{why}: {message}");
        }
        let valid = seal(&[&two[..], &r(&[0])[..]].concat(), 0);
        let decoded = decode(&valid).unwrap();
        assert_eq!(
            decoded.keys,
            ["a", "ab"].iter().map(|s| s.as_bytes()).collect()
        );
        assert_eq!(
            decoded.values,
            ["x", ""].iter().map(|s| s.as_bytes()).collect()
        );
        assert_eq!(decoded.tags, [7, 7]);
    }
}
