//! The inquiry code: the reporter's only key to their case.
//!
//! Twenty symbols of Crockford base32 (`0-9 A-Z` without `I L O U`), shown as five groups of
//! four: `7K3Q-M9XD-2HTV-P4WB-RG6E`. Nineteen symbols are random (95 bits from the OS CSPRNG);
//! the twentieth is a check symbol over GF(32): with the symbols read as field elements
//! `x0..x19`, a valid code has `sum(a^(19-i) * x_i) = 0`, where `a` is a primitive element of
//! GF(2^5) (polynomial `x^5 + x^2 + 1`). All twenty weights are distinct and non-zero, so every
//! single wrong symbol and every swap of two neighbouring different symbols changes the sum and is
//! caught before any network request.
//!
//! Reading is forgiving: case, spaces, hyphens, dots and full-width forms (from Chinese input
//! methods) are ignored, and the look-alikes `O`, `I` and `L` read as `0`, `1` and `1`.
//!
//! An [`InquiryCode`] cannot be printed by accident (its `Debug` is redacted and it has no
//! `Display` or `Serialize`); the grouped text comes from [`InquiryCode::expose_grouped`].

use core::fmt;

use hpke::rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

/// The 32 symbols, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Symbols in a code, including the check symbol.
pub const LEN: usize = 20;
/// Random symbols in a code.
pub const DATA_LEN: usize = LEN - 1;
/// Bits of entropy in a code.
pub const ENTROPY_BITS: usize = DATA_LEN * 5;
/// Symbols per displayed group.
pub const GROUP_LEN: usize = 4;

/// What is wrong with a typed code. Every variant's message is a plain sentence for a reporter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// Nothing was typed.
    #[error("please enter your inquiry code")]
    Empty,
    /// A character that no code contains.
    #[error("the code cannot contain “{ch}” (character {position})")]
    InvalidCharacter {
        /// The character as typed.
        ch: char,
        /// Its 1-based position among the code's symbols.
        position: usize,
    },
    /// Fewer symbols than a code has.
    #[error("the code is too short: {found} of {LEN} characters")]
    TooShort {
        /// Symbols found.
        found: usize,
    },
    /// More symbols than a code has.
    #[error("the code is too long: {found} characters, a code has {LEN}")]
    TooLong {
        /// Symbols found.
        found: usize,
    },
    /// The check symbol does not match: a character is wrong or two are swapped.
    #[error("this code has a typo: check each character again")]
    Typo,
}

/// A reporter's inquiry code (secret).
#[derive(Clone, PartialEq, Eq)]
pub struct InquiryCode([u8; LEN]);

impl InquiryCode {
    /// A fresh code from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self::generate_with_rng(&mut crate::rng::system())
    }

    /// A fresh code from the given RNG (tests only; see [`crate::envelope::seal_with_rng`]).
    pub fn generate_with_rng(rng: &mut impl CryptoRng) -> Self {
        let mut symbols = [0u8; LEN];
        for s in symbols.iter_mut().take(DATA_LEN) {
            // 5 uniform bits: the low bits of a uniform byte.
            let mut byte = [0u8; 1];
            rng.fill_bytes(&mut byte);
            *s = byte[0] & 31;
            byte.zeroize();
        }
        symbols[DATA_LEN] = check_symbol(&symbols[..DATA_LEN]);
        Self(symbols)
    }

    /// Reads a code as typed by a person. See the module docs for what is forgiven.
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        let mut symbols = Zeroizing::new([0u8; LEN]);
        let mut found = 0usize;
        for ch in text.chars() {
            let ch = fold_width(ch);
            if ch.is_whitespace() || matches!(ch, '-' | '_' | '.' | '·' | '—' | '–') {
                continue;
            }
            let value = symbol_value(ch).ok_or(CodeError::InvalidCharacter {
                ch,
                position: found + 1,
            })?;
            if found < LEN {
                symbols[found] = value;
            }
            found += 1;
        }
        match found {
            0 => Err(CodeError::Empty),
            n if n < LEN => Err(CodeError::TooShort { found: n }),
            n if n > LEN => Err(CodeError::TooLong { found: n }),
            _ if weighted_sum(&symbols[..]) != 0 => Err(CodeError::Typo),
            _ => Ok(Self(*symbols)),
        }
    }

    /// The code as five groups of four, for showing to the reporter: `7K3Q-M9XD-2HTV-P4WB-RG6E`.
    pub fn expose_grouped(&self) -> Zeroizing<String> {
        let mut out = String::with_capacity(LEN + LEN / GROUP_LEN);
        for (i, &s) in self.0.iter().enumerate() {
            if i > 0 && i % GROUP_LEN == 0 {
                out.push('-');
            }
            out.push(char::from(ALPHABET[usize::from(s)]));
        }
        Zeroizing::new(out)
    }

    /// The canonical form (20 symbols, upper case, no separators): the input of key derivation.
    pub(crate) fn canonical(&self) -> Zeroizing<[u8; LEN]> {
        let mut out = Zeroizing::new([0u8; LEN]);
        for (o, &s) in out.iter_mut().zip(self.0.iter()) {
            *o = ALPHABET[usize::from(s)];
        }
        out
    }
}

impl Drop for InquiryCode {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for InquiryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InquiryCode(<redacted>)")
    }
}

