//! Copy bytes and take their CRC32C in one pass.
//!
//! Why. A value-log point read copies a value out of the segment (a `memcpy` from pages that are
//! rarely in the CPU cache) and must checksum exactly the bytes it hands out, so the checksum runs
//! over the copy: two passes, the second ~1.2 µs for a 16 KiB value. Here each 8-byte word is loaded
//! once, stored, and fed to the CRC from the same register, so the checksum covers the stored bytes
//! (a mapping changed underneath cannot make the copy differ from what was checked) and its
//! arithmetic overlaps the memory traffic of the copy.
//!
//! How (x86-64 with SSE4.2). The `crc32` instruction has a latency of three cycles and a throughput of
//! one, so three independent lanes run side by side: each stride of `3 × n` bytes is split into three
//! lanes of `n` bytes, each lane's register starting at zero but the first's. The CRC register is
//! linear over GF(2): the register after lane `b` from state `s` is `Z_n(s) ⊕ crc(0, b)`, where `Z_n`
//! feeds `n` zero bytes. `Z_n` is tabulated once (four byte-indexed tables, from the images of the 32
//! unit vectors, computed with the instruction itself). Long strides first, then short ones, then
//! single words and bytes. Elsewhere: `copy_from_slice` then `crc32c`.

use crate::crc32c::crc32c;

