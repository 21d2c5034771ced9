//! The server's configuration: one typed struct, read once in `main` from an optional TOML file
//! and `CLUEBOX_*` environment variables (the environment wins), then validated.
//!
//! Every field has a default, so `cluebox` with no arguments and no file runs a demo: SQLite in
//! `./data`, the 12337 profile, 127.0.0.1:8080, demo keys made on first start (see
//! [`crate::secrets`]). Demo keys are made only for a loopback address, or with `demo = true`
//! (`--demo`), and then every page carries a demo banner. `docs/cluebox.sample.toml` documents
//! every field.
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
    /// Where the server's own secrets live (signing key, token-hash key). Required outside
    /// demo mode, and then outside `data_dir`: a backup or copy of the data directory must not
    /// carry the token-hash key, without which the stored hashes cannot even confirm a guessed
    /// code. In demo mode it defaults to `<data_dir>/secrets`.
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
    /// Allow demo keys (made on this server, private half included) on a non-loopback
    /// address. Every page then says it is a demo. Never for real reports.
    pub demo: bool,
    /// Serve HTTPS with this certificate and key (small deployments without a reverse proxy).
    pub tls: Option<TlsSettings>,
    /// Timeouts and connection caps.
    pub limits: Limits,
    /// Proof of work, rate limits, quotas, the free-space floor.
    pub flood: FloodSettings,
}

/// `[flood]`: what keeps a flood from filling the disk or drowning real reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FloodSettings {
    /// Proof-of-work difficulty of reports and follow-ups, in leading zero bits of a SHA-256
    /// (expected work 2^bits hashes; 18 is well under a second on a slow phone, in the
    /// background). 0 turns the proof of work off.
    pub pow_bits: u8,
    /// Submissions per minute (all clients) that count as usual; each doubling above it adds a
    /// bit to new challenges.
    pub pow_usual_per_minute: u32,
    /// The most bits added under load.
    pub pow_max_extra_bits: u8,
    /// Reports and follow-ups per minute from one client address.
    pub submissions_per_client_per_minute: u32,
    /// Lookups per minute from one client address.
    pub lookups_per_client_per_minute: u32,
    /// Evidence file uploads started per minute from one client address (each also needs a
    /// proof of work).
    pub uploads_per_client_per_minute: u32,
    /// Bytes per second of submissions, all clients together (0: no ceiling).
    pub max_submission_bytes_per_sec: u64,
    /// Bytes of submissions stored per day (UTC), all clients together.
    pub daily_storage_bytes: u64,
    /// Below this many free bytes in the data directory's file system, new reports and
    /// follow-ups get 507; lookups and the desk go on.
    pub min_free_bytes: u64,
    /// Follow-ups one case may have.
    pub max_follow_ups_per_case: u32,
    /// Behind a reverse proxy: the request header holding the client address (its last
    /// entry), for example `x-forwarded-for`. Only set this when the proxy is the only way in;
    /// the per-client connection cap then no longer applies (the proxy is one client).
    pub client_address_header: Option<String>,
}

impl Default for FloodSettings {
    fn default() -> Self {
        Self {
            pow_bits: 18,
            pow_usual_per_minute: 60,
            pow_max_extra_bits: 6,
            submissions_per_client_per_minute: 10,
            lookups_per_client_per_minute: 120,
            uploads_per_client_per_minute: 60,
            max_submission_bytes_per_sec: 64 * 1024 * 1024,
            daily_storage_bytes: 16 * 1024 * 1024 * 1024,
            min_free_bytes: 1024 * 1024 * 1024,
            max_follow_ups_per_case: 200,
            client_address_header: None,
        }
    }
}

/// `[tls]`: the server's own HTTPS.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain (leaf first).
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// Also listen here for plain HTTP and answer every request with a permanent redirect to
    /// `public_url` (for example `0.0.0.0:80`).
    pub redirect_listen: Option<SocketAddr>,
}

