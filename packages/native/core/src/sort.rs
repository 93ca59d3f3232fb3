//! A stable sort of packed keys by unsigned bytes (a shorter key first when it is a prefix of the
//! other), returned as a permutation so the caller can reorder keys and values alike.
//!
//! Keys are sorted as 64-bit records `window << 32 | index`, where `window` is 32 bits of the key
//! taken after the bytes every key of the batch shares:
//!
//! 1. Skip the bytes every key shares (`depth`). From there each key has a *word*: its next 7 bytes
//!    (zero-padded) in the top 56 bits and how many bytes it has left there, capped at 8, in the low
//!    byte. Words order keys exactly as their bytes do, and equal words with fewer than 8 bytes left
//!    are equal keys. The window is the top half of the word, or the bottom half once the top half
//!    is known to tie.
//! 2. Radix sort the records by value (window, then index): one MSD pass over the whole batch into
//!    64 buckets, then each bucket on its own while it is in cache (LSD passes of 8-bit digits over
//!    the bits that still vary, then an insertion sort for the few entries left out of place). The
//!    index in the low bits makes the integer order the stable order.
//! 3. Runs of equal windows are settled on the next window or on the key bytes: small runs by an
//!    insertion sort, large ones (shared prefixes, many duplicates) by the same procedure one level
//!    down, from an explicit stack so a long shared prefix cannot grow the call stack.
//!
//! The scatters are sized for the TLB as much as for the caches: scattering a large array into more
//! than ~64 places touches a different page per step and runs several times slower. Memory is one u64
//! per key (the records) and one u32 (the windows) besides the result.

//!
//! With a trailer (`sort_keys_with_trailer`), keys compare by all but their last `t` bytes (the user
//! part, as above), then by those `t` bytes: the internal-key order of docs/ENGINE.md. The user
//! parts go through the same radix sort (it reads keys through `Keys`, so the plain sort compiles
//! exactly as before), and each run of equal user parts, already in input order, is then sorted
//! stably on its trailers.

use crate::error::{Error, Result};
use crate::packed::{be_word, Packed};

/// Groups of at most this many keys are insertion-sorted on their bytes directly.
const SMALL_GROUP: usize = 16;
/// Record slices of at most this many entries are insertion-sorted as integers.
const SMALL_RECORDS: usize = 24;
/// The first pass over a large group: 64 buckets, as many write streams as the TLB follows.
const TOP_BITS: u32 = 6;
/// Record slices larger than this (128 KiB of records) are split by an MSD pass before the LSD
/// passes, so that those work in cache.
const CACHE_RECORDS: usize = 1 << 14;

/// Batches of at least this many keys finish their top-level buckets on two threads (spawning one
/// costs tens of microseconds, a few percent of sorting this many keys).
const PARALLEL_KEYS: usize = 1 << 16;

/// The stable sorting permutation of `keys`: `keys[result[0]] <= keys[result[1]] <= …`, equal keys
/// in their original order.
pub fn sort_keys(keys: Packed<'_>) -> Vec<u32> {
    sort_keys_on(keys, threads_for(keys.len()))
}

/// The stable sorting permutation of `keys` when each key is a user part followed by a
/// `trailer_bytes`-byte trailer: keys compare by their user parts (unsigned bytes, a shorter prefix
/// first), then by their trailers (unsigned bytes). With `trailer_bytes = 0` this is `sort_keys`.
/// A key shorter than the trailer is `INVALID_ARGUMENT`.
pub fn sort_keys_with_trailer(keys: Packed<'_>, trailer_bytes: usize) -> Result<Vec<u32>> {
    if trailer_bytes == 0 {
        return Ok(sort_keys(keys));
    }
    check_trailers(keys, trailer_bytes, "keys")?;
    Ok(sort_split_on(keys, trailer_bytes, threads_for(keys.len())))
}

/// Fail with `INVALID_ARGUMENT` if an item of `keys` (named `name` in the message) is shorter than
/// `trailer_bytes`.
pub(crate) fn check_trailers(keys: Packed<'_>, trailer_bytes: usize, name: &str) -> Result<()> {
    match (0..keys.len()).find(|&i| {
        let (start, end) = keys.bounds(i);
        end - start < trailer_bytes
    }) {
        None => Ok(()),
        Some(i) => Err(Error::invalid_argument(format!(
            "{name}[{i}] is {} bytes, shorter than the {trailer_bytes}-byte trailer",
            keys.get(i).len()
        ))),
    }
}

