//! LtHash, the homomorphic set hash behind the versioned store's root hash (docs/FORMAT.md,
//! "Versioned store"). A state is 1024 lanes of u16, kept as 2048 little-endian bytes. The element
//! of a key-value pair is the first 2048 bytes of the BLAKE3 extendable output of
//! `u32le(len key) ‖ key ‖ u32le(len value) ‖ value`, read as 1024 LE u16; mixing it in adds it
//! lane-wise mod 2^16, mixing it out subtracts. Addition commutes, so the hash of a set does not
//! depend on the order its pairs were mixed in, and an insert followed by its delete cancels out.
//! A pair with an empty key or an empty value is no element (it contributes nothing), as in the
//! reference algorithm.

use crate::error::{Error, Result};
use crate::packed::Packed;

/// Lanes per state.
pub const LANES: usize = 1024;
/// Bytes of a state (and of one element).
pub const STATE_BYTES: usize = LANES * 2;

/// BLAKE3 of `data` with `out_len` bytes of extendable output (32 is the plain hash).
pub fn blake3_xof(data: &[u8], out_len: usize) -> Vec<u8> {
    let mut out = vec![0u8; out_len];
    blake3::Hasher::new()
        .update(data)
        .finalize_xof()
        .fill(&mut out);
    out
}

/// Mix every pair (`keys[i]`, `values[i]`) into `lanes` (2048 bytes), or out of it when
/// `subtract`; returns the new state. One call per change set: the caller packs the pairs.
pub fn mix(lanes: &[u8], keys: Packed, values: Packed, subtract: bool) -> Result<Vec<u8>> {
    if lanes.len() != STATE_BYTES {
        return Err(Error::invalid_argument(format!(
            "an LtHash state is {STATE_BYTES} bytes, got {}",
            lanes.len()
        )));
    }
    if keys.len() != values.len() {
        return Err(Error::invalid_argument(format!(
            "{} keys but {} values",
            keys.len(),
            values.len()
        )));
    }
    let mut state: Vec<u16> = lanes
        .chunks_exact(2)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .collect();
    // Mixing commutes, so the pairs can be summed in parallel parts and the parts added up.
    let count = keys.len();
    let threads = if count >= PARALLEL_THRESHOLD {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_THREADS)
            .min(count / (PARALLEL_THRESHOLD / 2))
    } else {
        1
    };
    let sum = if threads <= 1 {
        sum_elements(keys, values, 0..count)?
    } else {
        let per = count.div_ceil(threads);
        let parts: Vec<Result<[u16; LANES]>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let range = (t * per).min(count)..((t + 1) * per).min(count);
                    scope.spawn(move || sum_elements(keys, values, range))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("an LtHash worker panicked"))
                .collect()
        });
        let mut total = [0u16; LANES];
        for part in parts {
            add_lanes(&mut total, &part?);
        }
        total
    };
    for (lane, e) in state.iter_mut().zip(sum.iter()) {
        *lane = if subtract {
            lane.wrapping_sub(*e)
        } else {
            lane.wrapping_add(*e)
        };
    }
    Ok(state.iter().flat_map(|lane| lane.to_le_bytes()).collect())
}

/// Pairs per call from which the work is split across threads.
const PARALLEL_THRESHOLD: usize = 256;
const MAX_THREADS: usize = 8;

fn add_lanes(total: &mut [u16; LANES], part: &[u16; LANES]) {
    for (t, p) in total.iter_mut().zip(part.iter()) {
        *t = t.wrapping_add(*p);
    }
}

/// The sum (mod 2^16, lane-wise) of the elements of the pairs in `range`.
fn sum_elements(
    keys: Packed,
    values: Packed,
    range: std::ops::Range<usize>,
) -> Result<[u16; LANES]> {
    let mut sum = [0u16; LANES];
    let mut element = [0u8; STATE_BYTES];
    for i in range {
        let (key, value) = (keys.get(i), values.get(i));
        if key.is_empty() || value.is_empty() {
            continue;
        }
        element_of(key, value, &mut element)?;
        for (lane, b) in sum.iter_mut().zip(element.chunks_exact(2)) {
            *lane = lane.wrapping_add(u16::from_le_bytes([b[0], b[1]]));
        }
    }
    Ok(sum)
}

/// The element of one pair, written into `out`.
fn element_of(key: &[u8], value: &[u8], out: &mut [u8; STATE_BYTES]) -> Result<()> {
    let key_len = u32::try_from(key.len())
        .map_err(|_| Error::invalid_argument("a key longer than 2^32 - 1 bytes"))?;
    let value_len = u32::try_from(value.len())
        .map_err(|_| Error::invalid_argument("a value longer than 2^32 - 1 bytes"))?;
    let mut hasher = blake3::Hasher::new();
    hasher.update(&key_len.to_le_bytes());
    hasher.update(key);
    hasher.update(&value_len.to_le_bytes());
    hasher.update(value);
    hasher.finalize_xof().fill(out);
    Ok(())
}

