//! The internet-facing Cluebox server (`cluebox`): stores sealed reports, answers inquiry
//! lookups, feeds the intranet case desk, and serves the portal.
//!
//! It must hold nothing that helps someone who seizes it read a report or find a reporter: only
//! ciphertext, keyed hashes of lookup tokens, public status events and times to the day. It
//! never logs or stores an IP address, user agent or referrer, and writes no log line per
//! report, follow-up or lookup.
//!
//! Start it with [`launch`] on a listener (tests bind port 0); build the router alone with
//! [`router`] for `oneshot` tests.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use cluebox_protocol::envelope::REPORT_LIMIT;
use cluebox_protocol::profile::{PublicProfile, Recipients};
use tokio::net::TcpListener;

pub mod config;
pub mod error;
pub mod export;
pub mod extract;
pub mod flood;
pub mod headers;
pub mod landing;
pub mod limits;
pub mod routes;
pub mod secrets;
pub mod serve;
pub mod site;
pub mod state;
pub mod store;

use config::Config;
use secrets::ServerSecrets;
use state::{App, AppState};
use store::Store;
use store::sqlite::SqliteStore;

/// The whole application: API routes, static portal, strict headers, access log.
pub fn router(state: AppState) -> Router {
    let site_state = state.clone();
    routes::router()
        .fallback(move |req: axum::extract::Request| {
            let app = site_state.clone();
            async move {
                if req.uri().path().starts_with("/api/") {
                    error::for_status(axum::http::StatusCode::NOT_FOUND)
                } else {
                    app.site.respond(&req)
                }
            }
        })
        .method_not_allowed_fallback(|| async {
            error::for_status(axum::http::StatusCode::METHOD_NOT_ALLOWED)
        })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::request_limits,
        ))
        .layer(axum::middleware::from_fn(headers::access_log))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            headers::security_headers,
        ))
        .with_state(state)
}

/// The largest body (an evidence file's piece) in KiB: the body budget always holds at least one.
const MAX_BODY_KIB: usize = routes::uploads::MAX_PIECE.div_ceil(1024);

/// Builds the state from a validated config: opens the store, reads or makes secrets and (in
/// demo mode) demo keys, loads the profile and the site.
pub fn build_state(config: &Config) -> anyhow::Result<AppState> {
    let profile = config.load_profile()?;
    config.validate(&profile)?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "the data directory {} cannot be created",
            config.data_dir.display()
        )
    })?;
    check_writable(&config.data_dir)?;

    let recipients = match &config.recipients {
        Some(r) => r.clone(),
        None => {
            let (key, path) = secrets::demo_office_key(&config.data_dir)?;
            tracing::warn!(
                "DEMO MODE: no office key is configured, so reports are sealed to a demo key whose \
                 PRIVATE half is on this server ({}). Anyone who seizes this server can read them, \
                 and every page says so. For real use, run `cluebox-desk keygen` on the intranet \
                 desk and put its public key in the config: [recipients] national = \
                 [\"cbxpk1...\"], set secrets_dir outside data_dir, then delete that file.",
                path.display()
            );
            Recipients {
                national: vec![key],
                regions: Default::default(),
            }
        }
    };
    let mut desk_token_hashes: Vec<[u8; 32]> = config
        .desk_token_hashes
        .iter()
        .map(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h, &mut out).map(|()| out)
        })
        .collect::<Result<_, _>>()
        .context("desk_token_hashes")?;
    if desk_token_hashes.is_empty() {
        anyhow::ensure!(
            config.is_demo(),
            "desk_token_hashes is empty: run `cluebox desk-token` and put the printed hash in the \
             config (demo desk tokens are only made in demo mode)"
        );
        let (hash, path) = secrets::demo_desk_token(&config.data_dir)?;
        tracing::warn!(
            "DEMO MODE: no desk token is configured; a demo desk token is in {}. For real use, run \
             `cluebox desk-token` and put the printed hash in desk_token_hashes.",
            path.display()
        );
        let mut out = [0u8; 32];
        hex::decode_to_slice(hash, &mut out)?;
        desk_token_hashes.push(out);
    }

    let secrets = ServerSecrets::load_or_create(&config.secrets_dir())?;
    let sqlite = SqliteStore::open(&config.data_dir.join("cluebox.sqlite3"))?;
    let today = cluebox_protocol::wire::day_of(routes::now());
    let flood = flood::Flood::new(config.flood.clone(), sqlite.bytes_since(today)?, today);
    flood.check_space(&config.data_dir);
    let store: Arc<dyn Store> = Arc::new(sqlite);
    let site_dir = if config.site_dir.is_dir() {
        config.site_dir.clone()
    } else {
        std::path::PathBuf::from("public")
    };
    let public = PublicProfile {
        profile,
        recipients,
        server_key: secrets.verifying_key_base64(),
        max_class: REPORT_LIMIT,
        pow_bits: config.flood.pow_bits,
    };
    let site = site::Site::load(&site_dir, &public, &config.public_url(), config.is_demo())?;
    if !site.has_app() {
        tracing::warn!(
            "the portal app is not built ({} has no report.html): only the landing pages and the \
             API are served (./scripts/run.sh builds it)",
            config.site_dir.display()
        );
    }
    Ok(AppState(Arc::new(App {
        profile_json: serde_json::to_vec(&public)
            .expect("the profile serializes")
            .into(),
        profile: public,
        store,
        secrets,
        desk_token_hashes,
        site,
        hsts: config.hsts,
        limits: config.limits.clone(),
        flood: Arc::new(flood),
        data_dir: config.data_dir.clone(),
        body_budget: Arc::new(tokio::sync::Semaphore::new(
            usize::try_from(config.limits.max_buffered_body_bytes / 1024)
                .unwrap_or(usize::MAX)
                .clamp(MAX_BODY_KIB, tokio::sync::Semaphore::MAX_PERMITS),
        )),
        blobs: Arc::new(store::blobs::FsBlobs::open(
            &config.data_dir.join("uploads"),
        )?),
        uploads_busy: Default::default(),
        uploads_hashing: Default::default(),
    })))
}

fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok")
        .and_then(|()| std::fs::remove_file(&probe))
        .with_context(|| format!("the data directory {} is not writable", dir.display()))
}

/// Serves plain HTTP until `shutdown` completes, then finishes in-flight requests (the limits
/// of [`serve::serve`] apply: timeouts, connection caps).
pub async fn launch(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    launch_with(listener, state, None, shutdown).await
}

/// [`launch`], over TLS when `tls` is given.
pub async fn launch_with(
    listener: TcpListener,
    state: AppState,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits.clone();
    let watcher = tokio::spawn(flood::watch(
        Arc::clone(&state.flood),
        state.data_dir.clone(),
    ));
    let sweeper = tokio::spawn(routes::uploads::sweep_forever(state.clone()));
    let trust_header = state.flood.settings().client_address_header.is_some();
    let result = serve::serve(
        listener,
        router(state),
        tls,
        &serve::Options {
            limits,
            per_client_cap: !trust_header,
        },
        shutdown,
    )
    .await;
    watcher.abort();
    sweeper.abort();
    result
}