/// `sort_keys_with_trailer` for `trailer_bytes > 0` on keys known to hold a trailer, on up to
/// `threads` threads.
fn sort_split_on(keys: Packed<'_>, trailer_bytes: usize, threads: usize) -> Vec<u32> {
    let users = UserParts {
        keys,
        trailer: trailer_bytes,
    };
    let mut order = sort_keys_on(users, threads);
    // Runs of equal user parts are in input order; order each on its trailers, stably.
    let trailer = |i: u32| {
        let (_, end) = keys.bounds(i as usize);
        &keys.data()[end - trailer_bytes..end]
    };
    let n = order.len();
    let mut i = 0;
    while i < n {
        let user = users.get(order[i] as usize);
        let mut j = i + 1;
        while j < n && users.get(order[j] as usize) == user {
            j += 1;
        }
        if j - i > 1 {
            order[i..j].sort_by(|&a, &b| trailer(a).cmp(trailer(b)));
        }
        i = j;
    }
    order
}

/// How many threads a batch of `n` keys is sorted on.
fn threads_for(n: usize) -> usize {
    if n >= PARALLEL_KEYS {
        std::thread::available_parallelism().map_or(1, |p| p.get())
    } else {
        1
    }
}

/// The keys a sort orders by unsigned bytes: the items of a batch, or their user parts.
trait Keys<'a>: Copy + Send + Sync {
    fn len(&self) -> usize;
    /// The buffer the keys are ranges of.
    fn data(&self) -> &'a [u8];
    /// Key `i` is `data()[start..end]`.
    fn bounds(&self, i: usize) -> (usize, usize);
    fn get(&self, i: usize) -> &'a [u8];
}

impl<'a> Keys<'a> for Packed<'a> {
    #[inline(always)]
    fn len(&self) -> usize {
        Packed::len(self)
    }

    #[inline(always)]
    fn data(&self) -> &'a [u8] {
        Packed::data(self)
    }

    #[inline(always)]
    fn bounds(&self, i: usize) -> (usize, usize) {
        Packed::bounds(self, i)
    }

    #[inline(always)]
    fn get(&self, i: usize) -> &'a [u8] {
        Packed::get(self, i)
    }
}

/// The items of a batch less their last `trailer` bytes (every item has at least that many).
#[derive(Clone, Copy)]
struct UserParts<'a> {
    keys: Packed<'a>,
    trailer: usize,
}

impl<'a> Keys<'a> for UserParts<'a> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.keys.len()
    }

    #[inline(always)]
    fn data(&self) -> &'a [u8] {
        self.keys.data()
    }

    #[inline(always)]
    fn bounds(&self, i: usize) -> (usize, usize) {
        let (start, end) = self.keys.bounds(i);
        (start, end - self.trailer)
    }

    #[inline(always)]
    fn get(&self, i: usize) -> &'a [u8] {
        let (start, end) = self.bounds(i);
        &self.keys.data()[start..end]
    }
}

/// `sort_keys` on up to `threads` threads (only 1 or 2 are used). The result does not depend on it.
fn sort_keys_on<'a, K: Keys<'a>>(keys: K, threads: usize) -> Vec<u32> {
    let n = keys.len();
    if n <= SMALL_GROUP {
        let mut records: Vec<u64> = (0..n as u64).collect();
        insertion_sort_by_bytes(&keys, &mut records, 0);
        return records.into_iter().map(|r| r as u32).collect();
    }
    let mut sorter = Sorter::new(keys);
    let mut records = vec![0u64; n];
    let mut order = vec![0u32; n];
    // Indices fit u32: `Packed::new` caps the item count. (`n > SMALL_GROUP`: it scatters.)
    let (depth, ends) = sorter
        .scatter(|i| i as u32, 0, false, &mut records)
        .expect("a large group is scattered");
    // Split the buckets where the halves come closest to equal: the first `split` buckets end at
    // `mid`.
    let split = if threads >= 2 {
        (1..ends.len())
            .min_by_key(|&b| (ends[b - 1] as usize).abs_diff(n / 2))
            .unwrap_or(0)
    } else {
        0
    };
    let mid = if split == 0 {
        0
    } else {
        ends[split - 1] as usize
    };
    if mid == 0 || mid == n {
        sorter.finish(&ends, 0, 0, depth, false, &mut records, &mut order);
        sorter.run_tasks(&mut records, &mut order);
        return order;
    }
    let (records_lo, records_hi) = records.split_at_mut(mid);
    let (order_lo, order_hi) = order.split_at_mut(mid);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut sorter = Sorter::new(keys);
            sorter.finish(&ends[split..], mid, 0, depth, false, records_hi, order_hi);
            sorter.run_tasks(records_hi, order_hi);
        });
        sorter.finish(&ends[..split], 0, 0, depth, false, records_lo, order_lo);
        sorter.run_tasks(records_lo, order_lo);
    });
    order
}

