//! Proof of work for anonymous submissions: a small cost per report or follow-up that a person
//! never notices (the crypto worker pays it in the background while they type) and a flood pays
//! for every message.
//!
//! ```text
//! challenge   opaque bytes from GET /api/v1/challenge (the server's MAC inside; single use)
//! solution    a u64 nonce such that SHA-256("cluebox/v1 pow" || 0x00 || challenge || u64be(nonce))
//!             starts with `difficulty` zero bits
//! ```
//!
//! The expected work is `2^difficulty` hashes. The server raises the difficulty of new
//! challenges when submissions come faster than usual; the challenge says its own difficulty.
//! This module has no clock and no I/O: [`solve`] works in slices so a worker can answer
//! messages between them.

use sha2::{Digest, Sha256};

const DOMAIN: &[u8] = b"cluebox/v1 pow\0";

/// The hash a solution is judged by.
pub fn hash(challenge: &[u8], nonce: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(challenge);
    h.update(nonce.to_be_bytes());
    h.finalize().into()
}

/// Leading zero bits of `bytes`.
pub fn leading_zero_bits(bytes: &[u8]) -> u32 {
    let mut n = 0;
    for &b in bytes {
        if b == 0 {
            n += 8;
        } else {
            return n + b.leading_zeros();
        }
    }
    n
}

/// Whether `nonce` solves `challenge` at `difficulty` bits.
pub fn check(challenge: &[u8], nonce: u64, difficulty: u8) -> bool {
    leading_zero_bits(&hash(challenge, nonce)) >= u32::from(difficulty)
}

/// Tries the nonces `from .. from + tries`; the first that solves, if any.
pub fn solve(challenge: &[u8], difficulty: u8, from: u64, tries: u64) -> Option<u64> {
    // The domain and challenge are hashed once; each try clones that state.
    let mut prefix = Sha256::new();
    prefix.update(DOMAIN);
    prefix.update(challenge);
    (from..from.saturating_add(tries)).find(|nonce| {
        let mut h = prefix.clone();
        h.update(nonce.to_be_bytes());
        leading_zero_bits(&h.finalize()) >= u32::from(difficulty)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solutions_check_and_others_do_not() {
        let challenge = b"a challenge";
        let nonce = solve(challenge, 12, 0, 1 << 24).expect("2^12 expected tries");
        assert!(check(challenge, nonce, 12));
        assert!(leading_zero_bits(&hash(challenge, nonce)) >= 12);
        // The solution is for this difficulty, not a much higher one (deterministic: the
        // search above is sequential).
        assert!(!check(challenge, nonce, 40));
        // Zero difficulty: anything goes.
        assert!(check(challenge, 7, 0));
        assert_eq!(leading_zero_bits(&[0, 0, 0x10]), 19);
        assert_eq!(leading_zero_bits(&[0x80]), 0);
        assert_eq!(leading_zero_bits(&[0; 4]), 32);
    }

    #[test]
    fn solving_in_slices_finds_the_same_nonce() {
        let challenge = b"sliced";
        let whole = solve(challenge, 10, 0, 1 << 20).unwrap();
        let mut from = 0;
        let sliced = loop {
            if let Some(n) = solve(challenge, 10, from, 97) {
                break n;
            }
            from += 97;
        };
        assert_eq!(whole, sliced);
    }
}
