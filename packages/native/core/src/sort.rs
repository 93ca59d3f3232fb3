//! A stable sort of packed keys by unsigned bytes (a shorter key first when it is a prefix of the
//! other), returned as a permutation so the caller can reorder keys and values alike.
//!
//! Comparing slices through offsets is slow (two indirections and a memcmp per comparison). Instead
//! every key is reduced to one u128 — its next 8 bytes as a big-endian word, how many of those 8
//! bytes are real, and its index — and the u128s are sorted as plain integers. Keys still tied after
//! 8 bytes (shared prefixes) are refined on their next 8 bytes, MSD-radix style. The index in the
//! low bits breaks every remaining tie, which is what makes the unstable integer sort stable.
//! (A counting-sort pre-pass into 65536 buckets was measured slower than this: its scattered writes
//! cost more than the comparisons they save.)

use crate::packed::Packed;

/// The low 32 bits of a record: the key's index in the batch.
const INDEX_MASK: u128 = 0xffff_ffff;
/// The "real bytes in this word" field: 0..=8, where 8 also means "the key continues".
const LEN_SHIFT: u32 = 32;
const WORD_SHIFT: u32 = 64;

/// Pack the sort record of `key` at byte `depth` (a multiple of 8).
#[inline(always)]
fn record(key: &[u8], depth: usize, index: u32) -> u128 {
    let rest = key.get(depth..).unwrap_or(&[]);
    let take = rest.len().min(8);
    let mut word = [0u8; 8];
    word[..take].copy_from_slice(&rest[..take]);
    (u128::from(u64::from_be_bytes(word)) << WORD_SHIFT)
        | ((take as u128) << LEN_SHIFT)
        | u128::from(index)
}

