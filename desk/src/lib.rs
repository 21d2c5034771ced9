//! The Cluebox case desk (`cluebox-desk`), for staff in the confidential intranet. It alone holds
//! the office private keys. It takes sealed items in from the intake API (`pull`) or from an
//! export bundle (`import`, for an air-gapped desk), opens them, keeps the cases in its own
//! database, and records every action in a hash-chained audit log.
//!
//! It must never send plaintext, names or notes to the API: what goes out is public status and
//! replies sealed to the reporter's key.

pub mod audit;
pub mod bundle;
pub mod cases;
pub mod db;
pub mod evidence;
pub mod intake;
pub mod keyfile;
pub mod operator;
pub mod phone;
pub mod poster;
pub mod procedure;
pub mod remote;
pub mod repeats;
pub mod reports;
pub mod staff;
pub mod sync;
pub mod text;
pub mod web;
pub mod workflow;

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The hotline profiles the desk knows: files given with `--profile`, then the two that ship
/// with Cluebox. Labels, deadlines and the field list come from here.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    files: Vec<cluebox_protocol::profile::Profile>,
}

impl Profiles {
    /// Reads and checks profile files.
    pub fn load(paths: &[std::path::PathBuf]) -> anyhow::Result<Self> {
        let mut files = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("cannot read the profile {}: {e}", path.display()))?;
            let profile: cluebox_protocol::profile::Profile = toml::from_str(&text)
                .map_err(|e| anyhow::anyhow!("the profile {} is not valid: {e}", path.display()))?;
            profile.validate()?;
            files.push(profile);
        }
        Ok(Self { files })
    }

    /// The profile with this id.
    pub fn get(&self, id: &str) -> Option<cluebox_protocol::profile::Profile> {
        if let Some(p) = self.files.iter().find(|p| p.id == id) {
            return Some(p.clone());
        }
        let text = match id {
            "12337" => include_str!("../../profiles/12337.toml"),
            "12389" => include_str!("../../profiles/12389.toml"),
            _ => return None,
        };
        toml::from_str(text).ok()
    }
}
