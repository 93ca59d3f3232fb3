//! Batches of byte strings packed into one buffer plus offsets, the shape every batch call takes
//! (`PackedBytes` in `accelerator.ts`): item `i` is `data[offsets[i]..offsets[i + 1]]`. One buffer
//! and one offset array cross N-API per batch instead of one object per key.

use crate::error::{Error, Result};

/// A validated, borrowed batch. Construction checks the offsets once so that item access can
/// never fail afterwards.
#[derive(Clone, Copy, Debug)]
pub struct Packed<'a> {
    data: &'a [u8],
    offsets: &'a [u32],
}

impl<'a> Packed<'a> {
    /// Validate `offsets` against `data`: one more offset than items, non-decreasing, the last
    /// within `data`, and an item count that fits the u32 indices the results use.
    pub fn new(data: &'a [u8], offsets: &'a [u32]) -> Result<Self> {
        let Some((&last, _)) = offsets.split_last() else {
            return Err(Error::invalid_argument(
                "packed offsets must hold the item count plus one (at least one offset)",
            ));
        };
        if offsets.len() - 1 > u32::MAX as usize {
            return Err(Error::invalid_argument("more than 2^32 - 1 packed items"));
        }
        if let Some(i) = offsets.windows(2).position(|w| w[0] > w[1]) {
            return Err(Error::invalid_argument(format!(
                "packed offsets decrease at item {i} ({} > {})",
                offsets[i],
                offsets[i + 1]
            )));
        }
        if last as usize > data.len() {
            return Err(Error::invalid_argument(format!(
                "packed offsets end at {last}, past the {} data bytes",
                data.len()
            )));
        }
        Ok(Packed { data, offsets })
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `i`; panics past `len()` like slice indexing.
    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The bytes behind the items (item `i` is `data()[start..end]` with `(start, end) = bounds(i)`).
    #[inline]
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Where item `i` lies in `data()`: `start <= end <= data().len()` (checked by `new`). Panics
    /// past `len()`.
    #[inline]
    pub fn bounds(&self, i: usize) -> (usize, usize) {
        (self.offsets[i] as usize, self.offsets[i + 1] as usize)
    }

    /// The bytes the items span, which may be fewer than `data` holds.
    #[inline]
    pub fn total_bytes(&self) -> usize {
        (self.offsets[self.len()] - self.offsets[0]) as usize
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

/// An owned batch being built, returned to JavaScript as `{ data, offsets }`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedBuf {
    pub data: Vec<u8>,
    pub offsets: Vec<u32>,
}

impl PackedBuf {
    pub fn with_capacity(items: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(items + 1);
        offsets.push(0);
        PackedBuf {
            data: Vec::with_capacity(bytes),
            offsets,
        }
    }

    /// Append an item. Callers only pack items sliced out of one input of at most 4 GiB, so the
    /// running total always fits the u32 offsets.
    #[inline]
    pub fn push(&mut self, item: &[u8]) {
        self.data.extend_from_slice(item);
        self.offsets.push(self.data.len() as u32);
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn as_packed(&self) -> Packed<'_> {
        Packed {
            data: &self.data,
            offsets: &self.offsets,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> FromIterator<&'a T> for PackedBuf {
    fn from_iter<I: IntoIterator<Item = &'a T>>(items: I) -> Self {
        let mut buf = PackedBuf::with_capacity(0, 0);
        for item in items {
            buf.push(item.as_ref());
        }
        buf
    }
}

/// The 8 bytes of `data[start..end]` from `start`, zero-padded past `end`, as a big-endian integer
/// (`start <= end <= data.len()`). Two such words order unequal keys exactly as their bytes do; equal
/// words leave the order to the bytes after them and, for keys shorter than 8 bytes, to the lengths
/// (`a` and `a\0` pad to the same word).
#[inline(always)]
pub(crate) fn be_word(data: &[u8], start: usize, end: usize) -> u64 {
    let len = end - start;
    match data.get(start..start + 8) {
        Some(bytes) => {
            let word = u64::from_be_bytes(bytes.try_into().unwrap());
            if len >= 8 {
                word
            } else {
                // Keep the top `len` bytes: the ones past `end` belong to other items.
                word & !(u64::MAX >> (len * 8))
            }
        }
        None => {
            // Fewer than 8 bytes of `data` follow `start`: the item is among the last bytes.
            let mut word = [0u8; 8];
            for (to, from) in word.iter_mut().zip(&data[start..end]) {
                *to = *from;
            }
            u64::from_be_bytes(word)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_the_ranges_between_offsets() {
        let data = b"xxhelloworld";
        let packed = Packed::new(data, &[2, 7, 7, 12]).unwrap();
        assert_eq!(packed.len(), 3);
        assert_eq!(packed.get(0), b"hello");
        assert_eq!(packed.get(1), b"");
        assert_eq!(packed.get(2), b"world");
        assert_eq!(packed.total_bytes(), 10);
        assert_eq!(
            packed.iter().collect::<Vec<_>>(),
            [&b"hello"[..], b"", b"world"]
        );
    }

    #[test]
    fn words_are_zero_padded_big_endian_prefixes() {
        let data = b"abcdefghijklmnop";
        assert_eq!(be_word(data, 0, 16), u64::from_be_bytes(*b"abcdefgh"));
        assert_eq!(be_word(data, 0, 8), u64::from_be_bytes(*b"abcdefgh"));
        assert_eq!(be_word(data, 2, 5), u64::from_be_bytes(*b"cde\0\0\0\0\0"));
        assert_eq!(be_word(data, 4, 4), 0);
        // Near the end of the data the slow path pads the same way.
        assert_eq!(be_word(data, 10, 16), u64::from_be_bytes(*b"klmnop\0\0"));
        assert_eq!(
            be_word(data, 12, 14),
            u64::from_be_bytes(*b"mn\0\0\0\0\0\0")
        );
        assert_eq!(be_word(data, 16, 16), 0);
        assert_eq!(be_word(b"", 0, 0), 0);
    }

    #[test]
    fn a_single_offset_is_an_empty_batch() {
        let packed = Packed::new(b"abc", &[3]).unwrap();
        assert!(packed.is_empty());
    }

    #[test]
    fn malformed_offsets_are_invalid_arguments() {
        for (data, offsets) in [
            (&b"abc"[..], &[][..]),
            (b"abc", &[0, 2, 1]),
            (b"abc", &[0, 4]),
            (b"", &[1]),
        ] {
            let err = Packed::new(data, offsets).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT", "{offsets:?}");
        }
    }

    #[test]
    fn buffers_collect_and_view() {
        let buf: PackedBuf = ["ab", "", "c"].iter().map(|s| s.as_bytes()).collect();
        assert_eq!(buf.data, b"abc");
        assert_eq!(buf.offsets, [0, 2, 2, 3]);
        assert_eq!(buf.len(), 3);
        assert_eq!(buf.as_packed().get(2), b"c");
    }
}
