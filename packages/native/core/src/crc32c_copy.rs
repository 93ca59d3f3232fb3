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
//! single words and bytes. With PCLMULQDQ as well, inputs of 64 bytes and more fold 16-byte chunks
//! by carry-less multiplication instead (`fold`): a 16 KiB copy and checksum from cache took
//! ~1.1 µs there against ~2.1 µs in the lanes (same run; from memory larger than the last-level
//! cache ~2.6 against ~2.7 µs, where memory bandwidth bounds both). With AVX-512F and VPCLMULQDQ
//! too, inputs of 256 bytes and more fold four chunks per multiplication on 512-bit registers
//! (`wide`; see there for its numbers). Elsewhere: `copy_from_slice` then `crc32c`.

use crate::crc32c::crc32c;

/// Copy `src` into `dst` (the same length) and return `crc32c(dst, seed)` (seed 0 starts fresh,
/// a previous result extends it, as in `crc32c`).
///
/// # Panics
/// When the lengths differ.
pub fn copy_crc32c(src: &[u8], dst: &mut [u8], seed: u32) -> u32 {
    assert_eq!(src.len(), dst.len(), "copy_crc32c needs equal lengths");
    #[cfg(target_arch = "x86_64")]
    if src.len() >= wide::MIN_LEN && wide::available() {
        // SAFETY: the CPU has the features `wide` needs (checked above); the lengths are equal
        // (asserted above) and at least `wide::MIN_LEN`.
        #[allow(unsafe_code)]
        return unsafe { wide::copy_crc32c(src, dst, seed) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("sse4.2") {
        if src.len() >= fold::MIN_LEN && std::arch::is_x86_feature_detected!("pclmulqdq") {
            // SAFETY: the CPU has SSE4.2 and PCLMULQDQ (checked above); the lengths are equal
            // (asserted above) and at least `fold::MIN_LEN`.
            #[allow(unsafe_code)]
            return unsafe { fold::copy_crc32c(src, dst, seed) };
        }
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
    use std::arch::x86_64::_mm_crc32_u64;
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
        !unsafe { super::tail::copy_crc32c_rest::<true>(from, to, at, length, register) }
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

/// Carry-less multiplication folding (x86-64 with PCLMULQDQ and SSE4.2), for inputs of
/// `MIN_LEN` bytes and more: one 16-byte load and store per 16 bytes, and the CRC arithmetic on the
/// multiplier instead of the `crc32` unit, which the three-lane loop above keeps saturated at 8
/// bytes per `crc32` (~3.3 bytes per cycle with its copy on a 16 KiB value; this loop is bounded by
/// one multiplication per 8 bytes, and its loads and stores are half as many).
///
/// The data is read as a polynomial over GF(2), the first bit the highest degree; a 16-byte chunk
/// loaded little-endian has bit `i` of its register for degree `127 - i` (the low quadword is the
/// high half). Four accumulators take the chunks at `64k`, `64k + 16`, .. : each step multiplies an
/// accumulator by `x^512` — its two halves times `x^575 mod P` and `x^511 mod P` — and adds the
/// next chunk, which keeps it congruent, modulo the CRC polynomial `P`, to the message it has
/// absorbed. (A carry-less product of two reflected quadwords lands one degree low in a 128-bit
/// register, hence the `- 1` in the exponents.) The four then fold into one by `x^128`, further
/// whole chunks likewise, and the `crc32` instruction reduces the last 128 bits: for a message `M`
/// the register is `M·x^32 mod P`, the same for anything congruent to `M`. The starting register
/// (`!seed`) is added into the first four bytes, as the `crc32` instruction itself does. The
/// constants are computed at compile time from `P`, not transcribed.
/// `crc32c(data, seed)` by the 512-bit folding loop (without the copy), or `None` where that loop
/// does not run (inputs under 256 bytes, a CPU without AVX-512F and VPCLMULQDQ): from cache it
/// checksums several times faster than the three-lane `crc32` loop `crc32c` uses otherwise.
pub(crate) fn wide_crc32c(data: &[u8], seed: u32) -> Option<u32> {
    #[cfg(target_arch = "x86_64")]
    if data.len() >= wide::MIN_LEN && wide::available() {
        // SAFETY: the CPU has the features `wide` needs (checked above) and the input is long
        // enough.
        #[allow(unsafe_code)]
        return Some(unsafe { wide::crc32c(data, seed) });
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, seed);
    None
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod fold {
    use std::arch::x86_64::{
        __m128i, _mm_clmulepi64_si128, _mm_crc32_u64, _mm_cvtsi128_si64, _mm_cvtsi32_si128,
        _mm_extract_epi64, _mm_loadu_si128, _mm_set_epi64x, _mm_storeu_si128, _mm_xor_si128,
    };

    /// Shorter inputs take the three-lane loop: four accumulators need 64 bytes to start.
    pub const MIN_LEN: usize = 64;

    /// `x^n mod P` (P = x^32 + 0x1EDC6F41, CRC32C), bit-reversed into a 64-bit multiplier operand:
    /// a degree-`d` term at bit `63 - d`, as the data's quadwords hold theirs.
    pub(super) const fn x_pow_mod_p(n: u32) -> i64 {
        let mut r: u64 = 1;
        let mut i = 0;
        while i < n {
            r <<= 1;
            if r & (1 << 32) != 0 {
                r ^= 0x1_1EDC_6F41;
            }
            i += 1;
        }
        r.reverse_bits() as i64
    }

    /// Multipliers moving an accumulator 512 and 128 bits on: `[high half, low half]` in the
    /// register's `[low, high]` quadwords.
    pub(super) const BY_512: (i64, i64) = (x_pow_mod_p(512 + 64 - 1), x_pow_mod_p(512 - 1));
    const BY_128: (i64, i64) = (x_pow_mod_p(128 + 64 - 1), x_pow_mod_p(128 - 1));

    /// `acc · x^D + next` (congruent modulo P) for the `D` of `by`.
    ///
    /// # Safety
    /// PCLMULQDQ is available. (An `unsafe fn`, so that toolchains before the intrinsics were
    /// made safe to call in `target_feature` functions build it too.)
    #[inline]
    #[target_feature(enable = "pclmulqdq,sse4.2")]
    unsafe fn fold(acc: __m128i, by: __m128i, next: __m128i) -> __m128i {
        let high = _mm_clmulepi64_si128(acc, by, 0x00);
        let low = _mm_clmulepi64_si128(acc, by, 0x11);
        _mm_xor_si128(_mm_xor_si128(high, low), next)
    }

    /// The 16 bytes at `at` of `from`, copied to `to` when `COPY`.
    ///
    /// # Safety
    /// 16 bytes are readable at `from + at`, and with `COPY` writable at `to + at`.
    #[inline]
    unsafe fn copy_chunk<const COPY: bool>(from: *const u8, to: *mut u8, at: usize) -> __m128i {
        // SAFETY: as the caller vouches; unaligned loads and stores (SSE2, always on x86-64).
        unsafe {
            let c = _mm_loadu_si128(from.add(at).cast::<__m128i>());
            if COPY {
                _mm_storeu_si128(to.add(at).cast::<__m128i>(), c);
            }
            c
        }
    }

    /// # Safety
    /// PCLMULQDQ and SSE4.2 are available, `src.len() == dst.len()` and `src.len() >= MIN_LEN`.
    #[target_feature(enable = "pclmulqdq,sse4.2")]
    pub unsafe fn copy_crc32c(src: &[u8], dst: &mut [u8], seed: u32) -> u32 {
        let length = src.len();
        let from = src.as_ptr();
        let to = dst.as_mut_ptr();
        let by_512 = _mm_set_epi64x(BY_512.1, BY_512.0);
        // SAFETY (all blocks below): every 16-byte access is at `at + 16 <= length` for both
        // slices.
        let chunk = |at: usize| unsafe { copy_chunk::<true>(from, to, at) };
        let mut a0 = _mm_xor_si128(chunk(0), _mm_cvtsi32_si128(!seed as i32));
        let mut a1 = chunk(16);
        let mut a2 = chunk(32);
        let mut a3 = chunk(48);
        let mut at = 64;
        // SAFETY (the `fold` calls): the caller checked PCLMULQDQ.
        while at + 64 <= length {
            unsafe {
                a0 = fold(a0, by_512, chunk(at));
                a1 = fold(a1, by_512, chunk(at + 16));
                a2 = fold(a2, by_512, chunk(at + 32));
                a3 = fold(a3, by_512, chunk(at + 48));
            }
            at += 64;
        }
        // SAFETY: the caller vouches for the features and for `length` bytes at both pointers;
        // `at <= length`.
        unsafe { finish::<true>([a0, a1, a2, a3], from, to, at, length) }
    }

    /// The end both folding loops share: four accumulators for consecutive 16-byte chunks (the
    /// message so far, with the starting register added in), folded into one; then the remaining
    /// whole chunks from `at`, the reduction to 32 bits, and the bytes under a chunk. Returns the
    /// finished (inverted) CRC. The bytes are copied from `from` to `to` as they go when `COPY`.
    ///
    /// # Safety
    /// PCLMULQDQ and SSE4.2 are available, `at <= length`, and `length` bytes are readable at
    /// `from` and, with `COPY`, writable at `to`.
    #[target_feature(enable = "pclmulqdq,sse4.2")]
    pub(super) unsafe fn finish<const COPY: bool>(
        lanes: [__m128i; 4],
        from: *const u8,
        to: *mut u8,
        mut at: usize,
        length: usize,
    ) -> u32 {
        let by_128 = _mm_set_epi64x(BY_128.1, BY_128.0);
        let [a0, a1, a2, a3] = lanes;
        // SAFETY (the `fold` calls): the caller vouches for PCLMULQDQ.
        let mut acc = unsafe { fold(fold(fold(a0, by_128, a1), by_128, a2), by_128, a3) };
        while at + 16 <= length {
            // SAFETY: `at + 16 <= length` for both pointers.
            acc = unsafe { fold(acc, by_128, copy_chunk::<COPY>(from, to, at)) };
            at += 16;
        }
        let first = _mm_cvtsi128_si64(acc) as u64;
        let second = _mm_extract_epi64::<1>(acc) as u64;
        let register = _mm_crc32_u64(_mm_crc32_u64(0, first), second) as u32;
        // SAFETY: `at <= length` for both pointers, as the caller vouches.
        !unsafe { super::tail::copy_crc32c_rest::<COPY>(from, to, at, length, register) }
    }
}

/// The same folding on 512-bit registers (x86-64 with AVX-512F and VPCLMULQDQ), for inputs of
/// `MIN_LEN` bytes and more: one VPCLMULQDQ multiplies the four 128-bit lanes of a register at
/// once, so a register is exactly the four accumulators of `fold` (its lanes take the chunks at
/// `64k`, `64k + 16`, ..). Four such registers take the 64-byte blocks at `256k`, `256k + 64`, ..
/// and each step moves them `x^2048` on, which keeps four independent multiplications in flight
/// (one register alone would wait on each product's latency, as `fold`'s loop does at four times
/// the instructions per byte). The four then fold into one by `x^512`, further whole 64-byte blocks
/// likewise, and its lanes go on through `fold::finish`. A 16 KiB copy and checksum from cache:
/// ~0.4 µs against `fold`'s ~1.2–1.6 (a plain copy ~0.2–0.3); from memory ~1.8–1.9 µs against
/// ~2.4–2.7 (a plain copy ~1.8): the checksum no longer costs the copy anything measurable there.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod wide {
    use super::fold::{finish, x_pow_mod_p, BY_512};
    use std::arch::x86_64::{
        __m512i, _mm512_broadcast_i32x4, _mm512_clmulepi64_epi128, _mm512_extracti32x4_epi32,
        _mm512_loadu_si512, _mm512_storeu_si512, _mm512_ternarylogic_epi64, _mm512_xor_si512,
        _mm512_zextsi128_si512, _mm_cvtsi32_si128, _mm_set_epi64x,
    };

    /// Shorter inputs take `fold`: four registers need 256 bytes to start.
    pub const MIN_LEN: usize = 256;

    /// Whether the CPU has what these loops need: SSE4.2, PCLMULQDQ, AVX-512F and VPCLMULQDQ.
    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("sse4.2")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("vpclmulqdq")
    }

    /// Multipliers moving each lane 2048 bits on, as `fold`'s by 512 (see there).
    const BY_2048: (i64, i64) = (x_pow_mod_p(2048 + 64 - 1), x_pow_mod_p(2048 - 1));

    /// `acc · x^D + next` lane by lane (congruent modulo P) for the `D` of `by`.
    ///
    /// # Safety
    /// AVX-512F and VPCLMULQDQ are available.
    #[inline]
    #[target_feature(enable = "avx512f,vpclmulqdq")]
    unsafe fn fold(acc: __m512i, by: __m512i, next: __m512i) -> __m512i {
        let high = _mm512_clmulepi64_epi128::<0x00>(acc, by);
        let low = _mm512_clmulepi64_epi128::<0x11>(acc, by);
        // 0x96: the three-way exclusive or.
        _mm512_ternarylogic_epi64::<0x96>(high, low, next)
    }

    /// # Safety
    /// SSE4.2, PCLMULQDQ, AVX-512F and VPCLMULQDQ are available, `src.len() == dst.len()` and
    /// `src.len() >= MIN_LEN`.
    #[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse4.2")]
    pub unsafe fn copy_crc32c(src: &[u8], dst: &mut [u8], seed: u32) -> u32 {
        // SAFETY: as the caller vouches; `dst` has `src.len()` writable bytes.
        unsafe { run::<true>(src.as_ptr(), dst.as_mut_ptr(), src.len(), seed) }
    }

    /// The CRC32C of `data`, by the same loop without the stores.
    ///
    /// # Safety
    /// SSE4.2, PCLMULQDQ, AVX-512F and VPCLMULQDQ are available and `data.len() >= MIN_LEN`.
    #[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse4.2")]
    pub unsafe fn crc32c(data: &[u8], seed: u32) -> u32 {
        // SAFETY: as the caller vouches; nothing is written without `COPY`.
        unsafe { run::<false>(data.as_ptr(), std::ptr::null_mut(), data.len(), seed) }
    }

    /// The loop: `length` bytes from `from`, copied to `to` as they are loaded when `COPY`.
    ///
    /// # Safety
    /// The features above are available, `length >= MIN_LEN`, `length` bytes are readable at
    /// `from` and, with `COPY`, writable at `to`.
    #[inline]
    #[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse4.2")]
    unsafe fn run<const COPY: bool>(from: *const u8, to: *mut u8, length: usize, seed: u32) -> u32 {
        // SAFETY (all blocks below): every 64-byte access is at `at + 64 <= length` for both
        // pointers.
        let block = |at: usize| unsafe {
            let b = _mm512_loadu_si512(from.add(at).cast::<__m512i>());
            if COPY {
                _mm512_storeu_si512(to.add(at).cast::<__m512i>(), b);
            }
            b
        };
        let by_2048 = _mm512_broadcast_i32x4(_mm_set_epi64x(BY_2048.1, BY_2048.0));
        let by_512 = _mm512_broadcast_i32x4(_mm_set_epi64x(BY_512.1, BY_512.0));
        // The starting register goes into the first four bytes, the other lanes untouched.
        let start = _mm512_zextsi128_si512(_mm_cvtsi32_si128(!seed as i32));
        let mut z0 = _mm512_xor_si512(block(0), start);
        let mut z1 = block(64);
        let mut z2 = block(128);
        let mut z3 = block(192);
        let mut at = 256;
        // SAFETY (the `fold` calls): the caller checked AVX-512F and VPCLMULQDQ.
        while at + 256 <= length {
            unsafe {
                z0 = fold(z0, by_2048, block(at));
                z1 = fold(z1, by_2048, block(at + 64));
                z2 = fold(z2, by_2048, block(at + 128));
                z3 = fold(z3, by_2048, block(at + 192));
            }
            at += 256;
        }
        let mut z = unsafe { fold(fold(fold(z0, by_512, z1), by_512, z2), by_512, z3) };
        while at + 64 <= length {
            z = unsafe { fold(z, by_512, block(at)) };
            at += 64;
        }
        let lanes = [
            _mm512_extracti32x4_epi32::<0>(z),
            _mm512_extracti32x4_epi32::<1>(z),
            _mm512_extracti32x4_epi32::<2>(z),
            _mm512_extracti32x4_epi32::<3>(z),
        ];
        // SAFETY: the caller checked PCLMULQDQ and SSE4.2 and vouches for the lengths; `at <= length`.
        unsafe { finish::<COPY>(lanes, from, to, at, length) }
    }
}

/// The end both paths share: what their strides or folds left (under a stride or a chunk), word
/// by word, then byte by byte.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod tail {
    use std::arch::x86_64::{_mm_crc32_u64, _mm_crc32_u8};

    /// Feed `from[at..length]` to the raw (not inverted) CRC32C `register`, copying it to
    /// `to[at..length]` when `COPY`; returns the register.
    ///
    /// # Safety
    /// SSE4.2 is available, `at <= length`, and `length` bytes are readable at `from` and, with
    /// `COPY`, writable at `to`.
    #[inline]
    #[target_feature(enable = "sse4.2")]
    pub unsafe fn copy_crc32c_rest<const COPY: bool>(
        from: *const u8,
        to: *mut u8,
        mut at: usize,
        length: usize,
        register: u32,
    ) -> u32 {
        let mut wide = u64::from(register);
        while at + 8 <= length {
            // SAFETY (the word and the byte accesses): `at + 8 <= length`, `at < length`.
            let word = unsafe { from.add(at).cast::<u64>().read_unaligned() };
            if COPY {
                unsafe { to.add(at).cast::<u64>().write_unaligned(word) };
            }
            wide = _mm_crc32_u64(wide, u64::from_le(word));
            at += 8;
        }
        let mut register = wide as u32;
        while at < length {
            let byte = unsafe { *from.add(at) };
            if COPY {
                unsafe { *to.add(at) = byte };
            }
            register = _mm_crc32_u8(register, byte);
            at += 1;
        }
        register
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
                    ::crc32c::crc32c_append(seed, src),
                    "crc of {length} bytes at {start} seed {seed:#x}"
                );
            }
        }
    }

    /// Every x86-64 loop the CPU can run (the 512-bit folding one takes 256 bytes and more, with
    /// and without the copy; the 128-bit folding one 64 and more; the three-lane one anything)
    /// against the `crc32c` crate's checksum, on random lengths, source and target alignments and seeds; lengths
    /// around every stride and block boundary of the folding loops.
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[allow(unsafe_code)]
    fn every_loop_agrees_with_the_crates_checksum() {
        if !std::arch::is_x86_feature_detected!("sse4.2")
            || !std::arch::is_x86_feature_detected!("pclmulqdq")
        {
            return;
        }
        let wide_too = wide::available();
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let data = random_bytes(&mut rng, 70_000);
        let mut lengths: Vec<usize> = (fold::MIN_LEN..wide::MIN_LEN + 600).collect();
        for base in [1024, 4096, 16384, 65_536] {
            lengths.extend(base - 70..=base + 70);
        }
        lengths.extend((0..300).map(|_| fold::MIN_LEN + (rng.next() as usize) % 65_000));
        for length in lengths {
            let start = (rng.next() as usize) % 64;
            let target_at = (rng.next() as usize) % 64;
            let seed = rng.next() as u32;
            let src = &data[start..start + length];
            // The crate's loop, which shares no code with these.
            let expected = ::crc32c::crc32c_append(seed, src);
            if wide_too && length >= wide::MIN_LEN {
                // SAFETY: the features were checked above; the length is at least the minimum.
                let plain = unsafe { wide::crc32c(src, seed) };
                assert_eq!(
                    plain, expected,
                    "wide folding without the copy: {length} bytes at {start}"
                );
            }
            type Loop = unsafe fn(&[u8], &mut [u8], u32) -> u32;
            let mut loops: Vec<(&str, Loop)> = vec![
                ("folding", fold::copy_crc32c as Loop),
                ("lanes", lanes::copy_crc32c as Loop),
            ];
            if wide_too && length >= wide::MIN_LEN {
                loops.push(("wide folding", wide::copy_crc32c as Loop));
            }
            for (name, run) in loops {
                let mut target = vec![0x55; length + 128];
                // SAFETY: the features each loop needs were checked above; the lengths are equal
                // and at least the loop's minimum.
                let crc = unsafe { run(src, &mut target[target_at..target_at + length], seed) };
                assert_eq!(
                    crc, expected,
                    "{name}: {length} bytes at {start} into {target_at}"
                );
                assert_eq!(&target[target_at..target_at + length], src, "{name}: copy");
                // Nothing written around the target.
                assert!(
                    target[..target_at].iter().all(|&x| x == 0x55),
                    "{name}: before"
                );
                assert!(
                    target[target_at + length..].iter().all(|&x| x == 0x55),
                    "{name}: after"
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