/// Records `[start, end)` of a part of the batch hold keys that agree on their first `depth` bytes
/// (and all have at least `depth`), and with `low_half` also on the top half of their words at
/// `depth`, still to be ordered among themselves.
struct Task {
    start: usize,
    end: usize,
    depth: usize,
    low_half: bool,
}

/// Sorts a part of the batch: its records and its part of the permutation are passed in, and
/// positions (`base`, tasks) are relative to the start of the part. Each bucket's permutation is
/// written as soon as it is sorted, while it is still in cache; tasks rewrite their ranges when
/// they settle them.
struct Sorter<'a, K: Keys<'a>> {
    keys: K,
    _data: std::marker::PhantomData<&'a [u8]>,
    records: RecordSorter,
    tasks: Vec<Task>,
}

impl<'a, K: Keys<'a>> Sorter<'a, K> {
    fn new(keys: K) -> Self {
        Sorter {
            keys,
            _data: std::marker::PhantomData,
            records: RecordSorter::default(),
            tasks: Vec::new(),
        }
    }

    /// Settle the queued tasks of the part whose records and permutation are given.
    fn run_tasks(&mut self, records: &mut [u64], order: &mut [u32]) {
        while let Some(task) = self.tasks.pop() {
            let group = &mut records[task.start..task.end];
            let ids: Vec<u32> = group.iter().map(|&r| r as u32).collect();
            self.sort_group(
                |i| ids[i],
                task.depth,
                task.low_half,
                task.start,
                group,
                order,
            );
        }
    }

    /// Sort the `records.len()` keys `id(0), id(1), …` (ascending indices, agreeing as a `Task`
    /// describes) into `records` as `window << 32 | index` records, queueing tasks for runs that
    /// still tie (`base` is where `records` starts in the part `order` covers).
    fn sort_group(
        &mut self,
        id: impl Fn(usize) -> u32,
        depth: usize,
        low_half: bool,
        base: usize,
        records: &mut [u64],
        order: &mut [u32],
    ) {
        match self.scatter(id, depth, low_half, records) {
            None => {
                insertion_sort_by_bytes(&self.keys, records, depth);
                emit(order, base, records);
            }
            Some((depth, ends)) => self.finish(&ends, 0, base, depth, low_half, records, order),
        }
    }

    /// The first steps of `sort_group`: skip the shared bytes and scatter the records by the top
    /// digit of their windows. Returns the depth reached and the end of each bucket, or `None`
    /// when the group is small enough to be insertion-sorted on its bytes (`records` then hold
    /// the bare indices).
    fn scatter(
        &mut self,
        id: impl Fn(usize) -> u32,
        mut depth: usize,
        low_half: bool,
        records: &mut [u64],
    ) -> Option<(usize, [u32; 1 << TOP_BITS])> {
        let m = records.len();
        if m <= SMALL_GROUP {
            for (i, r) in records.iter_mut().enumerate() {
                *r = u64::from(id(i));
            }
            return None;
        }
        let data = self.keys.data();

        // 1. Skip the bytes past `depth` that every key shares with the first one. (Cheap when there
        // are none: the scan stops at the first key that differs right away.)
        if !low_half {
            let first = self.keys.get(id(0) as usize);
            let mut common = first.len() - depth;
            for i in 1..m {
                if common == 0 {
                    break;
                }
                let key = self.keys.get(id(i) as usize);
                common = common_prefix(&key[depth..], &first[depth..], common);
            }
            depth += common;
        }

        // 2. Each key's window, and a histogram of its top digit.
        let shift = 32 - TOP_BITS;
        let mut counts = [0u32; 1 << TOP_BITS];
        let windows: Vec<u32> = (0..m)
            .map(|i| {
                let (start, end) = self.keys.bounds(id(i) as usize);
                let window = if low_half {
                    word(data, start + depth, end) as u32
                } else {
                    // The top half of the word is the key's next 4 bytes: no length byte needed.
                    (be_word(data, start + depth, end) >> 32) as u32
                };
                counts[(window >> shift) as usize] += 1;
                window
            })
            .collect();

        // 3. Scatter by the top digit.
        let mut sum = 0;
        for c in counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        for (i, &w) in windows.iter().enumerate() {
            let slot = &mut counts[(w >> shift) as usize];
            records[*slot as usize] = (u64::from(w) << 32) | u64::from(id(i));
            *slot += 1;
        }
        // counts[b] is now the end of bucket b.
        Some((depth, counts))
    }

    /// Sort each bucket of the scattered `records` on the remaining bits, settle its ties and
    /// write its permutation. `ends` are the ends of consecutive buckets, counted from `offset`
    /// places before `records[0]`, where the first of them starts; `records` start at `base` in
    /// the part `order` covers.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        ends: &[u32],
        offset: usize,
        base: usize,
        depth: usize,
        low_half: bool,
        records: &mut [u64],
        order: &mut [u32],
    ) {
        let shift = 32 - TOP_BITS;
        let mut start = 0;
        for &end in ends {
            let end = end as usize - offset;
            let bucket = &mut records[start..end];
            self.records.sort(bucket, shift);
            self.settle_ties(bucket, depth, low_half, base + start);
            emit(order, base + start, bucket);
            start = end;
        }
    }

    /// Settle the runs of equal windows in the sorted `records` (which start at `base` in the
    /// part): continue on the bottom half of the word, or past the word when that was the bottom
    /// half (equal words with fewer than 8 bytes left are equal keys). Small runs are sorted on
    /// their bytes right here, large ones become tasks.
    fn settle_ties(&mut self, records: &mut [u64], depth: usize, low_half: bool, base: usize) {
        let m = records.len();
        let mut i = 0;
        while let Some(found) = records[i..]
            .windows(2)
            .position(|pair| (pair[0] ^ pair[1]) >> 32 == 0)
        {
            i += found;
            let mut j = i + 2;
            while j < m && (records[j] ^ records[i]) >> 32 == 0 {
                j += 1;
            }
            let run = &mut records[i..j];
            let start = i;
            i = j;
            let (next_depth, next_low_half) = if !low_half {
                (depth, true)
            } else {
                let (from, end) = self.keys.bounds(run[0] as u32 as usize);
                if end - from - depth < 8 {
                    continue;
                }
                (depth + 7, false)
            };
            if run.len() <= SMALL_GROUP {
                insertion_sort_by_bytes(&self.keys, run, depth);
            } else {
                self.tasks.push(Task {
                    start: base + start,
                    end: base + j,
                    depth: next_depth,
                    low_half: next_low_half,
                });
            }
        }
    }
}

