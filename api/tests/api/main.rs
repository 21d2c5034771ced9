//! The intake API's integration tests: one binary, a [`TestApp`] builder.
//!
//! - `handlers`: `oneshot` requests against the router (errors, headers, static files).
//! - `journey`: the real server on port 0: filing, lookups, the desk feed, follow-ups, replies.
//! - `process`: the real `cluebox` binary: privacy of its data directory and logs, durability
//!   when killed mid-load, export bundles.

mod abuse;
mod fuzz_inputs;
mod handlers;
mod journey;
mod process;
mod store;
mod uploads;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use cluebox_api::config::Config;
use cluebox_api::state::AppState;
use cluebox_protocol::code::InquiryCode;
use cluebox_protocol::derive::{Argon2Params, ReporterKeys, derive};
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::keys::PublicKey;
use cluebox_protocol::letter::{Answer, FieldAnswer, Letter, Report, SectionAnswers};
use cluebox_protocol::profile::PublicProfile;
use cluebox_protocol::wire::{API_VERSION, IdempotencyKey, SubmitReport};
use serde_json::{Value, json};

/// Cheap Argon2 for tests that file many reports; the construction is the same.
pub(crate) const FAST_ARGON: Argon2Params = Argon2Params {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// A server state in a temporary directory, with a small static site.
pub(crate) struct TestApp {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) state: AppState,
    pub(crate) desk_token: String,
}

impl TestApp {
    pub(crate) fn new() -> Self {
        Self::with_profile("12337")
    }

    pub(crate) fn with_profile(profile: &str) -> Self {
        Self::with_config(|config| config.profile = profile.into())
    }

    /// A real (not demo) deployment: an office key, secrets outside the data directory, a
    /// configured desk token (the demo one's value, so helpers work alike).
    pub(crate) fn with_office_key() -> Self {
        Self::with_config(|config| {
            let dir = config.data_dir.parent().unwrap().to_owned();
            std::fs::create_dir_all(&config.data_dir).unwrap();
            let token = "a-configured-desk-token-for-tests";
            std::fs::write(config.data_dir.join("demo-desk-token"), token).unwrap();
            config.recipients = Some(cluebox_protocol::profile::Recipients {
                national: vec![cluebox_protocol::keys::SecretKey::generate().public_key()],
                regions: Default::default(),
            });
            config.secrets_dir = Some(dir.join("secrets"));
            config.desk_token_hashes = vec![cluebox_api::secrets::desk_token_hash(token)];
        })
    }

    /// A demo deployment with these flood settings.
    pub(crate) fn with_flood(flood: cluebox_api::config::FloodSettings) -> Self {
        Self::with_config(|config| config.flood = flood)
    }

    /// A demo deployment whose data directory is `data` (a small file system, say).
    pub(crate) fn with_data_dir(data: &Path, flood: cluebox_api::config::FloodSettings) -> Self {
        let data = data.to_owned();
        Self::with_config(move |config| {
            config.data_dir = data;
            config.flood = flood;
        })
    }

    /// A demo deployment with these limits (short timeouts for the abuse tests).
    pub(crate) fn with_limits(limits: cluebox_api::config::Limits) -> Self {
        Self::with_config(|config| config.limits = limits)
    }

    fn with_config(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        write_site(&site);
        let mut config = Config {
            data_dir: dir.path().join("data"),
            site_dir: site,
            // One loopback client files many reports; the flood tests set their own.
            flood: relaxed_flood(),
            ..Config::default()
        };
        adjust(&mut config);
        let state = cluebox_api::build_state(&config).unwrap();
        let desk_token = std::fs::read_to_string(config.data_dir.join("demo-desk-token"))
            .unwrap()
            .trim()
            .to_owned();
        Self {
            dir,
            state,
            desk_token,
        }
    }

    pub(crate) fn router(&self) -> axum::Router {
        cluebox_api::router(self.state.clone())
    }

    /// Starts the real server on a free port; returns its base URL. It stops with the runtime.
    pub(crate) async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = self.state.clone();
        tokio::spawn(async move {
            cluebox_api::launch(listener, state, std::future::pending())
                .await
                .unwrap();
        });
        format!("http://{addr}")
    }

    /// The demo office key the server made (demo mode keeps its private half in the data
    /// directory).
    pub(crate) fn demo_office_key(&self) -> cluebox_protocol::keys::SecretKey {
        let text = std::fs::read_to_string(self.dir.path().join("data/demo-office.key")).unwrap();
        cluebox_protocol::keys::SecretKey::from_secret_text(&text).unwrap()
    }

    pub(crate) fn profile(&self) -> PublicProfile {
        self.state.profile.clone()
    }
}