/// Checks a partly typed code as the reporter types it: `Ok(None)` while it is still too short to
/// judge, `Ok(Some(code))` when complete and valid, `Err` as soon as something is certainly wrong.
pub fn check_as_typed(text: &str) -> Result<Option<InquiryCode>, CodeError> {
    match InquiryCode::parse(text) {
        Ok(code) => Ok(Some(code)),
        Err(CodeError::Empty | CodeError::TooShort { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Maps full-width ASCII forms (U+FF01..U+FF5E, typed by Chinese input methods) and the
/// ideographic space to ASCII.
fn fold_width(ch: char) -> char {
    match ch {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
        '\u{3000}' => ' ',
        _ => ch,
    }
}

fn symbol_value(ch: char) -> Option<u8> {
    let upper = match ch.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        c => c,
    };
    ALPHABET
        .iter()
        .position(|&a| char::from(a) == upper)
        .map(|p| p as u8)
}

/// Multiplication in GF(2^5) modulo x^5 + x^2 + 1.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0x20 != 0 {
            a ^= 0b10_0101;
        }
    }
    product
}

/// `sum(a^(n-1-i) * x_i)` over the given symbols, with `a = 2` (primitive for this polynomial).
fn weighted_sum(symbols: &[u8]) -> u8 {
    // Horner's rule: ((x0 * a + x1) * a + x2) ...
    symbols.iter().fold(0u8, |acc, &x| gf_mul(acc, 2) ^ x)
}

/// The check symbol that makes `data` followed by it sum to zero.
fn check_symbol(data: &[u8]) -> u8 {
    // sum(data) * a + c = 0  =>  c = sum(data) * a  (characteristic 2: minus is plus).
    gf_mul(weighted_sum(data), 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code_from_data(data: [u8; DATA_LEN]) -> InquiryCode {
        let mut symbols = [0u8; LEN];
        symbols[..DATA_LEN].copy_from_slice(&data);
        symbols[DATA_LEN] = check_symbol(&data);
        InquiryCode(symbols)
    }

    fn data_strategy() -> impl Strategy<Value = [u8; DATA_LEN]> {
        proptest::array::uniform19(0u8..32)
    }

    #[test]
    fn two_is_primitive_so_all_weights_differ() {
        let mut seen = std::collections::HashSet::new();
        let mut w = 1u8;
        for _ in 0..31 {
            assert!(seen.insert(w), "weight repeated");
            w = gf_mul(w, 2);
        }
        assert_eq!(w, 1);
    }

    #[test]
    fn generated_codes_are_valid_and_grouped() {
        let code = InquiryCode::generate();
        let text = code.expose_grouped();
        assert_eq!(text.len(), 24);
        assert_eq!(text.matches('-').count(), 4);
        assert_eq!(InquiryCode::parse(&text).unwrap(), code);
        assert_eq!(format!("{code:?}"), "InquiryCode(<redacted>)");
    }

    #[test]
    fn forgiving_input() {
        let code = InquiryCode::generate();
        let text = code.expose_grouped().to_lowercase();
        let spaced = text.replace('-', "  ");
        assert_eq!(InquiryCode::parse(&spaced).unwrap(), code);
        let fullwidth: String = text
            .chars()
            .map(|c| {
                if c == '-' {
                    '－'
                } else {
                    char::from_u32(c as u32 + 0xFEE0).unwrap()
                }
            })
            .collect();
        assert_eq!(InquiryCode::parse(&fullwidth).unwrap(), code);
        let with_lookalikes = code.expose_grouped().replace('0', "o").replace('1', "l");
        assert_eq!(InquiryCode::parse(&with_lookalikes).unwrap(), code);
    }

    #[test]
    fn clear_errors() {
        assert_eq!(InquiryCode::parse(" - "), Err(CodeError::Empty));
        assert_eq!(
            InquiryCode::parse("ABCD-EF"),
            Err(CodeError::TooShort { found: 6 })
        );
        assert_eq!(
            InquiryCode::parse("ABCD-EFU"),
            Err(CodeError::InvalidCharacter {
                ch: 'U',
                position: 7
            })
        );
        let long = format!("{}A", InquiryCode::generate().expose_grouped().as_str());
        assert_eq!(
            InquiryCode::parse(&long),
            Err(CodeError::TooLong { found: 21 })
        );
        assert_eq!(check_as_typed("ABCD"), Ok(None));
        assert!(matches!(
            check_as_typed("ABCU"),
            Err(CodeError::InvalidCharacter { .. })
        ));
    }

    proptest! {
        #[test]
        fn format_parse_round_trip(data in data_strategy()) {
            let code = code_from_data(data);
            prop_assert_eq!(InquiryCode::parse(&code.expose_grouped()).unwrap(), code);
        }

        #[test]
        fn every_single_substitution_is_caught(data in data_strategy()) {
            let code = code_from_data(data);
            for pos in 0..LEN {
                for v in 0..32u8 {
                    if v == code.0[pos] { continue; }
                    let mut wrong = code.0;
                    wrong[pos] = v;
                    let text: String = wrong.iter().map(|&s| char::from(ALPHABET[usize::from(s)])).collect();
                    prop_assert_eq!(InquiryCode::parse(&text), Err(CodeError::Typo));
                }
            }
        }

        #[test]
        fn every_adjacent_swap_is_caught(data in data_strategy()) {
            let code = code_from_data(data);
            for pos in 0..LEN - 1 {
                if code.0[pos] == code.0[pos + 1] { continue; }
                let mut swapped = code.0;
                swapped.swap(pos, pos + 1);
                let text: String = swapped.iter().map(|&s| char::from(ALPHABET[usize::from(s)])).collect();
                prop_assert_eq!(InquiryCode::parse(&text), Err(CodeError::Typo));
            }
        }
    }
}
