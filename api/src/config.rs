//! The server's configuration: one typed struct, read once in `main` from an optional TOML file
//! and `CLUEBOX_*` environment variables (the environment wins), then validated.
//!
//! Every field has a default, so `cluebox` with no arguments and no file runs a demo: SQLite in
//! `./data`, the 12337 profile, 127.0.0.1:8080, demo keys made on first start (see
//! [`crate::secrets`]). `docs/cluebox.sample.toml` documents every field.
//!
//! Nested fields in the environment use a double underscore: `CLUEBOX_LISTEN=0.0.0.0:80`,
//! `CLUEBOX_RECIPIENTS__NATIONAL='["cbxpk1..."]'`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cluebox_protocol::profile::{Profile, Recipients};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything the server can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// Where the database lives (created if missing).
    pub data_dir: PathBuf,
    /// Where the server's own secrets live (signing key, token-hash key). Defaults to
    /// `<data_dir>/secrets`; put it on another volume to keep it out of database backups.
    pub secrets_dir: Option<PathBuf>,
    /// The built portal (Trunk's `dist/`). If it does not exist, `public/` is served.
    pub site_dir: PathBuf,
    /// A built-in profile (`12337`, `12389`) or the path of a profile TOML file.
    pub profile: String,
    /// Office public keys. Absent: a demo office key is made on first start (demo only).
    pub recipients: Option<Recipients>,
    /// SHA-256 (hex) of each desk bearer token; `cluebox desk-token` makes one. Empty: a demo
    /// token is made on first start.
    pub desk_token_hashes: Vec<String>,
    /// The address people reach the portal at (for the landing page's QR code). Default:
    /// `http://` and the listen address.
    pub public_url: Option<String>,
    /// Send `Strict-Transport-Security` (turn off only for plain-HTTP local testing).
    pub hsts: bool,
    /// Log filter (`info`, `cluebox_api=debug`, ...). Logs never carry addresses or report data.
    pub log: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            secrets_dir: None,
            site_dir: PathBuf::from("dist"),
            profile: "12337".into(),
            recipients: None,
            desk_token_hashes: Vec::new(),
            public_url: None,
            hsts: true,
            log: "info".into(),
        }
    }
}

/// The two profiles that ship with Cluebox.
const BUILTIN_PROFILES: [(&str, &str); 2] = [
    ("12337", include_str!("../../profiles/12337.toml")),
    ("12389", include_str!("../../profiles/12389.toml")),
];

impl Config {
    /// Defaults, then the TOML file (if given), then `CLUEBOX_*` variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                anyhow::bail!("the config file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        figment = figment.merge(Env::prefixed("CLUEBOX_").ignore(&["CONFIG"]).split("__"));
        figment
            .extract()
            .map_err(|e| anyhow::anyhow!("the configuration is invalid: {e}"))
    }

    /// The portal's public address, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// The secrets directory.
    pub fn secrets_dir(&self) -> PathBuf {
        self.secrets_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("secrets"))
    }

    /// Reads and checks the configured profile.
    pub fn load_profile(&self) -> anyhow::Result<Profile> {
        let text = match BUILTIN_PROFILES.iter().find(|(id, _)| *id == self.profile) {
            Some((_, text)) => (*text).to_owned(),
            None => std::fs::read_to_string(&self.profile).map_err(|e| {
                anyhow::anyhow!(
                    "profile {:?} is neither a built-in profile (12337, 12389) nor a readable file: {e}",
                    self.profile
                )
            })?,
        };
        let profile: Profile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("profile {:?} is not valid: {e}", self.profile))?;
        profile.validate()?;
        Ok(profile)
    }

    /// Checks what the types cannot: keys present when recipients are configured, token hashes
    /// well formed, regions known to the profile.
    pub fn validate(&self, profile: &Profile) -> anyhow::Result<()> {
        if let Some(recipients) = &self.recipients {
            if recipients.national.is_empty() {
                anyhow::bail!(
                    "recipients.national is empty: every report needs at least one office public key \
                     (make one with `cluebox-desk keygen` and paste its cbxpk1... line)"
                );
            }
            for region in recipients.regions.keys() {
                if !profile.regions.iter().any(|r| &r.id == region) {
                    anyhow::bail!(
                        "recipients.regions names region {region:?}, which profile {} does not have",
                        profile.id
                    );
                }
            }
        }
        for hash in &self.desk_token_hashes {
            if hash.len() != 64 || hex::decode(hash).is_err() {
                anyhow::bail!(
                    "desk_token_hashes must hold 64-hex-digit SHA-256 hashes (from `cluebox desk-token`), found {hash:?}"
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_profiles_load_and_validate() {
        for (id, _) in BUILTIN_PROFILES {
            let config = Config {
                profile: id.into(),
                ..Config::default()
            };
            let profile = config.load_profile().unwrap();
            assert_eq!(profile.id, id);
        }
    }

    #[test]
    fn twelve_three_eight_nine_has_its_nine_categories() {
        let config = Config {
            profile: "12389".into(),
            ..Config::default()
        };
        let profile = config.load_profile().unwrap();
        assert_eq!(profile.categories.len(), 9);
        assert_eq!(profile.deadlines.handle_days, Some(30));
    }

    #[test]
    fn a_profile_file_loads_by_path() {
        let config = Config {
            profile: concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../profiles/eu-whistleblowing.toml"
            )
            .into(),
            ..Config::default()
        };
        let profile = config.load_profile().unwrap();
        assert_eq!(profile.deadlines.acknowledge_days, Some(7));
        assert_eq!(profile.deadlines.feedback_days, Some(90));
    }

    #[test]
    fn unknown_profile_is_a_clear_error() {
        let config = Config {
            profile: "99999".into(),
            ..Config::default()
        };
        let err = config.load_profile().unwrap_err().to_string();
        assert!(err.contains("neither a built-in profile"), "{err}");
    }

    #[test]
    fn the_sample_config_is_the_defaults() {
        let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/cluebox.sample.toml");
        let loaded = Config::load(Some(Path::new(sample))).unwrap();
        let defaults = Config::default();
        assert_eq!(loaded.listen, defaults.listen);
        assert_eq!(loaded.data_dir, defaults.data_dir);
        assert_eq!(loaded.profile, defaults.profile);
        assert!(loaded.recipients.is_none() && loaded.desk_token_hashes.is_empty());
    }

    #[test]
    fn empty_national_keys_are_refused() {
        let config = Config {
            recipients: Some(Recipients::default()),
            ..Config::default()
        };
        let profile = config.load_profile().unwrap();
        let err = config.validate(&profile).unwrap_err().to_string();
        assert!(err.contains("recipients.national is empty"), "{err}");
    }
}
