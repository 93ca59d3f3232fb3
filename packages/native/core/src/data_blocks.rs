//! Range reads of a table's data blocks (FORMAT.md §3, §5.2): a run of consecutive stored blocks,
//! read from the file in one piece, checked and decoded in one call. Compaction loads each
//! partition this way; one call per run instead of one per block, and the per-entry walk off the
//! JavaScript thread's interpreter.
//!
//! Every check a table reader owes a data block is made here, exactly as the TypeScript twin
//! (`@siltdb/bindings` `ts/data-blocks.ts`) makes it: CRC32C and compression byte; restart count
//! and array in bounds, restart 0 at offset 0, restarts strictly ascending and each on an entry
//! start with no shared prefix; 32-bit varints; each entry inside the entries area; keys of at
//! least a trailer, strictly ascending in internal-key order (user key, then trailer bytes) within
//! the block and after the previous block's index key; known kinds; empty tombstone values; the
//! block's last key equal to its index key. Anything else is `CORRUPTION`.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::block::DecodedBlock;
use crate::crc32c::crc32c;
use crate::error::{Error, Result};
use crate::lz4;
use crate::packed::{Packed, PackedBuf};

/// Bytes of an internal key's trailer (inverted sequence number and kind bits).
pub const TRAILER_BYTES: usize = 8;
/// Compression byte and CRC32C after a stored block's payload.
const BLOCK_TRAILER_BYTES: usize = 5;
const COMPRESSION_NONE: u8 = 0;
const COMPRESSION_LZ4: u8 = 1;
const KIND_DELETE: u8 = 0;
/// The highest kind the engine defines (a value-log pointer).
const MAX_KIND: u8 = 2;

#[inline]
fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

/// Internal-key order: user keys (all but the trailer) bytewise, then the trailers bytewise.
#[inline]
fn compare_internal(a: &[u8], b: &[u8]) -> Ordering {
    let (au, at) = a.split_at(a.len() - TRAILER_BYTES);
    let (bu, bt) = b.split_at(b.len().saturating_sub(TRAILER_BYTES));
    au.cmp(bu).then_with(|| at.cmp(bt))
}

/// Check and decode the stored blocks `run[spans[2i] .. spans[2i] + spans[2i + 1]]` in order.
/// `index_keys` holds one more key than there are blocks: first the index key of the block before
/// the run (ignored when `has_previous` is false: the run starts at the table's first block), then
/// each block's own index key. Errors name the block by its position in the run.
pub fn decode_data_blocks(
    run: &[u8],
    spans: &[u32],
    index_keys: Packed<'_>,
    has_previous: bool,
) -> Result<DecodedBlock> {
    if !spans.len().is_multiple_of(2) {
        return Err(Error::invalid_argument(
            "block spans must come in (offset, length) pairs",
        ));
    }
    let blocks = spans.len() / 2;
    if index_keys.len() != blocks + 1 {
        return Err(Error::invalid_argument(format!(
            "{blocks} blocks need {} index keys (the previous block's first), got {}",
            blocks + 1,
            index_keys.len()
        )));
    }
    let mut total = 0usize;
    for b in 0..blocks {
        let (at, len) = (spans[2 * b] as usize, spans[2 * b + 1] as usize);
        if at.checked_add(len).is_none_or(|end| end > run.len()) {
            return Err(Error::invalid_argument(format!(
                "block span {b} ({at} + {len}) runs past the {}-byte run",
                run.len()
            )));
        }
        total += len;
    }
    // Pointer-sized values and short keys: about as many key bytes and value bytes as stored ones.
    let mut out = DecodedBlock {
        keys: PackedBuf::with_capacity(total / 32, total),
        values: PackedBuf::with_capacity(total / 32, total),
        tags: Vec::with_capacity(total / 32),
    };
    for b in 0..blocks {
        let (at, len) = (spans[2 * b] as usize, spans[2 * b + 1] as usize);
        let previous = (b > 0 || has_previous).then(|| index_keys.get(b));
        decode_one(
            &run[at..at + len],
            index_keys.get(b + 1),
            previous,
            &mut out,
        )
        .map_err(|message| Error::corruption(format!("data block {b} of the run {message}")))?;
    }
    Ok(out)
}

