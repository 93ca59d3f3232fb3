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
    let total = check_spans(run, spans, &index_keys)?;
    // Pointer-sized values and short keys: about as many key bytes and value bytes as stored ones.
    let mut out = DecodedBlock {
        keys: PackedBuf::with_capacity(total / 32, total),
        values: PackedBuf::with_capacity(total / 32, total),
        tags: Vec::with_capacity(total / 32),
    };
    for b in 0..spans.len() / 2 {
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

/// Every check of `decode_data_blocks`, without its output: for a reader that walks the stored
/// blocks itself (a forward pass over a table that does not cache what it reads). The number of
/// entries of block `i` is written to `counts[i]`.
///
/// The checks are the decoder's, made on the stored bytes in place (`check_one`); only the two
/// keys being compared are kept.
pub fn check_data_blocks(
    run: &[u8],
    spans: &[u32],
    index_keys: Packed<'_>,
    has_previous: bool,
    counts: &mut [u32],
) -> Result<()> {
    check_spans(run, spans, &index_keys)?;
    let blocks = spans.len() / 2;
    if counts.len() < blocks {
        return Err(Error::invalid_argument(format!(
            "{blocks} blocks need {blocks} counts, got room for {}",
            counts.len()
        )));
    }
    let (mut previous, mut key) = (Vec::with_capacity(64), Vec::with_capacity(64));
    for b in 0..blocks {
        let (at, len) = (spans[2 * b] as usize, spans[2 * b + 1] as usize);
        let previous_index = (b > 0 || has_previous).then(|| index_keys.get(b));
        counts[b] = check_one(
            &run[at..at + len],
            index_keys.get(b + 1),
            previous_index,
            &mut previous,
            &mut key,
        )
        .map_err(|message| Error::corruption(format!("data block {b} of the run {message}")))?;
    }
    Ok(())
}

/// The spans in pairs, inside the run, with one index key more than blocks; their stored bytes.
fn check_spans(run: &[u8], spans: &[u32], index_keys: &Packed<'_>) -> Result<usize> {
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
    Ok(total)
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

/// The payload of a stored block: its checksum checked, decompressed when compressed.
fn unseal(stored: &[u8]) -> std::result::Result<Cow<'_, [u8]>, String> {
    let length = stored.len();
    if length < BLOCK_TRAILER_BYTES + 4 {
        return Err("is shorter than an empty block".into());
    }
    let crc_at = length - 4;
    if crc32c(&stored[..crc_at], 0) != u32_at(stored, crc_at) {
        return Err("checksum mismatch".into());
    }
    let body = &stored[..length - BLOCK_TRAILER_BYTES];
    match stored[length - BLOCK_TRAILER_BYTES] {
        COMPRESSION_NONE => Ok(Cow::Borrowed(body)),
        COMPRESSION_LZ4 => Ok(Cow::Owned(
            lz4::decompress(body).map_err(|e| e.to_string())?,
        )),
        other => Err(format!("has unknown compression {other}")),
    }
}

/// Where a payload's entries end and how many restart points it has, the restart array checked
/// (in bounds, restart 0 at offset 0, strictly ascending, each before the end of the entries).
fn restart_array(data: &[u8]) -> std::result::Result<(usize, usize), String> {
    let size = data.len();
    if size < 4 {
        return Err("payload is shorter than its restart count".into());
    }
    let restart_count = u32_at(data, size - 4) as usize;
    if restart_count == 0 {
        return Err("is empty".into());
    }
    if restart_count > (size - 4) / 4 {
        return Err("restart array runs past the payload".into());
    }
    let entries_end = size - 4 - 4 * restart_count;
    let mut previous_restart: Option<usize> = None;
    for r in 0..restart_count {
        let at = u32_at(data, entries_end + 4 * r) as usize;
        if (r == 0 && at != 0) || previous_restart.is_some_and(|p| at <= p) || at >= entries_end {
            return Err(format!("restart {r} is out of place"));
        }
        previous_restart = Some(at);
    }
    Ok((entries_end, restart_count))
}

/// One entry of a block, its fields checked against the block (not yet against its neighbours'
/// keys): its key is the previous key's first `shared` bytes followed by `unshared`.
struct Entry<'a> {
    shared: usize,
    unshared: &'a [u8],
    value: &'a [u8],
    tag: u8,
}