/// Write the permutation of the sorted `records` that start at `at` in `order`.
fn emit(order: &mut [u32], at: usize, records: &[u64]) {
    for (slot, &r) in order[at..at + records.len()].iter_mut().zip(records) {
        *slot = r as u32;
    }
}

/// The sort word of a key at `depth` (`from` is the position of byte `depth` in `data`): its next 7
/// bytes (zero-padded) in the top 56 bits and how many bytes it has left, capped at 8, in the low
/// byte.
#[inline(always)]
fn word(data: &[u8], from: usize, end: usize) -> u64 {
    (be_word(data, from, end) & !0xff) | (end - from).min(8) as u64
}

/// Sorts `window << 32 | index` records by value.
#[derive(Default)]
struct RecordSorter {
    /// Scatter target, as long as the largest slice sorted so far.
    scratch: Vec<u64>,
}

impl RecordSorter {
    /// Sort `records`, which all agree on the window bits above the lowest `bits_left`.
    fn sort(&mut self, records: &mut [u64], bits_left: u32) {
        let m = records.len();
        if m <= SMALL_RECORDS {
            insertion_sort(records);
            return;
        }
        if bits_left == 0 {
            // Equal windows throughout: the stable passes above left them in index order.
            return;
        }
        if self.scratch.len() < m {
            self.scratch.resize(m, 0);
        }
        if m > CACHE_RECORDS {
            self.split(records, bits_left);
            return;
        }
        // LSD passes of 8-bit digits over the next `want` bits, enough to leave about one entry
        // per value; the last pass may reach above `bits_left`, where all entries agree.
        let want = (usize::BITS - m.leading_zeros() + 1).min(bits_left);
        let low = bits_left - want; // the bits below the ones sorted here
        let scratch = &mut self.scratch[..m];
        // All the digits' histograms in one read (`want <= 32`: at most 4 digits).
        let passes = want.div_ceil(8) as usize;
        let digit = |r: u64, p: usize| usize::from((r >> (32 + low as usize + 8 * p)) as u8);
        let mut counts = [[0u32; 256]; 4];
        if passes == 2 {
            for &r in records.iter() {
                counts[0][digit(r, 0)] += 1;
                counts[1][digit(r, 1)] += 1;
            }
        } else {
            for &r in records.iter() {
                for (p, c) in counts[..passes].iter_mut().enumerate() {
                    c[digit(r, p)] += 1;
                }
            }
        }
        let mut in_scratch = false;
        for (p, counts) in counts[..passes].iter_mut().enumerate() {
            if counts[digit(records[0], p)] as usize == m {
                // Every entry has this digit: the pass would only copy.
                continue;
            }
            let (source, target): (&[u64], &mut [u64]) = if in_scratch {
                (scratch, records)
            } else {
                (records, scratch)
            };
            let mut sum = 0;
            for c in counts.iter_mut() {
                let n = *c;
                *c = sum;
                sum += n;
            }
            for &r in source {
                let slot = &mut counts[digit(r, p)];
                target[*slot as usize] = r;
                *slot += 1;
            }
            in_scratch = !in_scratch;
        }
        if in_scratch {
            records.copy_from_slice(scratch);
        }
        // Entries now only need reordering within runs that agree on every bit above `low`. When
        // those runs are short, one insertion sort over the slice does it; a run long enough to
        // exhaust the budget is sorted on the bits below instead.
        if insertion_sort_bounded(records, m) {
            return;
        }
        let shift = 32 + low;
        let mut i = 0;
        while i < m {
            let value = records[i] >> shift;
            let mut j = i + 1;
            while j < m && records[j] >> shift == value {
                j += 1;
            }
            if j - i > 1 {
                self.sort(&mut records[i..j], low);
            }
            i = j;
        }
    }

