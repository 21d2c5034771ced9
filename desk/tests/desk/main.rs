//! The desk's command line against a real intake API: keys, transfer (pull, import, audit),
//! the handling procedure and staff accounts. One test binary; this file holds the shared helpers.

mod evidence;
mod keys;
mod poster;
mod procedure;
mod staff;
mod tls;
mod transfer;
mod web;

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use cluebox_protocol::code::InquiryCode;
use cluebox_protocol::derive::{Argon2Params, derive};
use cluebox_protocol::envelope::{self, REPORT_LIMIT};
use cluebox_protocol::keys::PublicKey;
use cluebox_protocol::letter::{
    Answer, FieldAnswer, Letter, Note, Reply, Report, SectionAnswers, StatusNote,
};
use cluebox_protocol::profile::Recipients;
use cluebox_protocol::wire::{API_VERSION, FollowUpRequest, IdempotencyKey, Sealed, SubmitReport};

fn desk(db: &Path) -> Command {
    let mut cmd = Command::cargo_bin("cluebox-desk").unwrap();
    cmd.env_clear()
        .env("CLUEBOX_DESK_DB", db)
        .env("CLUEBOX_DESK_ACTOR", "tester");
    cmd
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn keygen(dir: &Path, name: &str, passphrase: Option<&str>) -> (std::path::PathBuf, PublicKey) {
    let path = dir.join(name);
    let mut cmd = desk(&dir.join("unused.sqlite3"));
    if let Some(p) = passphrase {
        cmd.env("CLUEBOX_DESK_PASSPHRASE", p);
    }
    let out = cmd.args(["keygen", "--out"]).arg(&path).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let pk = stdout(&out).trim().parse().unwrap();
    (path, pk)
}

/// A running API whose national recipient is `office`.
struct Api {
    base: String,
    /// A file holding the desk token.
    token: std::path::PathBuf,
    /// The server's data directory.
    data: std::path::PathBuf,
    _dir: tempfile::TempDir,
    state: cluebox_api::state::AppState,
}

async fn api(office: &PublicKey) -> Api {
    serve_api(office, None, test_flood(0)).await
}

/// Flood settings for tests: one loopback client files many reports; `pow_bits` of work each.
fn test_flood(pow_bits: u8) -> cluebox_api::config::FloodSettings {
    cluebox_api::config::FloodSettings {
        pow_bits,
        submissions_per_client_per_minute: 100_000,
        lookups_per_client_per_minute: 100_000,
        ..Default::default()
    }
}

/// [`api`] over HTTPS with this certificate and key, at `https://localhost:PORT`.
async fn api_with_tls(office: &PublicKey, cert: &Path, key: &Path) -> Api {
    serve_api(
        office,
        Some(cluebox_api::serve::tls_acceptor(cert, key).unwrap()),
        test_flood(0),
    )
    .await
}

async fn serve_api(
    office: &PublicKey,
    tls: Option<tokio_rustls::TlsAcceptor>,
    flood: cluebox_api::config::FloodSettings,
) -> Api {
    let dir = tempfile::tempdir().unwrap();
    let token = cluebox_api::secrets::new_desk_token();
    let token_file = dir.path().join("desk-token");
    std::fs::write(&token_file, token.as_bytes()).unwrap();
    let config = cluebox_api::config::Config {
        data_dir: dir.path().join("data"),
        secrets_dir: Some(dir.path().join("secrets")),
        site_dir: dir.path().join("no-site"),
        recipients: Some(Recipients {
            national: vec![office.clone()],
            regions: Default::default(),
        }),
        desk_token_hashes: vec![cluebox_api::secrets::desk_token_hash(&token)],
        flood,
        log: "warn".into(),
        ..Default::default()
    };
    let state = cluebox_api::build_state(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let base = match tls {
        Some(_) => format!("https://localhost:{port}"),
        None => format!("http://127.0.0.1:{port}"),
    };
    let serving = state.clone();
    tokio::spawn(async move {
        cluebox_api::launch_with(listener, serving, tls, std::future::pending()).await
    });
    Api {
        base,
        token: token_file,
        data: dir.path().join("data"),
        _dir: dir,
        state,
    }
}

const FAST: Argon2Params = Argon2Params {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

/// Files a report whose "what happened" is `what` (the rest blank); returns its code.
async fn file(api: &Api, office: &PublicKey, what: &str) -> InquiryCode {
    file_as(api, office, what, false).await
}

/// Files a report, anonymous or under a real name.
async fn file_as(api: &Api, office: &PublicKey, what: &str, real_name: bool) -> InquiryCode {
    let identity = if real_name { "real_name" } else { "anonymous" };
    file_full(api, office, what, &[("identity", identity)], None).await
}

/// Files a report with these reporter fields (`identity`, `name`, ...) and, if given, the
/// region of who is reported; then a follow-up.
async fn file_full(
    api: &Api,
    office: &PublicKey,
    what: &str,
    reporter: &[(&str, &str)],
    region: Option<&str>,
) -> InquiryCode {
    let given = |fields: &[(&str, &str)]| {
        fields
            .iter()
            .map(|(id, value)| FieldAnswer {
                id: (*id).into(),
                answer: Answer::Given((*value).into()),
            })
            .collect::<Vec<_>>()
    };
    let code = InquiryCode::generate();
    let keys = derive(&code, &FAST, "cn-12337").unwrap();
    let mut report = Report {
        profile: "12337".into(),
        locale: "zh-CN".into(),
        reply_key: keys.reply_public(),
        sections: vec![
            SectionAnswers {
                id: "reporter".into(),
                fields: given(reporter),
            },
            SectionAnswers {
                id: "situation".into(),
                fields: vec![
                    FieldAnswer {
                        id: "category".into(),
                        answer: Answer::Given("village_tyrant".into()),
                    },
                    FieldAnswer {
                        id: "what".into(),
                        answer: Answer::Given(what.into()),
                    },
                    FieldAnswer {
                        id: "harm".into(),
                        answer: Answer::Unclear,
                    },
                ],
            },
        ],
    };
    if let Some(region) = region {
        report.sections.insert(
            1,
            SectionAnswers {
                id: "reported".into(),
                fields: given(&[("region", region)]),
            },
        );
    }
    let letter = Letter::Report(report);
    let body = SubmitReport {
        v: API_VERSION,
        sealed: Sealed(
            envelope::seal(
                std::slice::from_ref(office),
                &letter.to_bytes(),
                REPORT_LIMIT,
            )
            .unwrap(),
        ),
        lookup_token: keys.lookup_token.clone(),
        idempotency_key: IdempotencyKey::generate(),
        pow: None,
        files: Vec::new(),
    };
    let res = reporter_http()
        .post(format!("{}/api/v1/reports", api.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let note = Letter::FollowUp(Note {
        text: format!("补充：{what}"),
    });
    // As the status page does: sealed with the key the code derives.
    let follow = FollowUpRequest {
        v: API_VERSION,
        lookup_token: keys.lookup_token.clone(),
        sealed: Sealed(
            envelope::seal_from(
                &keys.reply_secret,
                &[office.clone(), keys.reply_public()],
                &note.to_bytes(),
                REPORT_LIMIT,
            )
            .unwrap(),
        ),
        idempotency_key: IdempotencyKey::generate(),
        pow: None,
        files: Vec::new(),
    };
    let res = reporter_http()
        .post(format!("{}/api/v1/inquiries/follow-ups", api.base))
        .json(&follow)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    code
}

/// What the tests' reporters file with: the test server's own certificate is not what this
/// client checks (the desk's checks are under test, not the reporter's browser's).
fn reporter_http() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap()
}

/// `cluebox-desk --key KEYS pull` against `api`, off the async runtime the API runs on.
async fn pull(db: &Path, keys: &str, api: &Api) -> Output {
    let (db, keys, token, base) = (
        db.to_owned(),
        keys.to_owned(),
        api.token.clone(),
        api.base.clone(),
    );
    tokio::task::spawn_blocking(move || {
        desk(&db)
            .args(["--key", &keys, "pull", "--server", &base, "--token-file"])
            .arg(&token)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}
