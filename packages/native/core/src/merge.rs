//! K-way merge of key runs, each strictly ascending by unsigned bytes. `runs[0]` is the newest:
//! when several runs hold the same key only the lowest-numbered run's entry is emitted, which is
//! how a compaction keeps the latest version and drops the ones it shadows.
//!
//! A loser tree picks the next key with ⌈log2 k⌉ comparisons per output entry (a binary heap needs
//! about twice that), and breaking ties by run number makes the newest duplicate surface first.

use crate::error::{Error, Result};
use crate::packed::Packed;

/// Entry `j` of the merged output is item `index[j]` of run `run[j]`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MergeResult {
    pub run: Vec<u32>,
    pub index: Vec<u32>,
}

/// The first 8 bytes of `key` as a big-endian integer, zero-padded. Unequal prefixes order keys
/// exactly as their bytes do, so most comparisons are one integer compare instead of a memcmp.
#[inline(always)]
fn prefix(key: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let take = key.len().min(8);
    word[..take].copy_from_slice(&key[..take]);
    u64::from_be_bytes(word)
}

#[derive(Clone, Copy)]
struct Head<'a> {
    prefix: u64,
    key: &'a [u8],
}

impl Head<'_> {
    #[inline(always)]
    fn cmp(&self, other: &Head<'_>) -> std::cmp::Ordering {
        self.prefix
            .cmp(&other.prefix)
            .then_with(|| self.key.cmp(other.key))
    }
}

struct Cursors<'a> {
    runs: &'a [Packed<'a>],
    /// The next unconsumed item of each run.
    position: Vec<usize>,
    /// The item at `position`, or `None` once the run is exhausted (which sorts after every key).
    head: Vec<Option<Head<'a>>>,
}

impl<'a> Cursors<'a> {
    /// Whether run `a`'s head comes out before run `b`'s.
    #[inline]
    fn beats(&self, a: usize, b: usize) -> bool {
        match (&self.head[a], &self.head[b]) {
            (Some(x), Some(y)) => match x.cmp(y) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Equal => a < b,
            },
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    #[inline]
    fn head_at(run: &Packed<'a>, i: usize) -> Option<Head<'a>> {
        (i < run.len()).then(|| {
            let key = run.get(i);
            Head {
                prefix: prefix(key),
                key,
            }
        })
    }

    /// Move run `r` past its head, checking the run is strictly ascending as it goes: every
    /// adjacent pair of every run is compared exactly once by the end of the merge.
    #[inline]
    fn advance(&mut self, r: usize) -> Result<()> {
        let next = self.position[r] + 1;
        self.position[r] = next;
        let head = Self::head_at(&self.runs[r], next);
        if let (Some(previous), Some(new)) = (&self.head[r], &head) {
            if previous.cmp(new).is_ge() {
                return Err(Error::invalid_argument(format!(
                    "merge run {r} is not strictly ascending at item {next}"
                )));
            }
        }
        self.head[r] = head;
        Ok(())
    }
}

/// Merge `runs`; see the module documentation for the order and the duplicate rule.
pub fn merge_runs(runs: &[Packed<'_>]) -> Result<MergeResult> {
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
    let mut cursors = Cursors {
        runs,
        position: vec![0; k],
        head: runs.iter().map(|r| Cursors::head_at(r, 0)).collect(),
    };

    // tree[0] holds the winner, tree[1..k] the loser of the match at each internal node. Leaves are
    // the virtual nodes k..2k, leaf k + r standing for run r; node n's children are 2n and 2n + 1.
    let mut tree = vec![0usize; k];
    tree[0] = build(&cursors, &mut tree, 1, k);

    let mut last: Option<Head<'_>> = None;
    loop {
        let winner = tree[0];
        let Some(head) = cursors.head[winner] else {
            break;
        };
        // Ties come out newest run first, so an entry equal to the last one emitted is shadowed.
        if last.is_none_or(|l| l.cmp(&head).is_ne()) {
            result.run.push(winner as u32);
            result.index.push(cursors.position[winner] as u32);
            last = Some(head);
        }
        cursors.advance(winner)?;
        // Replay the winner's path: at each node the stored loser challenges the climbing entry.
        let mut climbing = winner;
        let mut node = (winner + k) / 2;
        while node >= 1 {
            if cursors.beats(tree[node], climbing) {
                std::mem::swap(&mut tree[node], &mut climbing);
            }
            node /= 2;
        }
        tree[0] = climbing;
    }
    Ok(result)
}

/// Play the matches below `node`, record each loser, and return the subtree's winner.
fn build(cursors: &Cursors<'_>, tree: &mut [usize], node: usize, k: usize) -> usize {
    if node >= k {
        return node - k;
    }
    let left = build(cursors, tree, 2 * node, k);
    let right = build(cursors, tree, 2 * node + 1, k);
    if cursors.beats(left, right) {
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
}