/// The root hash of a state: BLAKE3-256 of its 2048 bytes.
pub fn checksum(lanes: &[u8]) -> Result<[u8; 32]> {
    if lanes.len() != STATE_BYTES {
        return Err(Error::invalid_argument(format!(
            "an LtHash state is {STATE_BYTES} bytes, got {}",
            lanes.len()
        )));
    }
    Ok(*blake3::hash(lanes).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Pack `items` as a `Packed` needs: data plus offsets.
    fn pack(items: &[&[u8]]) -> (Vec<u8>, Vec<u32>) {
        let mut data = Vec::new();
        let mut offsets = vec![0u32];
        for item in items {
            data.extend_from_slice(item);
            offsets.push(data.len() as u32);
        }
        (data, offsets)
    }

    fn state_of(pairs: &[(&[u8], &[u8])]) -> Vec<u8> {
        mix_into(&[0u8; STATE_BYTES], pairs, false)
    }

    fn mix_into(lanes: &[u8], pairs: &[(&[u8], &[u8])], subtract: bool) -> Vec<u8> {
        let keys: Vec<&[u8]> = pairs.iter().map(|p| p.0).collect();
        let values: Vec<&[u8]> = pairs.iter().map(|p| p.1).collect();
        let (kd, ko) = pack(&keys);
        let (vd, vo) = pack(&values);
        mix(
            lanes,
            Packed::new(&kd, &ko).unwrap(),
            Packed::new(&vd, &vo).unwrap(),
            subtract,
        )
        .unwrap()
    }

    #[test]
    fn blake3_matches_the_official_vectors() {
        // From the BLAKE3 repository's test_vectors.json: input byte i is i % 251.
        let input: Vec<u8> = (0..1025u32).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            hex(&blake3_xof(&input[..0], 32)),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(
            hex(&blake3_xof(&input[..1], 32)),
            "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"
        );
    }

    #[test]
    fn matches_the_reference_vectors() {
        assert_eq!(
            hex(&checksum(&[0u8; STATE_BYTES]).unwrap()),
            "be2a8de3dcf46c94ce85cdc8e07ac308f4d8a95490d956c38d780fd610db0813"
        );
        let one = state_of(&[(b"key", b"value")]);
        assert_eq!(
            hex(&checksum(&one).unwrap()),
            "b3437b8894c2310230f8da14288ce6d64339735ceb01c2cf98130670288f9ae6"
        );
        assert_eq!(hex(&one[..8]), "c8a687cdf3d959e7");
        assert_eq!(
            hex(&checksum(&state_of(&[(b"a", b"bc")])).unwrap()),
            "2d311093fdb0d07e9a635c38d0316ec59378d65f4cfb9228c67b8588e284c84e"
        );
        assert_eq!(
            hex(&checksum(&state_of(&[(b"ab", b"c")])).unwrap()),
            "76c389a3528fd544ff1968c7d9c7808e3d8752ad017ffcb788141b32151e0788"
        );
        assert_eq!(
            hex(&checksum(&state_of(&[(b"k1", b"v1"), (b"k2", b"v2")])).unwrap()),
            "9f099db34f9bb64815ad9377bd62891fd035d5ee3498a7b99d4e055ea178ea08"
        );
        let updated = mix_into(
            &state_of(&[(b"key1", b"value1")]),
            &[(b"key1", b"value1")],
            true,
        );
        let updated = mix_into(&updated, &[(b"key1", b"value2")], false);
        assert_eq!(
            hex(&checksum(&updated).unwrap()),
            "0089dedcb084cf9fa6b185aa14522b22d593414cacefac7d6ca29258f09e2f09"
        );
    }

    #[test]
    fn order_independent_and_cancels_out() {
        let forward = state_of(&[(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]);
        let backward = state_of(&[(b"c", b"3"), (b"a", b"1"), (b"b", b"2")]);
        assert_eq!(forward, backward);
        let removed = mix_into(&forward, &[(b"b", b"2"), (b"a", b"1"), (b"c", b"3")], true);
        assert_eq!(removed, vec![0u8; STATE_BYTES]);
    }

    #[test]
    fn the_parallel_path_equals_one_pair_at_a_time() {
        let keys: Vec<Vec<u8>> = (0..1000u32)
            .map(|i| format!("key-{i}").into_bytes())
            .collect();
        let values: Vec<Vec<u8>> = (0..1000u32)
            .map(|i| vec![(i % 251) as u8; 1 + (i as usize % 300)])
            .collect();
        let pairs: Vec<(&[u8], &[u8])> = keys
            .iter()
            .zip(values.iter())
            .map(|(k, v)| (k.as_slice(), v.as_slice()))
            .collect();
        let whole = state_of(&pairs);
        let mut one_by_one = vec![0u8; STATE_BYTES];
        for pair in &pairs {
            one_by_one = mix_into(&one_by_one, &[*pair], false);
        }
        assert_eq!(whole, one_by_one);
        assert_eq!(mix_into(&whole, &pairs, true), vec![0u8; STATE_BYTES]);
    }

    #[test]
    fn empty_keys_and_values_are_no_element() {
        assert_eq!(
            state_of(&[(b"", b"x"), (b"x", b"")]),
            vec![0u8; STATE_BYTES]
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        let (d, o) = pack(&[b"k"]);
        let p = Packed::new(&d, &o).unwrap();
        let (ed, eo) = pack(&[]);
        let empty = Packed::new(&ed, &eo).unwrap();
        assert_eq!(
            mix(&[0u8; 10], p, p, false).unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
        assert_eq!(
            mix(&[0u8; STATE_BYTES], p, empty, false)
                .unwrap_err()
                .code(),
            "INVALID_ARGUMENT"
        );
        assert!(checksum(&[0u8; 3]).is_err());
    }
}