/// `[limits]`: what one client or one request may take. Defaults suit a public server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// A request's head must arrive within this many seconds from when the server starts
    /// waiting for it; this also bounds an idle keep-alive connection, one that never sends
    /// anything, and a TLS handshake.
    pub header_timeout_secs: u64,
    /// A request's body must arrive within this many seconds (408 otherwise).
    pub body_timeout_secs: u64,
    /// A whole request must be answered within this many seconds (503 otherwise).
    pub request_timeout_secs: u64,
    /// Open connections in all.
    pub max_connections: u64,
    /// Open connections from one client address.
    pub max_connections_per_client: u32,
    /// Request bodies being received at once may hold at most this many bytes in all; a
    /// request over the budget gets 503 before its body is read. Bounds memory when many
    /// clients stall in the middle of large bodies.
    pub max_buffered_body_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            request_timeout_secs: 60,
            max_connections: 8192,
            max_connections_per_client: 256,
            max_buffered_body_bytes: 64 * 1024 * 1024,
        }
    }
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
            demo: false,
            tls: None,
            limits: Limits::default(),
            flood: FloodSettings::default(),
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

    /// Whether this server runs on demo keys (no office key configured).
    pub fn is_demo(&self) -> bool {
        self.recipients.is_none()
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
        if self.is_demo() && !self.demo && !self.listen.ip().is_loopback() {
            anyhow::bail!(
                "no office key is configured, and {} is not a loopback address: demo keys (whose \
                 private half would sit on this server) are only made for 127.0.0.1 or ::1. For \
                 real use, run `cluebox-desk keygen` on the intranet desk and put the printed \
                 cbxpk1... key in the config: [recipients] national = [\"cbxpk1...\"]. To show a \
                 demo on the network anyway, pass --demo (every page then says it is a demo).",
                self.listen
            );
        }
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
        if !self.is_demo() {
            let secrets = self.secrets_dir.as_ref().ok_or_else(|| {
                anyhow::anyhow!(
                    "secrets_dir is not set: outside demo mode the server's secrets (the token-hash \
                     key above all) must live outside data_dir, so that a backup or copy of the data \
                     directory cannot confirm a guessed inquiry code. Set secrets_dir (or \
                     CLUEBOX_SECRETS_DIR) to a directory on another volume."
                )
            })?;
            if inside(secrets, &self.data_dir) {
                anyhow::bail!(
                    "secrets_dir {} is inside data_dir {}: a backup or copy of the data directory \
                     would carry the token-hash key. Move it outside data_dir.",
                    secrets.display(),
                    self.data_dir.display()
                );
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

/// Whether `path` is `dir` or lies under it (compared after resolving both as far as they
/// exist, so `./data/../data/secrets` and symlinks do not slip through).
fn inside(path: &Path, dir: &Path) -> bool {
    fn resolve(p: &Path) -> PathBuf {
        let absolute = std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
        // Canonicalise the longest existing ancestor, keep the rest as written.
        let mut existing = absolute.clone();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name(), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name.to_owned());
                    existing = parent.to_owned();
                }
                _ => return absolute,
            }
        }
        let mut out = existing.canonicalize().unwrap_or(existing);
        for name in rest.into_iter().rev() {
            if name == ".." {
                out.pop();
            } else if name != "." {
                out.push(name);
            }
        }
        out
    }
    resolve(path).starts_with(resolve(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_keys_only_on_loopback_unless_asked() {
        let profile = Config::default().load_profile().unwrap();
        let open = Config {
            listen: "0.0.0.0:8080".parse().unwrap(),
            ..Config::default()
        };
        let err = open.validate(&profile).unwrap_err().to_string();
        assert!(
            err.contains("not a loopback address") && err.contains("--demo"),
            "{err}"
        );
        let asked = Config { demo: true, ..open };
        asked.validate(&profile).unwrap();
        Config::default().validate(&profile).unwrap();
    }

    #[test]
    fn real_keys_need_secrets_outside_the_data_directory() {
        let profile = Config::default().load_profile().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let real = Config {
            data_dir: dir.path().join("data"),
            recipients: Some(Recipients {
                national: vec![cluebox_protocol::keys::SecretKey::generate().public_key()],
                regions: Default::default(),
            }),
            ..Config::default()
        };
        let err = real.validate(&profile).unwrap_err().to_string();
        assert!(err.contains("secrets_dir is not set"), "{err}");
        for inner in ["data/secrets", "data/../data/x", "data"] {
            let c = Config {
                secrets_dir: Some(dir.path().join(inner)),
                ..real.clone()
            };
            let err = c.validate(&profile).unwrap_err().to_string();
            assert!(err.contains("is inside data_dir"), "{inner}: {err}");
        }
        let ok = Config {
            secrets_dir: Some(dir.path().join("secrets")),
            ..real
        };
        ok.validate(&profile).unwrap();
    }

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