/// The walk over a payload's entries that decoding and checking share: restart points on entry
/// starts with no shared prefix, 32-bit varints, each entry inside the entries area, keys of at
/// least a trailer, known kinds, empty tombstone values.
struct EntryWalk<'a> {
    data: &'a [u8],
    entries_end: usize,
    restart_count: usize,
    next_restart: usize,
    next_restart_at: usize,
    pos: usize,
    /// Entries walked so far.
    count: usize,
}

impl<'a> EntryWalk<'a> {
    /// The walk over `data`'s entries, its restart array checked.
    fn new(data: &'a [u8]) -> std::result::Result<Self, String> {
        let (entries_end, restart_count) = restart_array(data)?;
        let mut walk = EntryWalk {
            data,
            entries_end,
            restart_count,
            next_restart: 1,
            next_restart_at: entries_end,
            pos: 0,
            count: 0,
        };
        if restart_count > 1 {
            walk.next_restart_at = walk.restart_at(1);
        }
        Ok(walk)
    }

    fn restart_at(&self, r: usize) -> usize {
        u32_at(self.data, self.entries_end + 4 * r) as usize
    }

    /// The next entry (`previous_length`: the previous key's length), or None past the last one
    /// once every restart point was met.
    fn next(&mut self, previous_length: usize) -> Option<std::result::Result<Entry<'a>, String>> {
        if self.pos >= self.entries_end {
            return (self.next_restart < self.restart_count)
                .then(|| Err(format!("restart {} is not at an entry", self.next_restart)));
        }
        Some(self.entry(previous_length))
    }

    fn entry(&mut self, previous_length: usize) -> std::result::Result<Entry<'a>, String> {
        let (pos, count) = (self.pos, self.count);
        if pos > self.next_restart_at {
            return Err(format!("restart {} is not at an entry", self.next_restart));
        }
        let at_restart = pos == 0 || pos == self.next_restart_at;
        if at_restart && pos != 0 {
            self.next_restart += 1;
            self.next_restart_at = if self.next_restart < self.restart_count {
                self.restart_at(self.next_restart)
            } else {
                self.entries_end
            };
        }
        let entries = &self.data[..self.entries_end];
        let mut pos = pos;
        let shared = varint32(entries, &mut pos)? as usize;
        let unshared = varint32(entries, &mut pos)? as usize;
        let value_length = varint32(entries, &mut pos)? as usize;
        let Some(&tag) = entries.get(pos) else {
            return Err(format!("entry {count} runs past the entries"));
        };
        pos += 1;
        if if at_restart {
            shared != 0
        } else {
            shared > previous_length
        } {
            return Err(format!("entry {count} shares more than the previous key"));
        }
        if shared + unshared < TRAILER_BYTES {
            return Err(format!("entry {count} key is shorter than its trailer"));
        }
        if pos + unshared + value_length > self.entries_end {
            return Err(format!("entry {count} runs past the entries"));
        }
        if tag > MAX_KIND {
            return Err(format!("entry {count} has unknown kind {tag}"));
        }
        if tag == KIND_DELETE && value_length != 0 {
            return Err(format!("entry {count} is a tombstone with a value"));
        }
        self.pos = pos + unshared + value_length;
        self.count += 1;
        Ok(Entry {
            shared,
            unshared: &entries[pos..pos + unshared],
            value: &entries[pos + unshared..self.pos],
            tag,
        })
    }
}

/// The order checks between keys: each key after the one before it in the block, the block's
/// first key after the previous block's index key.
fn check_order(
    previous: &[u8],
    key: &[u8],
    first: bool,
    previous_index_key: Option<&[u8]>,
) -> std::result::Result<(), String> {
    if !first && compare_internal(previous, key) != Ordering::Less {
        return Err("keys are out of order".into());
    }
    if first {
        if let Some(previous) = previous_index_key {
            if previous.len() < TRAILER_BYTES
                || compare_internal(key, previous) != Ordering::Greater
            {
                return Err("starts at or before the end of the previous block".into());
            }
        }
    }
    Ok(())
}

