//! The operating system's CSPRNG (the browser's `crypto.getRandomValues` in wasm), as an RNG.
//!
//! Every secret in this crate comes from here unless a test passes its own RNG. Never replace it
//! with a seeded or non-cryptographic generator outside tests.

use hpke::rand_core::UnwrapErr;

/// The system RNG; panics only if the platform has no randomness source at all.
pub(crate) fn system() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}