    /// An MSD pass on the top `TOP_BITS` of the remaining bits, then each bucket on its own.
    fn split(&mut self, records: &mut [u64], bits_left: u32) {
        let bits = TOP_BITS.min(bits_left);
        let shift = 32 + bits_left - bits;
        let mask = (1u64 << bits) - 1;
        let digit = |r: u64| ((r >> shift) & mask) as usize;
        let mut counts = [0u32; 1 << TOP_BITS];
        for &r in records.iter() {
            counts[digit(r)] += 1;
        }
        if counts[digit(records[0])] as usize != records.len() {
            let mut sum = 0;
            for c in counts.iter_mut() {
                let n = *c;
                *c = sum;
                sum += n;
            }
            let scratch = &mut self.scratch[..records.len()];
            for &r in records.iter() {
                let slot = &mut counts[digit(r)];
                scratch[*slot as usize] = r;
                *slot += 1;
            }
            records.copy_from_slice(scratch);
        } else {
            counts.fill(0);
            counts[digit(records[0])] = records.len() as u32;
            let mut sum = 0;
            for c in counts.iter_mut() {
                sum += *c;
                *c = sum;
            }
        }
        // counts[b] is now the end of bucket b.
        let mut start = 0;
        for end in counts {
            let end = end as usize;
            self.sort(&mut records[start..end], bits_left - bits);
            start = end;
        }
    }
}

fn insertion_sort(records: &mut [u64]) {
    for j in 1..records.len() {
        let x = records[j];
        let mut i = j;
        while i > 0 && records[i - 1] > x {
            records[i] = records[i - 1];
            i -= 1;
        }
        records[i] = x;
    }
}

/// Insertion sort that gives up, returning false, once it has moved more than `budget` entries.
/// It only moves an entry past greater ones, so after a sort on the high bits every entry stays
/// within its run of equal high bits, and giving up leaves those runs in place, partly sorted.
fn insertion_sort_bounded(records: &mut [u64], mut budget: usize) -> bool {
    for j in 1..records.len() {
        let x = records[j];
        if records[j - 1] <= x {
            continue;
        }
        let mut i = j;
        while i > 0 && records[i - 1] > x {
            records[i] = records[i - 1];
            i -= 1;
        }
        records[i] = x;
        let moved = j - i;
        if moved > budget {
            return false;
        }
        budget -= moved;
    }
    true
}

/// Stable insertion sort of records (index in the low 32 bits, in ascending index order) by the
/// bytes of their keys past `depth`, which they all have.
fn insertion_sort_by_bytes<'a, K: Keys<'a>>(keys: &K, records: &mut [u64], depth: usize) {
    for j in 1..records.len() {
        let x = records[j];
        let key = &keys.get(x as u32 as usize)[depth..];
        let mut i = j;
        // Strictly greater only: an equal key never moves past an earlier one.
        while i > 0 && &keys.get(records[i - 1] as u32 as usize)[depth..] > key {
            records[i] = records[i - 1];
            i -= 1;
        }
        records[i] = x;
    }
}