fn decode_one(
    stored: &[u8],
    index_key: &[u8],
    previous_index_key: Option<&[u8]>,
    out: &mut DecodedBlock,
) -> std::result::Result<(), String> {
    let data = unseal(stored)?;
    let mut walk = EntryWalk::new(&data)?;
    let mut key_start = out.keys.data.len();
    let mut first = true;
    while let Some(entry) = walk.next(out.keys.data.len() - key_start) {
        let entry = entry?;
        // The new key is the previous one's first `shared` bytes and the entry's own.
        let previous_start = key_start;
        key_start = out.keys.data.len();
        if (key_start + entry.shared + entry.unshared.len()) as u64 > u64::from(u32::MAX) {
            return Err("keys expand past 4 GiB when decoded".into());
        }
        out.keys
            .data
            .extend_from_within(previous_start..previous_start + entry.shared);
        out.keys.data.extend_from_slice(entry.unshared);
        let (previous, key) = out.keys.data[previous_start..].split_at(key_start - previous_start);
        check_order(previous, key, first, previous_index_key)?;
        first = false;
        if out.values.data.len() + entry.value.len() > u32::MAX as usize {
            return Err("values expand past 4 GiB when decoded".into());
        }
        out.keys.offsets.push(out.keys.data.len() as u32);
        out.values.push(entry.value);
        out.tags.push(entry.tag);
    }
    if out.keys.data[key_start..] != *index_key {
        return Err("does not end with its index key".into());
    }
    Ok(())
}

/// `decode_one`'s checks, keeping nothing but the last two keys (in `previous` and `key`, which
/// it reuses): returns the block's entry count. Compaction's decoder copies every key and value
/// out; a reader that walks the stored block itself needs only the verdict, at a fraction of the
/// cost.
fn check_one(
    stored: &[u8],
    index_key: &[u8],
    previous_index_key: Option<&[u8]>,
    previous: &mut Vec<u8>,
    key: &mut Vec<u8>,
) -> std::result::Result<u32, String> {
    let data = unseal(stored)?;
    let mut walk = EntryWalk::new(&data)?;
    key.clear();
    let mut first = true;
    while let Some(entry) = walk.next(key.len()) {
        let entry = entry?;
        // The new key is the previous one's first `shared` bytes and the entry's own.
        std::mem::swap(previous, key);
        key.clear();
        key.extend_from_slice(&previous[..entry.shared]);
        key.extend_from_slice(entry.unshared);
        check_order(previous, key, first, previous_index_key)?;
        first = false;
    }
    if key[..] != *index_key {
        return Err("does not end with its index key".into());
    }
    Ok(walk.count as u32)
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

    fn check(run: &[u8], spans: &[u32], index: &PackedBuf, has_previous: bool) -> Result<Vec<u32>> {
        let mut counts = vec![u32::MAX; spans.len() / 2];
        check_data_blocks(
            run,
            spans,
            Packed::new(&index.data, &index.offsets).unwrap(),
            has_previous,
            &mut counts,
        )?;
        Ok(counts)
    }

    #[test]
    fn checking_counts_each_blocks_entries() {
        for compress in [false, true] {
            let (run, spans, index, _) = two_blocks(compress);
            assert_eq!(check(&run, &spans, &index, false).unwrap(), vec![9, 11]);
        }
    }

    #[test]
    fn checking_refuses_exactly_what_decoding_refuses() {
        for compress in [false, true] {
            let (run, spans, index, keys) = two_blocks(compress);
            for at in 0..run.len() {
                let mut bad = run.clone();
                bad[at] ^= 0x10;
                let checked = check(&bad, &spans, &index, false).map(|_| ()).unwrap_err();
                let decoded = decode(&bad, &spans, &index, false).map(|_| ()).unwrap_err();
                assert_eq!(checked.code(), "CORRUPTION", "byte {at}");
                assert_eq!(checked.to_string(), decoded.to_string(), "byte {at}");
            }
            let bad_previous = packed(&[keys[0].clone(), keys[8].clone(), keys[19].clone()]);
            assert_eq!(
                check(&run, &spans, &bad_previous, true).unwrap_err().code(),
                "CORRUPTION"
            );
            let wrong_last = packed(&[vec![], keys[7].clone(), keys[19].clone()]);
            assert_eq!(
                check(&run, &spans, &wrong_last, false).unwrap_err().code(),
                "CORRUPTION"
            );
        }
    }

    #[test]
    fn checking_needs_room_for_the_counts() {
        let (run, spans, index, _) = two_blocks(false);
        let mut counts = [0u32; 1];
        let error = check_data_blocks(
            &run,
            &spans,
            Packed::new(&index.data, &index.offsets).unwrap(),
            false,
            &mut counts,
        )
        .unwrap_err();
        assert_eq!(error.code(), "INVALID_ARGUMENT");
        assert_eq!(
            check(&run, &[0], &index, false).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
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
            let checked = check(&b, &[0, b.len() as u32], &index, false).unwrap_err();
            assert_eq!(checked.to_string(), error.to_string());
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
