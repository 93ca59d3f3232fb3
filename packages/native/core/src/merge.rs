//! K-way merge of key runs, each strictly ascending by unsigned bytes. `runs[0]` is the newest:
//! when several runs hold the same key only the lowest-numbered run's entry is emitted, which is
//! how a compaction keeps the latest version and drops the ones it shadows.
//!
//! A loser tree picks the next key with ⌈log2 k⌉ comparisons per output entry (a binary heap needs
//! about twice that), and breaking ties by run number makes the newest duplicate surface first.
//! Each run's head carries its first 8 bytes as a big-endian integer, so nearly every comparison
//! (tree matches, the ascending check, the duplicate check) is one integer compare; the key bytes
//! are only read when two words tie.
//!
//! With a trailer (`merge_runs_with_trailer`), keys compare by all but their last `t` bytes (the
//! user part), then by those `t` bytes: the internal-key order of docs/ENGINE.md. The cached word
//! is then the user part's, which orders keys the same way whenever it differs, and ties compare
//! the two parts in turn. The merge is generic over the `Order`, so the plain merge compiles
//! exactly as before.

use crate::error::{Error, Result};
use crate::packed::{be_word, Packed};
use crate::sort::check_trailers;
use std::cmp::Ordering;

/// How keys compare: by their bytes, or by a user part and then a fixed-size trailer.
trait Order: Copy {
    /// The bytes at the end of every key that compare after the rest (0: plain byte order).
    fn trailer(self) -> usize;

    /// The word cached for the key `data[start..end]`: that of its user part.
    #[inline(always)]
    fn word(self, data: &[u8], start: usize, end: usize) -> u64 {
        be_word(data, start, end - self.trailer())
    }

    /// The order of two keys (each at least `trailer()` bytes long).
    #[inline(always)]
    fn cmp(self, a: &[u8], b: &[u8]) -> Ordering {
        let t = self.trailer();
        if t == 0 {
            return a.cmp(b);
        }
        let (a_user, a_trailer) = a.split_at(a.len() - t);
        let (b_user, b_trailer) = b.split_at(b.len() - t);
        a_user.cmp(b_user).then_with(|| a_trailer.cmp(b_trailer))
    }
}

/// Plain unsigned byte order.
#[derive(Clone, Copy)]
struct Bytes;

impl Order for Bytes {
    #[inline(always)]
    fn trailer(self) -> usize {
        0
    }
}

/// User part first, then a trailer of this many bytes (more than 0).
#[derive(Clone, Copy)]
struct Split(usize);

impl Order for Split {
    #[inline(always)]
    fn trailer(self) -> usize {
        self.0
    }
}

/// Entry `j` of the merged output is item `index[j]` of run `run[j]`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MergeResult {
    pub run: Vec<u32>,
    pub index: Vec<u32>,
}

/// One run and its head (the next unconsumed item).
struct Cursor<'a, O: Order> {
    /// `be_word` of the head, or `u64::MAX` once the run is exhausted. An exhausted run sorts after
    /// every key; a real key whose word is also `u64::MAX` is told apart in `beats_tied`.
    word: u64,
    /// The head's bytes are `data[start..end]`.
    start: usize,
    end: usize,
    /// The head's item index; `len` once exhausted.
    position: usize,
    len: usize,
    data: &'a [u8],
    run: Packed<'a>,
    order: O,
}

impl<'a, O: Order> Cursor<'a, O> {
    fn new(run: Packed<'a>, order: O) -> Self {
        let mut cursor = Cursor {
            word: u64::MAX,
            start: 0,
            end: 0,
            position: 0,
            len: run.len(),
            data: run.data(),
            run,
            order,
        };
        if cursor.len > 0 {
            let (start, end) = run.bounds(0);
            cursor.word = order.word(cursor.data, start, end);
            cursor.start = start;
            cursor.end = end;
        }
        cursor
    }

    #[inline(always)]
    fn exhausted(&self) -> bool {
        self.position == self.len
    }