/// Copy `src` into `dst` (the same length) and return `crc32c(dst, seed)` (seed 0 starts fresh,
/// a previous result extends it, as in `crc32c`).
///
/// # Panics
/// When the lengths differ.
pub fn copy_crc32c(src: &[u8], dst: &mut [u8], seed: u32) -> u32 {
    assert_eq!(src.len(), dst.len(), "copy_crc32c needs equal lengths");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        // SAFETY: the CPU has SSE4.2 (checked above); the lengths are equal (asserted above).
        #[allow(unsafe_code)]
        return unsafe { lanes::copy_crc32c(src, dst, seed) };
    }
    dst.copy_from_slice(src);
    crc32c(dst, seed)
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod lanes {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};
    use std::sync::OnceLock;

    /// Lane lengths in bytes (multiples of 8): long strides of 6 KiB, then short ones of 768 B.
    const LONG: usize = 2048;
    const SHORT: usize = 256;

    /// `Z_n`, feeding `n` zero bytes to the raw CRC register, as four byte-indexed tables.
    struct ZeroFeed([[u32; 256]; 4]);

    impl ZeroFeed {
        fn new(n: usize) -> Self {
            let mut images = [0u32; 32];
            for (bit, image) in images.iter_mut().enumerate() {
                // SAFETY: built only after the caller's SSE4.2 check.
                *image = unsafe { feed_zeros(1 << bit, n) };
            }
            let mut tables = [[0u32; 256]; 4];
            for (k, table) in tables.iter_mut().enumerate() {
                for (byte, entry) in table.iter_mut().enumerate() {
                    *entry = (0..8)
                        .filter(|i| byte >> i & 1 == 1)
                        .fold(0, |acc, i| acc ^ images[8 * k + i]);
                }
            }
            ZeroFeed(tables)
        }

        #[inline]
        fn apply(&self, state: u32) -> u32 {
            let t = &self.0;
            t[0][(state & 0xff) as usize]
                ^ t[1][(state >> 8 & 0xff) as usize]
                ^ t[2][(state >> 16 & 0xff) as usize]
                ^ t[3][(state >> 24) as usize]
        }
    }

    #[target_feature(enable = "sse4.2")]
    unsafe fn feed_zeros(state: u32, n: usize) -> u32 {
        let mut register = u64::from(state);
        for _ in 0..n / 8 {
            register = _mm_crc32_u64(register, 0);
        }
        register as u32
    }

    fn feeds() -> &'static (ZeroFeed, ZeroFeed) {
        static FEEDS: OnceLock<(ZeroFeed, ZeroFeed)> = OnceLock::new();
        FEEDS.get_or_init(|| (ZeroFeed::new(LONG), ZeroFeed::new(SHORT)))
    }

    /// # Safety
    /// SSE4.2 is available and `src.len() == dst.len()`.
    #[target_feature(enable = "sse4.2")]
    pub unsafe fn copy_crc32c(src: &[u8], dst: &mut [u8], seed: u32) -> u32 {
        let (long, short) = feeds();
        let length = src.len();
        let from = src.as_ptr();
        let to = dst.as_mut_ptr();
        let mut register = !seed;
        let mut at = 0;
        // SAFETY (all blocks below): every access is at `at + k < length` for both slices.
        at = unsafe { strides(from, to, at, length, LONG, long, &mut register) };
        at = unsafe { strides(from, to, at, length, SHORT, short, &mut register) };
        let mut wide = u64::from(register);
        while at + 8 <= length {
            let word = unsafe { from.add(at).cast::<u64>().read_unaligned() };
            unsafe { to.add(at).cast::<u64>().write_unaligned(word) };
            wide = _mm_crc32_u64(wide, u64::from_le(word));
            at += 8;
        }
        let mut register = wide as u32;
        while at < length {
            let byte = unsafe { *from.add(at) };
            unsafe { *to.add(at) = byte };
            register = _mm_crc32_u8(register, byte);
            at += 1;
        }
        !register
    }

    /// Whole strides of three `lane`-byte lanes from `at` on; returns where they end.
    #[inline]
    #[target_feature(enable = "sse4.2")]
    unsafe fn strides(
        from: *const u8,
        to: *mut u8,
        mut at: usize,
        length: usize,
        lane: usize,
        feed: &ZeroFeed,
        register: &mut u32,
    ) -> usize {
        while at + 3 * lane <= length {
            let (mut c0, mut c1, mut c2) = (u64::from(*register), 0u64, 0u64);
            let mut i = at;
            while i < at + lane {
                // SAFETY: i + 2 * lane + 8 <= at + 3 * lane <= length.
                unsafe {
                    let a = from.add(i).cast::<u64>().read_unaligned();
                    let b = from.add(i + lane).cast::<u64>().read_unaligned();
                    let c = from.add(i + 2 * lane).cast::<u64>().read_unaligned();
                    to.add(i).cast::<u64>().write_unaligned(a);
                    to.add(i + lane).cast::<u64>().write_unaligned(b);
                    to.add(i + 2 * lane).cast::<u64>().write_unaligned(c);
                    c0 = _mm_crc32_u64(c0, u64::from_le(a));
                    c1 = _mm_crc32_u64(c1, u64::from_le(b));
                    c2 = _mm_crc32_u64(c2, u64::from_le(c));
                }
                i += 8;
            }
            let joined = feed.apply(c0 as u32) ^ c1 as u32;
            *register = feed.apply(joined) ^ c2 as u32;
            at += 3 * lane;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;

    fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
        (0..n).map(|_| rng.next() as u8).collect()
    }

    #[test]
    fn copies_and_checksums_every_length_around_the_strides() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let data = random_bytes(&mut rng, 3 * 2048 * 3 + 3 * 256 * 2 + 64);
        let mut lengths: Vec<usize> = (0..=800).collect();
        for base in [6144, 6144 + 768, 12288, 16384, 16384 + 41, data.len() - 7] {
            lengths.extend(base.saturating_sub(9)..=(base + 9).min(data.len()));
        }
        for length in lengths {
            for (start, seed) in [(0, 0), (3, 0xE306_9283), (5, 1)] {
                if start + length > data.len() {
                    continue;
                }
                let src = &data[start..start + length];
                let mut dst = vec![0xAA; length];
                let crc = copy_crc32c(src, &mut dst, seed);
                assert_eq!(dst, src, "copy of {length} bytes at {start}");
                assert_eq!(
                    crc,
                    crc32c(src, seed),
                    "crc of {length} bytes at {start} seed {seed:#x}"
                );
            }
        }
    }

    #[test]
    fn known_answer() {
        let mut dst = [0u8; 9];
        assert_eq!(copy_crc32c(b"123456789", &mut dst, 0), 0xE306_9283);
        assert_eq!(&dst, b"123456789");
    }

    #[test]
    #[should_panic(expected = "equal lengths")]
    fn unequal_lengths_panic() {
        copy_crc32c(&[1, 2, 3], &mut [0; 2], 0);
    }
}