/// One 32-bit LEB128 varint of `entries` at `*pos`.
#[inline]
fn varint32(entries: &[u8], pos: &mut usize) -> std::result::Result<u32, &'static str> {
    let mut result = 0u32;
    let mut shift = 0;
    loop {
        let Some(&byte) = entries.get(*pos) else {
            return Err("has an entry running past the entries");
        };
        *pos += 1;
        if shift == 28 && byte > 0x0f {
            return Err("has a varint over 32 bits");
        }
        result |= u32::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(result);
        }
        shift += 7;
    }
}

fn decode_one(
    stored: &[u8],
    index_key: &[u8],
    previous_index_key: Option<&[u8]>,
    out: &mut DecodedBlock,
) -> std::result::Result<(), String> {
    let length = stored.len();
    if length < BLOCK_TRAILER_BYTES + 4 {
        return Err("is shorter than an empty block".into());
    }
    let crc_at = length - 4;
    if crc32c(&stored[..crc_at], 0) != u32_at(stored, crc_at) {
        return Err("checksum mismatch".into());
    }
    let body = &stored[..length - BLOCK_TRAILER_BYTES];
    let data: Cow<'_, [u8]> = match stored[length - BLOCK_TRAILER_BYTES] {
        COMPRESSION_NONE => Cow::Borrowed(body),
        COMPRESSION_LZ4 => Cow::Owned(lz4::decompress(body).map_err(|e| e.to_string())?),
        other => return Err(format!("has unknown compression {other}")),
    };
    let size = data.len();
    if size < 4 {
        return Err("payload is shorter than its restart count".into());
    }
    let restart_count = u32_at(&data, size - 4) as usize;
    if restart_count == 0 {
        return Err("is empty".into());
    }
    if restart_count > (size - 4) / 4 {
        return Err("restart array runs past the payload".into());
    }
    let entries_end = size - 4 - 4 * restart_count;
    let restart_at = |r: usize| u32_at(&data, entries_end + 4 * r) as usize;
    let mut previous_restart: Option<usize> = None;
    for r in 0..restart_count {
        let at = restart_at(r);
        if (r == 0 && at != 0) || previous_restart.is_some_and(|p| at <= p) || at >= entries_end {
            return Err(format!("restart {r} is out of place"));
        }
        previous_restart = Some(at);
    }
    let entries = &data[..entries_end];
    let mut key_start = out.keys.data.len();
    let mut count = 0usize;
    let mut next_restart = 1usize;
    let mut next_restart_at = if restart_count > 1 {
        restart_at(1)
    } else {
        entries_end
    };
    let mut pos = 0usize;
    while pos < entries_end {
        if pos > next_restart_at {
            return Err(format!("restart {next_restart} is not at an entry"));
        }
        let at_restart = pos == 0 || pos == next_restart_at;
        if at_restart && pos != 0 {
            next_restart += 1;
            next_restart_at = if next_restart < restart_count {
                restart_at(next_restart)
            } else {
                entries_end
            };
        }
        let shared = varint32(entries, &mut pos)? as usize;
        let unshared = varint32(entries, &mut pos)? as usize;
        let value_length = varint32(entries, &mut pos)? as usize;
        let Some(&tag) = entries.get(pos) else {
            return Err(format!("entry {count} runs past the entries"));
        };
        pos += 1;
        let previous_length = if count == 0 {
            0
        } else {
            out.keys.data.len() - key_start
        };
        if if at_restart {
            shared != 0
        } else {
            shared > previous_length
        } {
            return Err(format!("entry {count} shares more than the previous key"));
        }
        let key_length = shared + unshared;
        if key_length < TRAILER_BYTES {
            return Err(format!("entry {count} key is shorter than its trailer"));
        }
        if pos + unshared + value_length > entries_end {
            return Err(format!("entry {count} runs past the entries"));
        }
        if tag > MAX_KIND {
            return Err(format!("entry {count} has unknown kind {tag}"));
        }
        if tag == KIND_DELETE && value_length != 0 {
            return Err(format!("entry {count} is a tombstone with a value"));
        }
        // The new key is the previous one's first `shared` bytes and the entry's own.
        let previous_start = key_start;
        key_start = out.keys.data.len();
        if (key_start + key_length) as u64 > u64::from(u32::MAX) {
            return Err("keys expand past 4 GiB when decoded".into());
        }
        out.keys
            .data
            .extend_from_within(previous_start..previous_start + shared);
        out.keys
            .data
            .extend_from_slice(&entries[pos..pos + unshared]);
        pos += unshared;
        let key = &out.keys.data[key_start..];
        if count > 0
            && compare_internal(&out.keys.data[previous_start..key_start], key) != Ordering::Less
        {
            return Err("keys are out of order".into());
        }
        if count == 0 {
            if let Some(previous) = previous_index_key {
                if previous.len() < TRAILER_BYTES
                    || compare_internal(key, previous) != Ordering::Greater
                {
                    return Err("starts at or before the end of the previous block".into());
                }
            }
        }
        if out.values.data.len() + value_length > u32::MAX as usize {
            return Err("values expand past 4 GiB when decoded".into());
        }
        out.keys.offsets.push(out.keys.data.len() as u32);
        out.values.push(&entries[pos..pos + value_length]);
        out.tags.push(tag);
        pos += value_length;
        count += 1;
    }
    if next_restart < restart_count {
        return Err(format!("restart {next_restart} is not at an entry"));
    }
    if out.keys.data[key_start..] != *index_key {
        return Err("does not end with its index key".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::encode;

    /// An internal key: `user` then a trailer holding `seq` (inverted, big-endian) — newer first.
    fn ikey(user: &str, seq: u64) -> Vec<u8> {
        let mut k = user.as_bytes().to_vec();
        k.extend_from_slice(&((1u64 << 53) - 1 - seq).to_be_bytes());
        k
    }

    fn packed(items: &[Vec<u8>]) -> PackedBuf {
        let mut p = PackedBuf::with_capacity(items.len(), 0);
        for item in items {
            p.push(item);
        }
        p
    }

    fn block(keys: &[Vec<u8>], tags: &[u8], compress: bool) -> Vec<u8> {
        let values: Vec<Vec<u8>> = tags
            .iter()
            .enumerate()
            .map(|(i, &t)| if t == 0 { vec![] } else { vec![i as u8; 40] })
            .collect();
        let k = packed(keys);
        let v = packed(&values);
        encode(
            Packed::new(&k.data, &k.offsets).unwrap(),
            Packed::new(&v.data, &v.offsets).unwrap(),
            tags,
            4,
            compress,
        )
        .unwrap()
    }

    /// Two blocks of a table, their run, spans and index keys (none before the first).
    fn two_blocks(compress: bool) -> (Vec<u8>, Vec<u32>, PackedBuf, Vec<Vec<u8>>) {
        let keys: Vec<Vec<u8>> = (0..20)
            .map(|i| ikey(&format!("key{:03}", i / 2), 100 - i as u64))
            .collect();
        let tags: Vec<u8> = (0..20).map(|i| (i % 3) as u8).collect();
        let a = block(&keys[..9], &tags[..9], compress);
        let b = block(&keys[9..], &tags[9..], compress);
        let mut run = a.clone();
        run.extend_from_slice(&b);
        let spans = vec![0, a.len() as u32, a.len() as u32, b.len() as u32];
        let index = packed(&[vec![], keys[8].clone(), keys[19].clone()]);
        (run, spans, index, keys)
    }

    fn decode(
        run: &[u8],
        spans: &[u32],
        index: &PackedBuf,
        has_previous: bool,
    ) -> Result<DecodedBlock> {
        decode_data_blocks(
            run,
            spans,
            Packed::new(&index.data, &index.offsets).unwrap(),
            has_previous,
        )
    }

    #[test]
    fn decodes_every_entry_of_the_run_in_order() {
        for compress in [false, true] {
            let (run, spans, index, keys) = two_blocks(compress);
            let out = decode(&run, &spans, &index, false).unwrap();
            assert_eq!(out.keys.len(), 20);
            for (i, key) in keys.iter().enumerate() {
                assert_eq!(
                    &out.keys.data[out.keys.offsets[i] as usize..out.keys.offsets[i + 1] as usize],
                    &key[..]
                );
            }
            assert_eq!(out.tags, (0..20).map(|i| (i % 3) as u8).collect::<Vec<_>>());
            assert_eq!(
                out.values.offsets[20] as usize,
                out.tags.iter().filter(|&&t| t != 0).count() * 40
            );
        }
    }

    #[test]
    fn every_flipped_bit_is_corruption() {
        let (run, spans, index, _) = two_blocks(false);
        for at in 0..run.len() {
            let mut bad = run.clone();
            bad[at] ^= 0x10;
            let error = decode(&bad, &spans, &index, false).unwrap_err();
            assert_eq!(error.code(), "CORRUPTION", "byte {at}");
        }
    }

    #[test]
    fn index_keys_bound_the_blocks() {
        let (run, spans, index, keys) = two_blocks(false);
        // A previous index key at or after the first key.
        let bad = packed(&[keys[0].clone(), keys[8].clone(), keys[19].clone()]);
        assert_eq!(
            decode(&run, &spans, &bad, true).unwrap_err().code(),
            "CORRUPTION"
        );
        let before = packed(&[ikey("a", 1), keys[8].clone(), keys[19].clone()]);
        assert!(decode(&run, &spans, &before, true).is_ok());
        // A last key that is not the index key.
        let wrong = packed(&[vec![], keys[7].clone(), keys[19].clone()]);
        assert_eq!(
            decode(&run, &spans, &wrong, false).unwrap_err().code(),
            "CORRUPTION"
        );
        // Blocks out of order: the second block's keys do not follow the first's index key.
        let swapped = vec![spans[2], spans[3], spans[0], spans[1]];
        let index2 = packed(&[vec![], keys[19].clone(), keys[8].clone()]);
        assert_eq!(
            decode(&run, &swapped, &index2, false).unwrap_err().code(),
            "CORRUPTION"
        );
        assert!(decode(&run, &spans, &index, false).is_ok());
    }

    #[test]
    fn engine_rules_behind_a_valid_checksum() {
        // Keys out of order, an unknown kind, a tombstone with a value, a key shorter than a trailer.
        let asc = vec![ikey("b", 2), ikey("a", 1)];
        // (keys, tags, values) of one block each.
        type Case = (Vec<Vec<u8>>, Vec<u8>, Vec<Vec<u8>>);
        let cases: Vec<Case> = vec![
            (asc.clone(), vec![1, 1], vec![vec![1], vec![2]]),
            (vec![ikey("a", 1)], vec![3], vec![vec![1]]),
            (vec![ikey("a", 1)], vec![0], vec![vec![1]]),
            (vec![b"short".to_vec()], vec![1], vec![vec![1]]),
            (
                vec![ikey("a", 1), ikey("a", 1)],
                vec![1, 1],
                vec![vec![1], vec![2]],
            ),
        ];
        for (keys, tags, values) in cases {
            let k = packed(&keys);
            let v = packed(&values);
            let b = encode(
                Packed::new(&k.data, &k.offsets).unwrap(),
                Packed::new(&v.data, &v.offsets).unwrap(),
                &tags,
                16,
                false,
            )
            .unwrap();
            let index = packed(&[vec![], keys.last().unwrap().clone()]);
            let error = decode(&b, &[0, b.len() as u32], &index, false).unwrap_err();
            assert_eq!(error.code(), "CORRUPTION");
        }
    }

    #[test]
    fn bad_arguments_are_invalid() {
        let (run, _, index, _) = two_blocks(false);
        assert_eq!(
            decode(&run, &[0], &index, false).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            decode(&run, &[0, run.len() as u32 + 1, 0, 1], &index, false)
                .unwrap_err()
                .code(),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            decode(&run, &[0, 1], &index, false).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
    }
}
