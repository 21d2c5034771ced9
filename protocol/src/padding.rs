//! Size classes: a sealed message's length reveals only which class its plaintext fell into.
//!
//! A message body is padded with one `0x80` byte and then zero bytes up to the smallest class
//! that holds it (ISO/IEC 7816-4 padding). The classes grow by four: 4 KiB, 16 KiB, 64 KiB,
//! 256 KiB, 1 MiB, 4 MiB, 16 MiB. Reports and notes stop at 256 KiB (see
//! [`crate::envelope::REPORT_LIMIT`]); the larger classes are reserved for evidence files.
//!
//! Padding happens inside the envelope, so it is authenticated: a changed padding byte is
//! caught by the AEAD before [`unpad`] ever sees it.

/// Every size class, smallest first, in bytes of padded plaintext.
pub const CLASSES: [usize; 7] = [
    4 << 10,
    16 << 10,
    64 << 10,
    256 << 10,
    1 << 20,
    4 << 20,
    16 << 20,
];

/// Why a body could not be padded or unpadded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaddingError {
    /// The body does not fit into the largest class allowed.
    #[error("the message is {len} bytes; at most {max} bytes fit")]
    TooLarge {
        /// The body length.
        len: usize,
        /// The largest body that fits into the allowed class.
        max: usize,
    },
    /// The padded plaintext does not end in `0x80 0x00*`.
    #[error("the message padding is malformed")]
    Malformed,
}

/// The smallest class that holds a body of `len` bytes plus its padding marker.
pub fn class_for(len: usize) -> Option<usize> {
    CLASSES.iter().copied().find(|&class| class > len)
}

/// The largest body that fits into a class of `class` bytes.
pub const fn max_body(class: usize) -> usize {
    class - 1
}

/// Pads `body` to its size class; refuses bodies whose class would exceed `limit`.
pub fn pad(body: &[u8], limit: usize) -> Result<Vec<u8>, PaddingError> {
    let too_large = PaddingError::TooLarge {
        len: body.len(),
        max: max_body(limit),
    };
    let class = class_for(body.len()).ok_or(too_large.clone())?;
    if class > limit {
        return Err(too_large);
    }
    let mut out = Vec::with_capacity(class);
    out.extend_from_slice(body);
    out.push(0x80);
    out.resize(class, 0);
    Ok(out)
}

/// Removes the padding that [`pad`] added, in place.
pub fn unpad(padded: &mut Vec<u8>) -> Result<(), PaddingError> {
    let end = padded
        .iter()
        .rposition(|&b| b != 0)
        .ok_or(PaddingError::Malformed)?;
    if padded[end] != 0x80 {
        return Err(PaddingError::Malformed);
    }
    padded.truncate(end);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn boundaries() {
        assert_eq!(pad(b"", 4096).unwrap().len(), 4096);
        assert_eq!(pad(&[1; 4095], 4096).unwrap().len(), 4096);
        assert_eq!(pad(&[1; 4096], 16384).unwrap().len(), 16384);
        assert!(matches!(
            pad(&[1; 4096], 4096),
            Err(PaddingError::TooLarge {
                len: 4096,
                max: 4095
            })
        ));
        assert!(pad(&vec![0; 16 << 20], usize::MAX).is_err());
    }

    #[test]
    fn malformed_padding_is_refused() {
        assert_eq!(unpad(&mut vec![0; 16]), Err(PaddingError::Malformed));
        assert_eq!(unpad(&mut vec![1, 2, 0, 0]), Err(PaddingError::Malformed));
    }

    proptest! {
        #[test]
        fn round_trip(body in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            let mut padded = pad(&body, CLASSES[3]).unwrap();
            prop_assert!(CLASSES.contains(&padded.len()));
            unpad(&mut padded).unwrap();
            prop_assert_eq!(padded, body);
        }
    }
}
