//! CRC32C (Castagnoli), hardware-accelerated by the `crc32c` crate (SSE4.2 on x86-64, the CRC
//! extension on AArch64, chosen at run time) with a software fallback elsewhere.

/// CRC32C of `data`. `seed` is a previous result to extend (0 starts fresh), so
/// `crc32c(b, crc32c(a, 0)) == crc32c(a ‖ b, 0)`: callers can checksum discontiguous ranges, such as
/// a frame header and its body, without concatenating them.
#[inline]
pub fn crc32c(data: &[u8], seed: u32) -> u32 {
    ::crc32c::crc32c_append(seed, data)
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
            for len in [0, 1, 3, 15, 16, 17, 63, 64, 65, 1000] {
                let slice = &data[start..start + len];
                assert_eq!(crc32c(slice, 0x1234_5678), reference(slice, 0x1234_5678));
            }
        }
    }
}
