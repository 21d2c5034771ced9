//! Checks of what a reporter types, run as they type. A blank is always fine ("unclear"); only
//! something typed can be wrong.

use cluebox_protocol::profile::{Field, FieldKind};

use crate::i18n::{Text, fill};

/// Weights of the GB 11643-1999 check digit (ISO 7064 MOD 11-2).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK: &[u8; 11] = b"10X98765432";

/// Why an ID number is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    /// Not 17 digits and a digit or X.
    Shape,
    /// The check digit does not match.
    Check,
}

/// Checks an 18-character resident identity number (GB 11643): shape and check digit.
pub fn resident_id(text: &str) -> Result<(), IdError> {
    let bytes = text.trim().as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Err(IdError::Shape);
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(ID_WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let expected = ID_CHECK[(sum % 11) as usize];
    if bytes[17].to_ascii_uppercase() == expected {
        Ok(())
    } else {
        Err(IdError::Check)
    }
}

/// A mainland mobile number: 11 digits starting with 1.
pub fn mobile(text: &str) -> bool {
    let t = text.trim();
    t.len() == 11 && t.starts_with('1') && t.bytes().all(|b| b.is_ascii_digit())
}

/// The problem with a field's value, in the reporter's language, if any.
pub fn field_problem(field: &Field, value: &str, t: &Text) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.chars().count() > field.max_len as usize {
        return Some(fill(t.too_long, &[("n", &field.max_len.to_string())]));
    }
    match field.kind {
        FieldKind::IdNumber => match resident_id(value) {
            Ok(()) => None,
            Err(IdError::Shape) => Some(t.id_invalid_length.to_owned()),
            Err(IdError::Check) => Some(t.id_invalid_check.to_owned()),
        },
        FieldKind::Mobile if !mobile(value) => Some(t.mobile_invalid.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids() {
        // The standard's worked example, and one whose check character is X.
        assert_eq!(resident_id("11010519491231002X"), Ok(()));
        assert_eq!(resident_id("11010519491231002x"), Ok(()));
        assert_eq!(resident_id("440524188001010014"), Ok(()));
        assert_eq!(resident_id("440524188001010015"), Err(IdError::Check));
        assert_eq!(resident_id("44052418800101001"), Err(IdError::Shape));
        assert_eq!(resident_id("4405241880010100AB"), Err(IdError::Shape));
    }

    #[test]
    fn mobiles() {
        assert!(mobile("13800138000"));
        assert!(!mobile("23800138000"));
        assert!(!mobile("1380013800"));
    }
}