/// The length of the common prefix of `a` and `b`, at most `limit`.
#[inline]
fn common_prefix(a: &[u8], b: &[u8], limit: usize) -> usize {
    let limit = limit.min(a.len()).min(b.len());
    let (a, b) = (&a[..limit], &b[..limit]);
    let mut i = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let diff =
            u64::from_le_bytes(x.try_into().unwrap()) ^ u64::from_le_bytes(y.try_into().unwrap());
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < limit && a[i] == b[i] {
        i += 1;
    }
    i
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

    use crate::test_rng::Rng;

    fn check(keys: &[Vec<u8>]) {
        let items: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        assert_eq!(sorted(&items), reference(&items), "{} keys", keys.len());
    }

    /// Keys drawn from several shapes at once: lengths 0..=`max_len` over an alphabet of `alphabet`
    /// byte values starting at `base`, behind one of a few shared prefixes of up to 20 bytes.
    fn random_keys(
        rng: &mut Rng,
        n: usize,
        max_len: usize,
        alphabet: usize,
        base: u8,
    ) -> Vec<Vec<u8>> {
        let prefixes: [&[u8]; 4] = [b"", b"tbl:/", b"user:0000000000000", &[0xff; 9]];
        let prefix_kinds = 1 + rng.below(prefixes.len());
        (0..n)
            .map(|_| {
                let mut key = prefixes[rng.below(prefix_kinds)].to_vec();
                let len = rng.below(max_len + 1);
                key.extend((0..len).map(|_| base.wrapping_add(rng.below(alphabet) as u8)));
                key
            })
            .collect()
    }

    #[test]
    fn randomized_shapes_match_the_reference() {
        let mut rng = Rng(0x5eed);
        for round in 0..600 {
            let n = match round % 6 {
                0 => rng.below(20),
                1 => rng.below(100),
                2 => rng.below(1000),
                3 => 16 + rng.below(40),
                4 => rng.below(5000),
                _ => 1 + rng.below(300),
            };
            let max_len = [0, 1, 3, 8, 9, 15, 24, 40][rng.below(8)];
            let alphabet = [1, 2, 3, 16, 256][rng.below(5)];
            let base = [0u8, b'a', 0xfe][rng.below(3)];
            check(&random_keys(&mut rng, n, max_len, alphabet, base));
        }
    }

    #[test]
    fn large_batches_match_the_reference() {
        let mut rng = Rng(99);
        // Random 16-byte keys (the benchmark's shape), keys whose first 6 bits never vary after the
        // shared prefix (one huge top-level bucket, split again), duplicates galore, and keys that
        // share 30 bytes before they differ.
        let random: Vec<Vec<u8>> = (0..150_000)
            .map(|_| {
                rng.next()
                    .to_le_bytes()
                    .iter()
                    .chain(&rng.next().to_be_bytes())
                    .copied()
                    .collect()
            })
            .collect();
        check(&random);
        let skewed: Vec<Vec<u8>> = (0..120_000)
            .map(|_| {
                let mut k = vec![(rng.next() % 4) as u8];
                k.extend(rng.next().to_le_bytes().iter().take(rng.below(9)));
                k
            })
            .collect();
        check(&skewed);
        let duplicates: Vec<Vec<u8>> = (0..100_000).map(|_| vec![b'k'; 1 + rng.below(3)]).collect();
        check(&duplicates);
        let deep: Vec<Vec<u8>> = (0..60_000)
            .map(|_| {
                let mut k = vec![b'p'; 30];
                k.extend(format!("{}", rng.below(5000)).bytes());
                k
            })
            .collect();
        check(&deep);
        let widths: Vec<Vec<u8>> = (0..80_000)
            .map(|_| (rng.next() >> rng.below(64)).to_be_bytes()[..rng.below(9)].to_vec())
            .collect();
        check(&widths);
    }

    /// The permutation on two threads, which must be the one-thread permutation and the reference.
    fn check_threads(keys: &[Vec<u8>]) {
        let packed: PackedBuf = keys.iter().collect();
        let one = sort_keys_on(packed.as_packed(), 1);
        let two = sort_keys_on(packed.as_packed(), 2);
        assert!(
            one == two,
            "{} keys: threads change the permutation",
            keys.len()
        );
        let items: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
        assert!(one == reference(&items), "{} keys", keys.len());
    }

    #[test]
    fn two_threads_give_the_same_permutation() {
        let mut rng = Rng(2024);
        // Random 16-byte keys (the benchmark's shape).
        let random: Vec<Vec<u8>> = (0..300_000)
            .map(|_| [rng.next().to_be_bytes(), rng.next().to_be_bytes()].concat())
            .collect();
        check_threads(&random);
        // Many duplicates over few values: large runs of ties settled by tasks on both threads.
        let duplicates: Vec<Vec<u8>> = (0..200_000)
            .map(|_| {
                let mut k = vec![[0x10, 0x50, 0x90, 0xd0][rng.below(4)]; 1 + rng.below(3)];
                k.push(rng.below(2) as u8);
                k
            })
            .collect();
        check_threads(&duplicates);
        // A long shared prefix, then few distinct suffixes of varying lengths.
        let deep: Vec<Vec<u8>> = (0..150_000)
            .map(|_| {
                let mut k = b"tenant/0000000000000000/table/".repeat(2);
                k.extend(format!("{}", rng.below(20_000)).bytes());
                k
            })
            .collect();
        check_threads(&deep);
        // Nearly everything in one top-level bucket (no balanced split), a few keys elsewhere.
        let skewed: Vec<Vec<u8>> = (0..100_000)
            .map(|i| {
                let head = if i % 1000 == 0 { 0xf0 } else { 0x41 };
                let mut k = vec![head];
                k.extend(&rng.next().to_le_bytes()[..rng.below(9)]);
                k
            })
            .collect();
        check_threads(&skewed);
        // Every key equal: one bucket holds the whole batch.
        let equal: Vec<Vec<u8>> = vec![b"same key".to_vec(); 70_000];
        check_threads(&equal);
        // Keys that are prefixes of one another, at every length up to 40.
        let prefixes: Vec<Vec<u8>> = (0..90_000)
            .map(|_| {
                let mut k = vec![0u8; rng.below(41)];
                if let Some(first) = k.first_mut() {
                    *first = b'a';
                }
                k
            })
            .collect();
        check_threads(&prefixes);
    }

    #[test]
    fn keys_that_are_prefixes_of_each_other() {
        // "", "a", "a\0", "a\0\0", … up to 40 bytes, in a scrambled order and twice over, so equal
        // words at every depth must be settled by length.
        let mut keys: Vec<Vec<u8>> = Vec::new();
        for round in 0..2 {
            for len in 0..=40 {
                let mut k = vec![0u8; len];
                if len > 0 {
                    k[0] = b'a';
                }
                if round == 1 && len % 3 == 0 {
                    k.push(1);
                }
                keys.push(k);
            }
        }
        let mut rng = Rng(3);
        for i in (1..keys.len()).rev() {
            keys.swap(i, rng.below(i + 1));
        }
        check(&keys);
        let many: Vec<Vec<u8>> = (0..50_000).map(|i| keys[i % keys.len()].clone()).collect();
        check(&many);
    }

    /// The internal-key order: user part (all but the last `t` bytes), then trailer.
    pub(crate) fn split_cmp(a: &[u8], b: &[u8], t: usize) -> std::cmp::Ordering {
        let (au, at) = a.split_at(a.len() - t);
        let (bu, bt) = b.split_at(b.len() - t);
        au.cmp(bu).then_with(|| at.cmp(bt))
    }

    /// The obvious stable sort under the split comparison.
    fn split_reference(keys: &[Vec<u8>], t: usize) -> Vec<u32> {
        let mut order: Vec<u32> = (0..keys.len() as u32).collect();
        order.sort_by(|&a, &b| split_cmp(&keys[a as usize], &keys[b as usize], t));
        order
    }

    fn check_split(keys: &[Vec<u8>], t: usize) {
        let packed: PackedBuf = keys.iter().collect();
        let got = sort_keys_with_trailer(packed.as_packed(), t).unwrap();
        assert!(
            got == split_reference(keys, t),
            "{} keys, trailer {t}",
            keys.len()
        );
        if keys.len() >= 2 {
            let one = sort_split_on(packed.as_packed(), t, 1);
            let two = sort_split_on(packed.as_packed(), t, 2);
            assert!(
                one == got && two == got,
                "{} keys, trailer {t}: threads",
                keys.len()
            );
        }
    }

    fn internal(user: &[u8], trailer: u64) -> Vec<u8> {
        [user, &trailer.to_be_bytes()].concat()
    }

    #[test]
    fn trailer_orders_user_part_first() {
        // Plain byte order would put "a" ‖ ff… after "a\0" ‖ 00… and "ab" ‖ 00….
        let keys = vec![
            internal(b"ab", 0),
            internal(b"a\0", 0),
            internal(b"a", u64::MAX),
            internal(b"a", 5),
            internal(b"", 7),
            internal(b"a\0", 0),
            internal(b"a", 5),
        ];
        let packed: PackedBuf = keys.iter().collect();
        assert_eq!(
            sort_keys_with_trailer(packed.as_packed(), 8).unwrap(),
            [4, 3, 6, 2, 1, 5, 0]
        );
        assert_eq!(
            sort_keys(packed.as_packed()),
            reference(&keys.iter().map(|k| &k[..]).collect::<Vec<_>>())
        );
        check_split(&keys, 8);
        // With a 0-byte trailer the order is the plain one.
        let plain = sort_keys_with_trailer(packed.as_packed(), 0).unwrap();
        assert_eq!(plain, sort_keys(packed.as_packed()));
    }

    #[test]
    fn trailer_keys_shorter_than_the_trailer_are_invalid() {
        let keys: PackedBuf = [&b"12345678"[..], b"1234567"].into_iter().collect();
        let err = sort_keys_with_trailer(keys.as_packed(), 8).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT");
        assert!(sort_keys_with_trailer(keys.as_packed(), 7).is_ok());
        let empty: PackedBuf = [&b""[..]].into_iter().collect();
        assert!(sort_keys_with_trailer(empty.as_packed(), 1).is_err());
        assert_eq!(sort_keys_with_trailer(empty.as_packed(), 0).unwrap(), [0]);
    }

    /// Random internal keys: user parts from `random_keys` (prefixes of one another, duplicates,
    /// shared prefixes) and `t`-byte trailers over a small alphabet, so user keys and whole keys
    /// both repeat.
    fn random_split_keys(rng: &mut Rng, n: usize, t: usize) -> Vec<Vec<u8>> {
        let max_len = [0, 1, 3, 8, 9, 20][rng.below(6)];
        let alphabet = [1, 2, 3, 256][rng.below(4)];
        let trailer_alphabet = [1, 2, 256][rng.below(3)];
        let mut keys = random_keys(rng, n, max_len, alphabet, 0);
        for key in &mut keys {
            key.extend((0..t).map(|_| rng.below(trailer_alphabet) as u8 ^ 0x80));
        }
        keys
    }

    #[test]
    fn randomized_trailer_sorts_match_the_reference() {
        let mut rng = Rng(0x7a11);
        for round in 0..400 {
            let t = [1, 2, 8, 8, 9, 255][rng.below(6)];
            let n = match round % 4 {
                0 => rng.below(20),
                1 => rng.below(200),
                2 => rng.below(3000),
                _ => 5000 + rng.below(20_000),
            };
            check_split(&random_split_keys(&mut rng, n, t), t);
        }
    }

    #[test]
    fn large_trailer_sorts_match_the_reference() {
        let mut rng = Rng(808);
        // 16-byte user keys with 8-byte trailers (the benchmark shape), few user keys with many
        // versions each, and prefix user keys ("", "a", "a\0", …) with random trailers: each past
        // the two-thread threshold.
        let random: Vec<Vec<u8>> = (0..150_000)
            .map(|_| {
                let user = [rng.next().to_be_bytes(), rng.next().to_be_bytes()].concat();
                internal(&user, rng.next())
            })
            .collect();
        check_split(&random, 8);
        let versions: Vec<Vec<u8>> = (0..100_000)
            .map(|_| {
                internal(
                    format!("key{}", rng.below(50)).as_bytes(),
                    rng.next() % 1000,
                )
            })
            .collect();
        check_split(&versions, 8);
        let prefixes: Vec<Vec<u8>> = (0..80_000)
            .map(|_| {
                let mut user = vec![0u8; rng.below(12)];
                if let Some(first) = user.first_mut() {
                    *first = b'a';
                }
                internal(&user, rng.next() >> rng.below(64))
            })
            .collect();
        check_split(&prefixes, 8);
        let same: Vec<Vec<u8>> = (0..70_000)
            .map(|_| internal(b"k", rng.next() % 7))
            .collect();
        check_split(&same, 8);
    }

    #[test]
    fn record_sorter_handles_any_bit_pattern() {
        // Windows that vary only in their low bits, only in their high bits, in a few bits here and
        // there, or not at all; slices from tiny to several times `CACHE_RECORDS`.
        let mut rng = Rng(12345);
        let mut sorter = RecordSorter::default();
        for (round, &m) in [0usize, 1, 2, 25, 300, 5000, 20_000, 70_000]
            .iter()
            .cycle()
            .take(48)
            .enumerate()
        {
            let mask: u32 = match round % 6 {
                0 => 0x0000_00ff,
                1 => 0xff00_0000,
                2 => 0x8001_0010,
                3 => 0,
                4 => 0x0000_ffff,
                _ => u32::MAX,
            };
            let mut records: Vec<u64> = (0..m as u64)
                .map(|i| (u64::from(rng.next() as u32 & mask) << 32) | i)
                .collect();
            let mut expected = records.clone();
            expected.sort_unstable();
            sorter.sort(&mut records, 32);
            assert_eq!(records, expected, "m = {m}, mask = {mask:#x}");
        }
    }
}
