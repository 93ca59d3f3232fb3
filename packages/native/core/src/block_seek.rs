//! A point lookup inside one table block payload (FORMAT.md §3: prefix-compressed entries, then the
//! restart array and its count), for a table's `get`: one call per block a point read visits.
//!
//! Why here. The TypeScript search (a binary search over the restart points, then a walk rebuilding
//! prefix-compressed keys) is a few hundred bytecodes of byte loops per read; until the JIT has
//! optimised it — the first few thousand reads of a process — it costs more than the rest of the
//! read. The same search in Rust costs one N-API crossing. The walk trusts nothing: every varint,
//! length and offset is checked (`CORRUPTION`), so a payload that was not checked cannot make it
//! read out of bounds.

use crate::error::{Error, Result};
use crate::varint;

/// Bytes of the internal-key trailer (the inverted sequence number) after the user key.
pub const TRAILER_LEN: usize = 8;

/// The entry a point lookup found: its tag byte, its value's range in the payload and its key's
/// trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointHit {
    pub tag: u8,
    pub value_start: usize,
    pub value_end: usize,
    pub trailer: [u8; TRAILER_LEN],
}

/// Order of two internal keys (user key ‖ trailer, each at least a trailer long): user parts
/// byte-wise (a prefix first), then trailers.
fn compare_internal(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let (a_user, a_trailer) = a.split_at(a.len() - TRAILER_LEN);
    let (b_user, b_trailer) = b.split_at(b.len() - TRAILER_LEN);
    a_user.cmp(b_user).then_with(|| a_trailer.cmp(b_trailer))
}

/// One entry's header: shared, unshared and value lengths, the tag, and where its key delta starts.
struct EntryHead {
    shared: usize,
    unshared: usize,
    value_length: usize,
    tag: u8,
    delta_at: usize,
}

fn entry_head(entries: &[u8], at: usize) -> Result<EntryHead> {
    let mut pos = at;
    let shared = varint::decode(entries, &mut pos)? as usize;
    let unshared = varint::decode(entries, &mut pos)? as usize;
    let value_length = varint::decode(entries, &mut pos)? as usize;
    let Some(&tag) = entries.get(pos) else {
        return Err(Error::corruption(format!(
            "block entry at {at} ends before its tag"
        )));
    };
    let delta_at = pos + 1;
    if delta_at + unshared + value_length > entries.len() {
        return Err(Error::corruption(format!(
            "block entry at {at} runs past the entries"
        )));
    }
    Ok(EntryHead {
        shared,
        unshared,
        value_length,
        tag,
        delta_at,
    })
}

