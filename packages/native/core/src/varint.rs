//! Unsigned LEB128 limited to 32 bits, as FORMAT.md defines it: at most 5 bytes, and a 5th byte
//! above 0x0f (which would carry bits past 32 or a continuation) is corruption.

use crate::error::{Error, Result};

/// The longest encoding of a u32.
pub const MAX_LEN: usize = 5;

/// Append the encoding of `value` to `out`.
#[inline]
pub fn encode(mut value: u32, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// The number of bytes `encode` writes for `value`.
#[inline]
pub fn encoded_len(value: u32) -> usize {
    match value {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0xfff_ffff => 4,
        _ => 5,
    }
}

/// Decode the varint starting at `*pos` of `input` and advance `*pos` past it. Running past the
/// end of `input` is corruption: callers pass exactly the slice the varint must lie within.
#[inline]
pub fn decode(input: &[u8], pos: &mut usize) -> Result<u32> {
    let mut value = 0u32;
    for i in 0..MAX_LEN {
        let Some(&byte) = input.get(*pos + i) else {
            return Err(Error::corruption("varint runs past the end of its field"));
        };
        if i == MAX_LEN - 1 && byte > 0x0f {
            return Err(Error::corruption("varint longer than 32 bits"));
        }
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *pos += i + 1;
            return Ok(value);
        }
    }
    unreachable!("the fifth byte either ends the varint or is rejected above")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: u32) -> Vec<u8> {
        let mut out = Vec::new();
        encode(value, &mut out);
        assert_eq!(out.len(), encoded_len(value), "length of {value}");
        let mut pos = 0;
        assert_eq!(decode(&out, &mut pos).unwrap(), value);
        assert_eq!(pos, out.len());
        out
    }

    #[test]
    fn known_encodings() {
        assert_eq!(round_trip(0), [0x00]);
        assert_eq!(round_trip(1), [0x01]);
        assert_eq!(round_trip(127), [0x7f]);
        assert_eq!(round_trip(128), [0x80, 0x01]);
        assert_eq!(round_trip(300), [0xac, 0x02]);
        assert_eq!(round_trip(16_383), [0xff, 0x7f]);
        assert_eq!(round_trip(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(round_trip(u32::MAX), [0xff, 0xff, 0xff, 0xff, 0x0f]);
    }

    #[test]
    fn boundaries_round_trip() {
        for shift in 0..32 {
            let v = 1u32 << shift;
            round_trip(v - 1);
            round_trip(v);
            round_trip(v | (v - 1));
        }
    }

    #[test]
    fn decodes_at_an_offset() {
        let input = [0xaa, 0xac, 0x02, 0x05];
        let mut pos = 1;
        assert_eq!(decode(&input, &mut pos).unwrap(), 300);
        assert_eq!(pos, 3);
        assert_eq!(decode(&input, &mut pos).unwrap(), 5);
        assert_eq!(pos, 4);
    }

    #[test]
    fn malformed_is_corruption() {
        for bad in [
            &[][..],
            &[0x80],
            &[0xff, 0xff, 0xff, 0xff],
            &[0xff, 0xff, 0xff, 0xff, 0x10],
            &[0xff, 0xff, 0xff, 0xff, 0x8f],
            &[0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
        ] {
            let mut pos = 0;
            let err = decode(bad, &mut pos).unwrap_err();
            assert_eq!(err.code(), "CORRUPTION", "{bad:?}");
            assert_eq!(pos, 0, "a failed decode must not move the cursor");
        }
    }
}