/// The stable sorting permutation of `keys`: `keys[result[0]] <= keys[result[1]] <= …`, equal keys
/// in their original order.
pub fn sort_keys(keys: Packed<'_>) -> Vec<u32> {
    let n = keys.len();
    let mut records: Vec<u128> = (0..n).map(|i| record(keys.get(i), 0, i as u32)).collect();
    // Ranges whose keys agree on every byte before `depth` and all continue past it. An explicit
    // stack rather than recursion: a long shared prefix must not grow the call stack.
    let mut pending = vec![(0usize, n, 0usize)];
    while let Some((start, end, depth)) = pending.pop() {
        let group = &mut records[start..end];
        if depth > 0 {
            for r in group.iter_mut() {
                *r = record(keys.get((*r & INDEX_MASK) as usize), depth, *r as u32);
            }
        }
        group.sort_unstable();
        let mut i = 0;
        while i < group.len() {
            let tie = group[i] >> LEN_SHIFT;
            let mut j = i + 1;
            while j < group.len() && group[j] >> LEN_SHIFT == tie {
                j += 1;
            }
            // A tie on 8 real bytes means both keys go on: compare their next word. A tie on fewer
            // real bytes means the keys are equal and already in index order.
            if j - i > 1 && tie & 0xf == 8 {
                pending.push((start + i, start + j, depth + 8));
            }
            i = j;
        }
    }
    records.into_iter().map(|r| r as u32).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::PackedBuf;

    fn sorted(items: &[&[u8]]) -> Vec<u32> {
        let packed: PackedBuf = items.iter().copied().collect();
        sort_keys(packed.as_packed())
    }

    /// The obvious stable sort, for comparison.
    fn reference(items: &[&[u8]]) -> Vec<u32> {
        let mut order: Vec<u32> = (0..items.len() as u32).collect();
        order.sort_by(|&a, &b| items[a as usize].cmp(items[b as usize]));
        order
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(sorted(&[]), Vec::<u32>::new());
        assert_eq!(sorted(&[b"x"]), [0]);
        assert_eq!(sorted(&[b""]), [0]);
    }

    #[test]
    fn self_test_vector() {
        // The self-test in packages/bindings: "b", "", "\u{1F600}", "\u{FF61}", "b".
        let items: [&[u8]; 5] = [
            b"b",
            b"",
            "\u{1F600}".as_bytes(),
            "\u{FF61}".as_bytes(),
            b"b",
        ];
        assert_eq!(sorted(&items), [1, 0, 4, 3, 2]);
    }

    #[test]
    fn utf8_sorts_by_bytes_not_utf16_units() {
        // U+1F600 is F0 9F 98 80 in UTF-8 and sorts after U+FF61 (EF BD A1), although its UTF-16
        // surrogate D83D sorts before FF61 in JavaScript string order.
        let items: [&[u8]; 2] = ["\u{1F600}".as_bytes(), "\u{FF61}".as_bytes()];
        assert_eq!(sorted(&items), [1, 0]);
    }

    #[test]
    fn duplicates_stay_in_input_order() {
        let items: [&[u8]; 8] = [b"b", b"a", b"b", b"", b"a", b"", b"b", b"a"];
        assert_eq!(sorted(&items), [3, 5, 1, 4, 7, 0, 2, 6]);
    }

    #[test]
    fn prefixes_and_zero_bytes() {
        let items: [&[u8]; 9] = [
            b"a\0",
            b"a",
            b"a\0\0\0\0\0\0\0",
            b"a\0\0\0\0\0\0",
            b"a\0\0\0\0\0\0\0\0",
            b"",
            b"\0",
            b"\xff",
            b"a\0\0\0\0\0\0\0",
        ];
        assert_eq!(sorted(&items), reference(&items));
        assert_eq!(sorted(&items), [5, 6, 1, 0, 3, 2, 8, 4, 7]);
    }

    #[test]
    fn long_shared_prefixes() {
        let keys: Vec<Vec<u8>> = (0..2000u32)
            .map(|i| {
                let mut k = vec![b'p'; 37];
                k.extend_from_slice(format!("{}", (i * 7919) % 1000).as_bytes());
                k
            })
            .collect();
        let items: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        assert_eq!(sorted(&items), reference(&items));
    }

    #[test]
    fn large_inputs() {
        let bytes = crate::lz4::tests::random_bytes(60_000 * 12, 5);
        // Random 12-byte keys, the same keys behind a 5-byte shared prefix (so the first word ties
        // on 5 bytes), and 3-byte keys over few values (many exact duplicates).
        let random: Vec<&[u8]> = bytes.chunks(12).collect();
        let prefixed: Vec<Vec<u8>> = random.iter().map(|k| [b"tbl:/", &k[..]].concat()).collect();
        let few: Vec<Vec<u8>> = random
            .iter()
            .map(|k| vec![k[0] % 3, k[1] % 2, b'x'])
            .collect();
        let prefixed_refs: Vec<&[u8]> = prefixed.iter().map(|k| &k[..]).collect();
        let few_refs: Vec<&[u8]> = few.iter().map(|k| &k[..]).collect();
        assert_eq!(sorted(&random), reference(&random));
        assert_eq!(sorted(&prefixed_refs), reference(&prefixed_refs));
        assert_eq!(sorted(&few_refs), reference(&few_refs));
    }

    #[test]
    fn random_keys_match_the_reference() {
        let bytes = crate::lz4::tests::random_bytes(200_000, 11);
        let mut items: Vec<&[u8]> = Vec::new();
        let mut at = 0;
        let mut i = 0;
        while at + 40 < bytes.len() {
            // Lengths 0..=19 over a 4-letter alphabet: many prefixes and exact duplicates.
            let len = (bytes[at] % 20) as usize;
            items.push(&bytes[at + 1..at + 1 + len]);
            at += 1 + len;
            i += 1;
        }
        assert!(i > 10_000);
        let small: Vec<Vec<u8>> = items
            .iter()
            .map(|k| k.iter().map(|b| b % 4).collect())
            .collect();
        let small_refs: Vec<&[u8]> = small.iter().map(|k| &k[..]).collect();
        assert_eq!(sorted(&items), reference(&items));
        assert_eq!(sorted(&small_refs), reference(&small_refs));
    }
}