/// The first entry of the block `payload` at or after the internal key `target` (user key ‖
/// trailer) when it holds `target`'s user key; `None` when it holds another user key or no entry is
/// that late. `INVALID_ARGUMENT` for a target shorter than a trailer, `CORRUPTION` for a payload
/// that does not parse (restart array, varints, lengths, keys shorter than a trailer, a restart
/// entry that shares a prefix).
pub fn point_get(payload: &[u8], target: &[u8]) -> Result<Option<PointHit>> {
    if target.len() < TRAILER_LEN {
        return Err(Error::invalid_argument(format!(
            "a point lookup target of {} bytes is shorter than its trailer",
            target.len()
        )));
    }
    let size = payload.len();
    if size < 4 {
        return Err(Error::corruption(
            "block payload is shorter than its restart count",
        ));
    }
    let restart_count = u32::from_le_bytes(payload[size - 4..].try_into().unwrap()) as usize;
    if restart_count == 0 || restart_count > (size - 4) / 4 {
        return Err(Error::corruption(format!(
            "block restart count {restart_count} does not fit its {size}-byte payload"
        )));
    }
    let entries_end = size - 4 - 4 * restart_count;
    let entries = &payload[..entries_end];
    let restart = |r: usize| -> Result<usize> {
        let at = entries_end + 4 * r;
        let offset = u32::from_le_bytes(payload[at..at + 4].try_into().unwrap()) as usize;
        if offset >= entries_end {
            return Err(Error::corruption(format!(
                "block restart {r} is past the entries"
            )));
        }
        Ok(offset)
    };
    let short_key = |at: usize| {
        Error::corruption(format!(
            "block entry at {at} has a key shorter than its trailer"
        ))
    };

    // The last restart point whose key is < target (restart keys are stored whole).
    let (mut low, mut high) = (0, restart_count - 1);
    while low < high {
        let mid = (low + high).div_ceil(2);
        let at = restart(mid)?;
        let head = entry_head(entries, at)?;
        if head.shared != 0 {
            return Err(Error::corruption(format!(
                "block restart {mid} shares a key prefix"
            )));
        }
        let key = &entries[head.delta_at..head.delta_at + head.unshared];
        if key.len() < TRAILER_LEN {
            return Err(short_key(at));
        }
        if compare_internal(key, target).is_lt() {
            low = mid;
        } else {
            high = mid - 1;
        }
    }

    // Walk forward from there, rebuilding each key over the previous one.
    let mut key: Vec<u8> = Vec::with_capacity(target.len() + 16);
    let mut at = restart(low)?;
    while at < entries_end {
        let head = entry_head(entries, at)?;
        if head.shared > key.len() {
            return Err(Error::corruption(format!(
                "block entry at {at} shares {} bytes of a {}-byte key",
                head.shared,
                key.len()
            )));
        }
        key.truncate(head.shared);
        key.extend_from_slice(&entries[head.delta_at..head.delta_at + head.unshared]);
        if key.len() < TRAILER_LEN {
            return Err(short_key(at));
        }
        let value_start = head.delta_at + head.unshared;
        let value_end = value_start + head.value_length;
        if compare_internal(&key, target).is_ge() {
            let user = key.len() - TRAILER_LEN;
            if key[..user] != target[..target.len() - TRAILER_LEN] {
                return Ok(None);
            }
            return Ok(Some(PointHit {
                tag: head.tag,
                value_start,
                value_end,
                trailer: key[user..].try_into().unwrap(),
            }));
        }
        at = value_end;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block;
    use crate::packed::PackedBuf;
    use crate::test_rng::Rng;

    fn internal(user: &[u8], seq: u64) -> Vec<u8> {
        let mut key = user.to_vec();
        key.extend_from_slice(&(u64::MAX >> 8).wrapping_sub(seq).to_be_bytes());
        key
    }

    /// A block of `users` (sorted, distinct) with versions `seqs` each (newest first), and its payload.
    fn block_of(
        users: &[Vec<u8>],
        seqs: &[u64],
        interval: usize,
    ) -> (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<u8>) {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for user in users {
            for &seq in seqs {
                keys.push(internal(user, seq));
                values.push(format!("v{}-{seq}", String::from_utf8_lossy(user)).into_bytes());
            }
        }
        let k: PackedBuf = keys.iter().map(|k| k.as_slice()).collect();
        let v: PackedBuf = values.iter().map(|v| v.as_slice()).collect();
        let tags: Vec<u8> = (0..keys.len()).map(|i| (i % 3) as u8).collect();
        let stored = block::encode(k.as_packed(), v.as_packed(), &tags, interval, false).unwrap();
        let payload = stored[..stored.len() - 5].to_vec();
        (keys, values, payload)
    }

    /// The answer by a linear scan over the decoded entries.
    fn expected(keys: &[Vec<u8>], target: &[u8]) -> Option<usize> {
        let i = keys
            .iter()
            .position(|k| compare_internal(k, target).is_ge())?;
        (keys[i][..keys[i].len() - 8] == target[..target.len() - 8]).then_some(i)
    }

    #[test]
    fn finds_the_newest_visible_version_or_nothing() {
        let mut rng = Rng(0x51_7cc1_b727_220a);
        for interval in [1, 2, 16] {
            let users: Vec<Vec<u8>> = (0..60)
                .map(|i| format!("key{:04}", i * 2).into_bytes())
                .collect();
            let (keys, values, payload) = block_of(&users, &[9, 5, 2], interval);
            for _ in 0..600 {
                let n = rng.below(124);
                let user = format!("key{n:04}").into_bytes();
                let seq = rng.below(12) as u64;
                let target = internal(&user, seq);
                let hit = point_get(&payload, &target).unwrap();
                match expected(&keys, &target) {
                    None => assert_eq!(hit, None, "{n} at {seq}"),
                    Some(i) => {
                        let hit = hit.unwrap_or_else(|| panic!("{n} at {seq} missed"));
                        assert_eq!(
                            &payload[hit.value_start..hit.value_end],
                            values[i].as_slice()
                        );
                        assert_eq!(hit.tag, (i % 3) as u8);
                        assert_eq!(&hit.trailer[..], &keys[i][keys[i].len() - 8..]);
                    }
                }
            }
            // Past the last key, and before the first.
            assert_eq!(point_get(&payload, &internal(b"zz", 100)).unwrap(), None);
            assert_eq!(point_get(&payload, &internal(b"a", 100)).unwrap(), None);
        }
    }

    #[test]
    fn keys_of_different_lengths_order_by_user_part_first() {
        // "ab" < "ab\0" as user keys although "ab" ‖ trailer may sort after "ab\0" ‖ trailer byte-wise.
        let users = vec![b"ab".to_vec(), b"ab\0".to_vec(), b"abc".to_vec()];
        let (_, values, payload) = block_of(&users, &[3], 16);
        let hit = point_get(&payload, &internal(b"ab\0", 7)).unwrap().unwrap();
        assert_eq!(
            &payload[hit.value_start..hit.value_end],
            values[1].as_slice()
        );
        assert_eq!(
            point_get(&payload, &internal(b"ab", 2)).unwrap(),
            None,
            "only seq 3 exists"
        );
    }

    #[test]
    fn malformed_payloads_are_corruption_never_a_panic() {
        let users: Vec<Vec<u8>> = (0..40).map(|i| format!("k{i:03}").into_bytes()).collect();
        let (_, _, payload) = block_of(&users, &[4], 4);
        let target = internal(b"k020", 10);
        let mut rng = Rng(77);
        for _ in 0..3000 {
            let mut bad = payload.clone();
            match rng.below(3) {
                0 => {
                    let at = rng.below(bad.len());
                    bad[at] ^= 1 << rng.below(8);
                }
                1 => bad.truncate(rng.below(bad.len())),
                _ => {
                    let at = rng.below(bad.len());
                    bad[at] = 0xff;
                }
            }
            // Any answer or CORRUPTION; never a panic or an out-of-bounds value range.
            match point_get(&bad, &target) {
                Ok(Some(hit)) => assert!(hit.value_end <= bad.len()),
                Ok(None) => {}
                Err(e) => assert_eq!(e.code(), "CORRUPTION", "{e}"),
            }
        }
        assert_eq!(point_get(&[], &target).unwrap_err().code(), "CORRUPTION");
        assert_eq!(
            point_get(&payload, b"short").unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
    }
}