    #[inline(always)]
    fn key(&self) -> &'a [u8] {
        &self.data[self.start..self.end]
    }

    /// Move past the head and return the new head's word, checking the run is strictly ascending
    /// as it goes: every adjacent pair of every run is compared exactly once by the end of the
    /// merge.
    #[inline(always)]
    fn advance(&mut self, r: usize) -> Result<u64> {
        let next = self.position + 1;
        self.position = next;
        if next == self.len {
            self.word = u64::MAX;
            return Ok(u64::MAX);
        }
        let (previous_word, previous) = (self.word, self.key());
        // Item `next` starts where the head ends; only its end is read from the offsets.
        let (start, end) = (self.end, self.run.bounds(next).1);
        self.word = self.order.word(self.data, start, end);
        self.start = start;
        self.end = end;
        if self.word <= previous_word
            && (self.word < previous_word
                || self.order.cmp(self.key(), previous) != Ordering::Greater)
        {
            return Err(not_ascending(r, next));
        }
        Ok(self.word)
    }
}

#[cold]
#[inline(never)]
fn not_ascending(r: usize, i: usize) -> Error {
    Error::invalid_argument(format!(
        "merge run {r} is not strictly ascending at item {i}"
    ))
}

/// A contestant of the loser tree: a run and its head's word, kept together so that replaying a
/// path reads each node's word directly instead of going through the run's cursor.
#[derive(Clone, Copy)]
struct Entry {
    word: u64,
    run: usize,
}

/// Whether `a`'s head comes out before `b`'s.
#[inline(always)]
fn beats<O: Order>(cursors: &[Cursor<'_, O>], a: Entry, b: Entry) -> bool {
    if a.word != b.word {
        return a.word < b.word;
    }
    beats_tied(&cursors[a.run], &cursors[b.run], a.run, b.run)
}

/// `beats` for equal words: the key bytes decide, then the run number (newest first).
#[inline(never)]
fn beats_tied<O: Order>(x: &Cursor<'_, O>, y: &Cursor<'_, O>, a: usize, b: usize) -> bool {
    match (x.exhausted(), y.exhausted()) {
        (false, false) => match x.order.cmp(x.key(), y.key()) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => a < b,
        },
        (false, true) => true,
        (true, _) => false,
    }
}

