//! Size classes: a sealed message's length reveals only which class its plaintext fell into.
//!
//! A message body is padded with one `0x80` byte and then zero bytes up to the smallest class
//! that holds it (ISO/IEC 7816-4 padding). The classes grow by four: 4 KiB, 16 KiB, 64 KiB,
//! 256 KiB, 1 MiB, 4 MiB, 16 MiB. Reports and notes stop at 256 KiB (see
//! [`crate::envelope::REPORT_LIMIT`]); the larger classes are reserved for evidence files.
//!
//! Evidence files are padded to [`file_class`] instead (Padmé): finer steps, because a
//! fourfold step on a large video would quadruple what a phone uploads.
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

/// The smallest padded length of an evidence file: small files share one class.
pub const FILE_MIN_CLASS: u64 = 4 << 10;

/// The padded length of an evidence file whose sealed body (its header and bytes) is `len`
/// bytes long, the `0x80` marker included: Padmé (Nikitin et al., "Reducing Metadata Leakage
/// from Encrypted Files and Communication with PURBs", PETS 2019), never below
/// [`FILE_MIN_CLASS`].
///
/// Padmé rounds a length `L` up so that only its top `floor(log2(floor(log2 L))) + 1` bits may
/// be non-zero: above 4 KiB it costs at most 6.25% more bytes (3.125% from 64 KiB) and leaves O(log log L) bits of the length visible, where the fourfold report classes would
/// cost up to 300% on a video sent from a phone. The classes are its fixed points:
/// `file_class(file_class(n)) == file_class(n)`.
pub const fn file_class(len: u64) -> u64 {
    let len = len + 1;
    if len <= FILE_MIN_CLASS {
        return FILE_MIN_CLASS;
    }
    let e = 63 - len.leading_zeros(); // floor(log2 L)
    let s = 32 - e.leading_zeros(); // floor(log2 E) + 1
    let last_bits = e - s;
    let mask = (1u64 << last_bits) - 1;
    (len + mask) & !mask
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

    #[test]
    fn file_classes() {
        assert_eq!(file_class(0), 4096);
        assert_eq!(file_class(4095), 4096);
        assert_eq!(file_class(4096), 4352); // 4097 rounded to a multiple of 256
        // A 1 GiB body needs one byte more for the marker, so it goes to the next step:
        // 2^30 + 2^25 (3.125% more).
        assert_eq!(file_class(1 << 30), (1 << 30) + (1 << 25));
        assert_eq!(file_class((1 << 30) - 1), 1 << 30);
    }

    proptest! {
        #[test]
        fn a_file_class_holds_its_body_costs_at_most_12_percent_and_is_a_fixed_point(
            len in 0u64..(1 << 40),
        ) {
            let class = file_class(len);
            prop_assert!(class > len);
            prop_assert!(class >= FILE_MIN_CLASS);
            prop_assert!(class <= FILE_MIN_CLASS.max((len + 1) + (len + 1) / 16));
            prop_assert_eq!(file_class(class - 1), class);
        }

        #[test]
        fn round_trip(body in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            let mut padded = pad(&body, CLASSES[3]).unwrap();
            prop_assert!(CLASSES.contains(&padded.len()));
            unpad(&mut padded).unwrap();
            prop_assert_eq!(padded, body);
        }
    }
}
