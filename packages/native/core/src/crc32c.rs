//! CRC32C (Castagnoli), hardware-accelerated by the `crc32c` crate (SSE4.2 on x86-64, the CRC
//! extension on AArch64, chosen at run time) with a software fallback elsewhere. On x86-64 with
//! AVX-512F and VPCLMULQDQ, inputs of 256 bytes and more take the 512-bit carry-less folding loop
//! of `crc32c_copy` instead, without its copy: from cache ~3× the crate's speed on 4 KiB (a log
//! record, a table block), which spends a `crc32` instruction on every 8 bytes.

use crate::packed::Packed;

/// CRC32C of `data`. `seed` is a previous result to extend (0 starts fresh), so
/// `crc32c(b, crc32c(a, 0)) == crc32c(a ‖ b, 0)`: callers can checksum discontiguous ranges, such as
/// a frame header and its body, without concatenating them.
#[inline]
pub fn crc32c(data: &[u8], seed: u32) -> u32 {
    match crate::crc32c_copy::wide_crc32c(data, seed) {
        Some(crc) => crc,
        None => ::crc32c::crc32c_append(seed, data),
    }
}

/// The CRC32C of each item of a packed batch (each from a zero seed), in item order: one call for
/// a whole batch of records instead of one per record.
pub fn crc32c_many(items: Packed<'_>) -> Vec<u32> {
    items.iter().map(|item| crc32c(item, 0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The deterministic 1 MiB pattern whose checksum the TypeScript tests assert too.
    pub(crate) fn mib_pattern() -> Vec<u8> {
        (0..1usize << 20)
            .map(|i| (i.wrapping_mul(31).wrapping_add(7) & 0xff) as u8)
            .collect()
    }

    /// The same CRC computed bit by bit from the definition, so the known answers below are not
    /// only checked against the library that produced them.
    fn reference(data: &[u8], seed: u32) -> u32 {
        let mut crc = !seed;
        for &byte in data {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0x82F6_3B78
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn check_value() {
        assert_eq!(crc32c(b"123456789", 0), 0xE306_9283);
        assert_eq!(reference(b"123456789", 0), 0xE306_9283);
    }

    #[test]
    fn empty_input_is_zero_and_keeps_the_seed() {
        assert_eq!(crc32c(b"", 0), 0);
        assert_eq!(crc32c(b"", 0xE306_9283), 0xE306_9283);
    }

    #[test]
    fn one_mib_pattern() {
        let data = mib_pattern();
        assert_eq!(crc32c(&data, 0), 0xFF5B_E3FC);
        assert_eq!(reference(&data, 0), 0xFF5B_E3FC);
    }

    #[test]
    fn appending_equals_checksumming_the_concatenation() {
        let data = mib_pattern();
        for split in [0, 1, 7, 8, 9, 4095, 65536, data.len() - 1, data.len()] {
            let (a, b) = data.split_at(split);
            assert_eq!(
                crc32c(b, crc32c(a, 0)),
                crc32c(&data, 0),
                "split at {split}"
            );
        }
        assert_eq!(crc32c(b"56789", crc32c(b"1234", 0)), 0xE306_9283);
    }

    #[test]
    fn matches_the_bitwise_reference_on_odd_lengths_and_alignments() {
        let data = mib_pattern();
        for start in 0..9 {
            // Under and over 256 bytes: the two loops on a CPU with the 512-bit one.
            for len in [
                0, 1, 3, 15, 16, 17, 63, 64, 65, 255, 256, 257, 319, 1000, 4096, 4109,
            ] {
                let slice = &data[start..start + len];
                assert_eq!(crc32c(slice, 0x1234_5678), reference(slice, 0x1234_5678));
            }
        }
    }

    #[test]
    fn many_checksums_each_item_on_its_own() {
        let data = mib_pattern();
        let offsets = [0u32, 9, 9, 10, 26, 1000, 1 << 20];
        let items = Packed::new(&data, &offsets).unwrap();
        let crcs = crc32c_many(items);
        assert_eq!(crcs.len(), offsets.len() - 1);
        for (i, crc) in crcs.iter().enumerate() {
            let item = &data[offsets[i] as usize..offsets[i + 1] as usize];
            assert_eq!(*crc, reference(item, 0), "item {i}");
        }
        // The empty item between 9 and 9 checksums to zero; the last one is most of the pattern.
        assert_eq!(crcs[1], 0);
    }

    #[test]
    fn many_known_answers_and_offsets_not_starting_at_zero() {
        let data = b"xx123456789abc";
        let items = Packed::new(data, &[2, 11, 11, 14]).unwrap();
        assert_eq!(
            crc32c_many(items),
            vec![0xE306_9283, 0, reference(b"abc", 0)]
        );
    }

    #[test]
    fn many_of_no_items_is_empty() {
        assert!(crc32c_many(Packed::new(b"", &[0]).unwrap()).is_empty());
        assert!(crc32c_many(Packed::new(b"abc", &[3]).unwrap()).is_empty());
    }

    #[test]
    fn many_rejects_bad_offsets_through_packed() {
        assert!(Packed::new(b"abc", &[]).is_err());
        assert!(Packed::new(b"abc", &[0, 4]).is_err());
        assert!(Packed::new(b"abc", &[2, 1]).is_err());
    }
}