/// Merge `runs`; see the module documentation for the order and the duplicate rule.
pub fn merge_runs(runs: &[Packed<'_>]) -> Result<MergeResult> {
    merge_in(runs, Bytes)
}

/// Merge `runs` when each key is a user part followed by a `trailer_bytes`-byte trailer: keys
/// compare by user part (unsigned bytes, a shorter prefix first), then by trailer (unsigned bytes).
/// Each run must be strictly ascending in that order and every key at least `trailer_bytes` long,
/// else `INVALID_ARGUMENT`. With `trailer_bytes = 0` this is `merge_runs`.
pub fn merge_runs_with_trailer(runs: &[Packed<'_>], trailer_bytes: usize) -> Result<MergeResult> {
    if trailer_bytes == 0 {
        return merge_runs(runs);
    }
    for (r, &run) in runs.iter().enumerate() {
        check_trailers(run, trailer_bytes, &format!("runs[{r}]"))?;
    }
    merge_in(runs, Split(trailer_bytes))
}

fn merge_in<O: Order>(runs: &[Packed<'_>], order: O) -> Result<MergeResult> {
    let k = runs.len();
    if k > u32::MAX as usize {
        return Err(Error::invalid_argument("more than 2^32 - 1 merge runs"));
    }
    let total: usize = runs.iter().map(Packed::len).sum();
    let mut result = MergeResult {
        run: Vec::with_capacity(total),
        index: Vec::with_capacity(total),
    };
    if k == 0 {
        return Ok(result);
    }
    let mut cursors: Vec<Cursor<'_, O>> = runs.iter().map(|&r| Cursor::new(r, order)).collect();

    // tree[0] holds the winner, tree[1..k] the loser of the match at each internal node. Leaves are
    // the virtual nodes k..2k, leaf k + r standing for run r; node n's children are 2n and 2n + 1.
    let mut tree = vec![Entry { word: 0, run: 0 }; k];
    tree[0] = build(&cursors, &mut tree, 1, k);

    // The last key emitted, as its word and bytes.
    let mut last: Option<(u64, &[u8])> = None;
    loop {
        let winner = tree[0].run;
        let head = &cursors[winner];
        if head.exhausted() {
            break;
        }
        // Ties come out newest run first, so an entry equal to the last one emitted is shadowed.
        let (word, key) = (head.word, head.key());
        if last.is_none_or(|(w, l)| w != word || l != key) {
            result.run.push(winner as u32);
            result.index.push(head.position as u32);
            last = Some((word, key));
        }
        let word = cursors[winner].advance(winner)?;
        // Replay the winner's path: at each node the stored loser challenges the climbing entry.
        // The nodes on the path depend only on `winner`, so their loads do not wait for the
        // matches below them; which entry wins is data-dependent and unpredictable, so both are
        // selected without a branch (cmov) instead of paying a mispredicted jump at every level.
        let mut climbing = Entry { word, run: winner };
        let mut node = (winner + k) / 2;
        while node >= 1 {
            let challenger = tree[node];
            let wins = beats(&cursors, challenger, climbing);
            tree[node] = std::hint::select_unpredictable(wins, climbing, challenger);
            climbing = std::hint::select_unpredictable(wins, challenger, climbing);
            node /= 2;
        }
        tree[0] = climbing;
    }
    Ok(result)
}

/// Play the matches below `node`, record each loser, and return the subtree's winner.
fn build<O: Order>(cursors: &[Cursor<'_, O>], tree: &mut [Entry], node: usize, k: usize) -> Entry {
    if node >= k {
        let run = node - k;
        return Entry {
            word: cursors[run].word,
            run,
        };
    }
    let left = build(cursors, tree, 2 * node, k);
    let right = build(cursors, tree, 2 * node + 1, k);
    if beats(cursors, left, right) {
        tree[node] = right;
        left
    } else {
        tree[node] = left;
        right
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packed::PackedBuf;

    fn merge(runs: &[&[&str]]) -> Result<Vec<(u32, u32)>> {
        let bufs: Vec<PackedBuf> = runs
            .iter()
            .map(|r| r.iter().map(|s| s.as_bytes()).collect())
            .collect();
        let packed: Vec<Packed<'_>> = bufs.iter().map(PackedBuf::as_packed).collect();
        let result = merge_runs(&packed)?;
        assert_eq!(result.run.len(), result.index.len());
        Ok(result.run.into_iter().zip(result.index).collect())
    }

    /// Merge by collecting everything and sorting by (key, run): the expected answer.
    fn reference(runs: &[Vec<Vec<u8>>]) -> Vec<(u32, u32)> {
        let mut all: Vec<(&[u8], u32, u32)> = Vec::new();
        for (r, run) in runs.iter().enumerate() {
            for (i, key) in run.iter().enumerate() {
                all.push((key, r as u32, i as u32));
            }
        }
        all.sort();
        all.dedup_by(|later, earlier| later.0 == earlier.0);
        all.into_iter().map(|(_, r, i)| (r, i)).collect()
    }

    #[test]
    fn self_test_vector() {
        assert_eq!(
            merge(&[&["a", "c"], &["a", "b", "c", "d"]]).unwrap(),
            [(0, 0), (1, 1), (0, 1), (1, 3)]
        );
    }

    #[test]
    fn ties_go_to_the_lowest_numbered_run() {
        assert_eq!(
            merge(&[&["m"], &["a", "m", "z"], &["m", "z"], &["a"]]).unwrap(),
            [(1, 0), (0, 0), (1, 2)]
        );
        assert_eq!(
            merge(&[&["k"], &["k"], &["k"], &["k"], &["k"]]).unwrap(),
            [(0, 0)]
        );
        assert_eq!(
            merge(&[&[], &["x"], &["x", "y"]]).unwrap(),
            [(1, 0), (2, 1)]
        );
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(merge(&[]).unwrap(), []);
        assert_eq!(merge(&[&[], &[]]).unwrap(), []);
        assert_eq!(merge(&[&["", "a"]]).unwrap(), [(0, 0), (0, 1)]);
        assert_eq!(merge(&[&["a"], &[""]]).unwrap(), [(1, 0), (0, 0)]);
    }

    #[test]
    fn runs_that_are_not_strictly_ascending_are_invalid() {
        for runs in [
            &[&["a", "a"][..]][..],
            &[&["b", "a"]],
            &[&["a", "c"], &["x", "y", "b"]],
            &[&["a"], &["", ""]],
        ] {
            let err = merge(runs).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT", "{runs:?}");
        }
    }

    #[test]
    fn matches_the_reference_for_many_run_counts() {
        let bytes = crate::lz4::tests::random_bytes(1 << 16, 77);
        for k in 1..=17 {
            let runs: Vec<Vec<Vec<u8>>> = (0..k)
                .map(|r| {
                    let mut keys: Vec<Vec<u8>> = (0..(r * 37 % 50))
                        .map(|i| {
                            let at = (r * 997 + i * 13) % (bytes.len() - 4);
                            bytes[at..at + 1 + (bytes[at] % 3) as usize]
                                .iter()
                                .map(|b| b % 5)
                                .collect()
                        })
                        .collect();
                    keys.sort();
                    keys.dedup();
                    keys
                })
                .collect();
            let bufs: Vec<PackedBuf> = runs
                .iter()
                .map(|r| r.iter().map(|k| &k[..]).collect())
                .collect();
            let packed: Vec<Packed<'_>> = bufs.iter().map(PackedBuf::as_packed).collect();
            let result = merge_runs(&packed).unwrap();
            let got: Vec<(u32, u32)> = result.run.into_iter().zip(result.index).collect();
            assert_eq!(got, reference(&runs), "k = {k}");
        }
    }

    use crate::test_rng::Rng;

    fn merge_keys(runs: &[Vec<Vec<u8>>]) -> Result<Vec<(u32, u32)>> {
        let bufs: Vec<PackedBuf> = runs
            .iter()
            .map(|r| r.iter().map(|k| &k[..]).collect())
            .collect();
        let packed: Vec<Packed<'_>> = bufs.iter().map(PackedBuf::as_packed).collect();
        let result = merge_runs(&packed)?;
        Ok(result.run.into_iter().zip(result.index).collect())
    }

    /// Sorted, deduplicated random runs whose keys share words often: a few prefixes of 0 to 12
    /// bytes (so the first 8 bytes tie and the bytes after them decide), runs of 0xff (whose word
    /// equals the exhausted-run marker), zero bytes (so `a` and `a\0` pad to the same word), and
    /// the same keys in several runs.
    fn random_runs(rng: &mut Rng) -> Vec<Vec<Vec<u8>>> {
        let prefixes: [&[u8]; 5] = [b"", b"k", b"key:0000", b"key:00000000", &[0xff; 12]];
        let shared: Vec<Vec<u8>> = (0..20)
            .map(|_| {
                let mut k = prefixes[rng.below(5)].to_vec();
                k.extend((0..rng.below(4)).map(|_| [0u8, 1, 0xff][rng.below(3)]));
                k
            })
            .collect();
        let k = 1 + rng.below(12);
        (0..k)
            .map(|_| {
                let n = [0, 1, 5, 40, 300][rng.below(5)];
                let mut keys: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        if rng.below(3) == 0 {
                            return shared[rng.below(shared.len())].clone();
                        }
                        let mut key = prefixes[rng.below(5)].to_vec();
                        key.extend(
                            (0..rng.below(10)).map(|_| [0u8, 1, b'a', 0xfe, 0xff][rng.below(5)]),
                        );
                        key
                    })
                    .collect();
                keys.sort();
                keys.dedup();
                keys
            })
            .collect()
    }

    #[test]
    fn randomized_runs_match_the_reference() {
        let mut rng = Rng(0xabcdef);
        for _ in 0..2000 {
            let runs = random_runs(&mut rng);
            assert_eq!(merge_keys(&runs).unwrap(), reference(&runs));
        }
    }

    #[test]
    fn randomized_order_violations_are_invalid() {
        let mut rng = Rng(4242);
        let mut checked = 0;
        while checked < 1000 {
            let mut runs = random_runs(&mut rng);
            let r = rng.below(runs.len());
            let run = &mut runs[r];
            if run.len() < 2 {
                continue;
            }
            let i = rng.below(run.len() - 1);
            if rng.below(2) == 0 {
                run.swap(i, i + 1);
            } else {
                run[i + 1] = run[i].clone();
            }
            let err = merge_keys(&runs).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            checked += 1;
        }
    }

    /// The internal-key order: user part (all but the last `t` bytes), then trailer.
    fn split_cmp(a: &[u8], b: &[u8], t: usize) -> Ordering {
        let (au, at) = a.split_at(a.len() - t);
        let (bu, bt) = b.split_at(b.len() - t);
        au.cmp(bu).then_with(|| at.cmp(bt))
    }

    /// `reference` under the split comparison.
    fn split_reference(runs: &[Vec<Vec<u8>>], t: usize) -> Vec<(u32, u32)> {
        let mut all: Vec<(&[u8], u32, u32)> = Vec::new();
        for (r, run) in runs.iter().enumerate() {
            for (i, key) in run.iter().enumerate() {
                all.push((key, r as u32, i as u32));
            }
        }
        all.sort_by(|x, y| split_cmp(x.0, y.0, t).then(x.1.cmp(&y.1)));
        all.dedup_by(|later, earlier| later.0 == earlier.0);
        all.into_iter().map(|(_, r, i)| (r, i)).collect()
    }

    fn merge_split(runs: &[Vec<Vec<u8>>], t: usize) -> Result<Vec<(u32, u32)>> {
        let bufs: Vec<PackedBuf> = runs
            .iter()
            .map(|r| r.iter().map(|k| &k[..]).collect())
            .collect();
        let packed: Vec<Packed<'_>> = bufs.iter().map(PackedBuf::as_packed).collect();
        let result = merge_runs_with_trailer(&packed, t)?;
        Ok(result.run.into_iter().zip(result.index).collect())
    }

    fn internal(user: &[u8], trailer: u64) -> Vec<u8> {
        [user, &trailer.to_be_bytes()].concat()
    }

    #[test]
    fn trailer_orders_user_part_first() {
        // In plain byte order "a" ‖ ff… comes after "a\0" ‖ 00… and "ab" ‖ 00…; here it is first.
        let newer = vec![
            internal(b"a", u64::MAX),
            internal(b"a\0", 0),
            internal(b"ab", 3),
        ];
        let older = vec![
            internal(b"a", 1),
            internal(b"a", u64::MAX),
            internal(b"a\0", 0),
            internal(b"ab", 0),
            internal(b"ab", 3),
        ];
        let runs = vec![newer, older];
        assert_eq!(
            merge_split(&runs, 8).unwrap(),
            [(1, 0), (0, 0), (0, 1), (1, 3), (0, 2)]
        );
        assert_eq!(merge_split(&runs, 8).unwrap(), split_reference(&runs, 8));
        // The same runs are not ascending in plain byte order.
        assert!(merge_split(&runs, 0).is_err());
    }

    #[test]
    fn trailer_violations_are_invalid() {
        let short = vec![vec![internal(b"a", 1), b"1234567".to_vec()]];
        assert_eq!(
            merge_split(&short, 8).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        let descending = vec![vec![internal(b"a", 2), internal(b"a", 1)]];
        assert_eq!(
            merge_split(&descending, 8).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        let duplicate = vec![vec![internal(b"a", 2), internal(b"a", 2)]];
        assert_eq!(
            merge_split(&duplicate, 8).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        // Ascending in plain byte order but not in the split order.
        let plain = vec![vec![internal(b"a\0", 0), internal(b"a", 1)]];
        assert!(merge_split(&plain, 0).is_ok());
        assert_eq!(
            merge_split(&plain, 8).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
    }

    #[test]
    fn randomized_trailer_merges_match_the_reference() {
        let mut rng = Rng(0x5117);
        for round in 0..2000 {
            let t = [1, 2, 8, 9][rng.below(4)];
            let trailer_alphabet = [1, 2, 256][rng.below(3)];
            let mut runs = random_runs(&mut rng);
            for run in &mut runs {
                for key in run.iter_mut() {
                    key.extend((0..t).map(|_| rng.below(trailer_alphabet) as u8 ^ 0x80));
                }
                run.sort_by(|a, b| split_cmp(a, b, t));
                run.dedup();
            }
            assert_eq!(
                merge_split(&runs, t).unwrap(),
                split_reference(&runs, t),
                "round {round}"
            );
            // Break one run's order: the merge must refuse it.
            let r = rng.below(runs.len());
            if runs[r].len() >= 2 {
                let i = rng.below(runs[r].len() - 1);
                if rng.below(2) == 0 {
                    runs[r].swap(i, i + 1);
                } else {
                    runs[r][i + 1] = runs[r][i].clone();
                }
                assert_eq!(
                    merge_split(&runs, t).unwrap_err().code(),
                    "INVALID_ARGUMENT"
                );
            }
        }
    }

    #[test]
    fn large_random_merge_matches_the_reference() {
        let mut rng = Rng(7);
        for k in [1usize, 2, 3, 8, 33] {
            let runs: Vec<Vec<Vec<u8>>> = (0..k)
                .map(|_| {
                    let mut keys: Vec<Vec<u8>> = (0..20_000)
                        .map(|_| rng.next().to_be_bytes()[..1 + rng.below(8)].to_vec())
                        .collect();
                    keys.sort();
                    keys.dedup();
                    keys
                })
                .collect();
            assert_eq!(merge_keys(&runs).unwrap(), reference(&runs), "k = {k}");
        }
    }
}
