//! The Cluebox case desk (`cluebox-desk`), for staff in the confidential intranet. It alone holds
//! the office private keys. It takes sealed items in from the intake API (`pull`) or from an
//! export bundle (`import`, for an air-gapped desk), opens them, keeps the cases in its own
//! database, and records every action in a hash-chained audit log.
//!
//! It must never send plaintext, names or notes to the API: what goes out is public status and
//! replies sealed to the reporter's key.

pub mod audit;
pub mod cases;
pub mod db;
pub mod intake;
pub mod keyfile;
pub mod phone;
pub mod repeats;
pub mod reports;
pub mod sync;
pub mod workflow;

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The profiles that ship with Cluebox, for labels and deadlines.
pub fn builtin_profile(id: &str) -> Option<cluebox_protocol::profile::Profile> {
    let text = match id {
        "12337" => include_str!("../../profiles/12337.toml"),
        "12389" => include_str!("../../profiles/12389.toml"),
        _ => return None,
    };
    toml_profile(text)
}

fn toml_profile(text: &str) -> Option<cluebox_protocol::profile::Profile> {
    toml::from_str(text).ok()
}