/// Flood settings for tests that are not about floods: no proof of work, no per-client limit
/// worth the name.
pub(crate) fn relaxed_flood() -> cluebox_api::config::FloodSettings {
    cluebox_api::config::FloodSettings {
        pow_bits: 0,
        submissions_per_client_per_minute: 1_000_000,
        lookups_per_client_per_minute: 1_000_000,
        ..Default::default()
    }
}

/// A minimal portal: two app pages with Trunk's inline bootstrap, a hashed script, a large
/// stylesheet (compressed), a worker loader.
pub(crate) fn write_site(site: &Path) {
    std::fs::create_dir_all(site).unwrap();
    for (page, title) in [("report.html", "举报"), ("status.html", "查询")] {
        std::fs::write(
            site.join(page),
            format!("<!doctype html><head><title>{title}</title><!--cluebox:page--><script type=module>import('/app-0123456789abcdef.js')</script><!--cluebox:worker-prefetch--></head><body><main id=fallback><!--cluebox:fallback--></main></body>"),
        )
        .unwrap();
    }
    std::fs::write(
        site.join("app-0123456789abcdef.js"),
        "console.log('hello');\n".repeat(100),
    )
    .unwrap();
    std::fs::write(
        site.join("style.css"),
        "body { color: black; }\n".repeat(200),
    )
    .unwrap();
    std::fs::write(
        site.join("cluebox-sealer_loader.js"),
        r#"importScripts("./cluebox-sealer-0123456789abcdef.js");wasm_bindgen("./cluebox-sealer-0123456789abcdef_bg.wasm");"#,
    )
    .unwrap();
}

/// A reporter: an inquiry code and what it derives.
pub(crate) struct Reporter {
    pub(crate) code: InquiryCode,
    pub(crate) keys: ReporterKeys,
}

impl Reporter {
    pub(crate) fn new(profile: &PublicProfile) -> Self {
        let code = InquiryCode::generate();
        let keys = derive(&code, &FAST_ARGON, &profile.profile.argon2_salt).unwrap();
        Self { code, keys }
    }

    pub(crate) fn token_b64(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.keys.lookup_token.as_bytes())
    }

    /// A sealed 12337 report whose description is `text`.
    pub(crate) fn report(&self, recipients: &[PublicKey], text: &str) -> SubmitReport {
        let letter = Letter::Report(Report {
            profile: "12337".into(),
            locale: "zh-CN".into(),
            reply_key: self.keys.reply_public(),
            sections: vec![SectionAnswers {
                id: "situation".into(),
                fields: vec![
                    FieldAnswer {
                        id: "what".into(),
                        answer: Answer::Given(text.into()),
                    },
                    FieldAnswer {
                        id: "harm".into(),
                        answer: Answer::Unclear,
                    },
                ],
            }],
        });
        SubmitReport {
            v: API_VERSION,
            sealed: cluebox_protocol::wire::Sealed(
                envelope::seal(recipients, &letter.to_bytes(), REPORT_LIMIT).unwrap(),
            ),
            lookup_token: self.keys.lookup_token.clone(),
            idempotency_key: IdempotencyKey::generate(),
            pow: None,
            files: Vec::new(),
        }
    }

    /// A sealed follow-up on this reporter's case, as the status page sends it.
    pub(crate) fn follow_up(
        &self,
        recipients: &[PublicKey],
        text: &str,
    ) -> cluebox_protocol::wire::FollowUpRequest {
        let mut to = recipients.to_vec();
        to.push(self.keys.reply_public());
        let letter = Letter::FollowUp(cluebox_protocol::letter::Note { text: text.into() });
        cluebox_protocol::wire::FollowUpRequest {
            v: API_VERSION,
            lookup_token: self.keys.lookup_token.clone(),
            sealed: cluebox_protocol::wire::Sealed(
                envelope::seal_from(
                    &self.keys.reply_secret,
                    &to,
                    &letter.to_bytes(),
                    REPORT_LIMIT,
                )
                .unwrap(),
            ),
            idempotency_key: IdempotencyKey::generate(),
            pow: None,
            files: Vec::new(),
        }
    }

    pub(crate) fn inquiry(&self) -> Value {
        json!({ "v": API_VERSION, "lookup_token": self.token_b64() })
    }
}

/// Every file under `dir`, recursively.
pub(crate) fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Whether any file under `dir` contains `needle`.
pub(crate) fn dir_contains(dir: &Path, needle: &[u8]) -> Option<PathBuf> {
    files_under(dir).into_iter().find(|f| {
        std::fs::read(f)
            .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            .unwrap_or(false)
    })
}
