//! The accept loop: TCP (or TLS) connections in, HTTP/1.1 out through the router, with the
//! limits an internet-facing server needs that `axum::serve` does not give.
//!
//! - **TLS** (rustls, ring provider) when `[tls]` names a certificate and key; a handshake must
//!   finish within the header timeout.
//! - **Header timeout**: hyper closes a connection whose request head is not complete within it,
//!   counted from when the server starts waiting for a head: that is also how long an idle
//!   keep-alive connection, or one that never sends anything, is kept.
//! - **Connection caps**: at most `max_connections` open connections in all and
//!   `max_connections_per_client` from one client address; a connection over a cap is answered
//!   with a plain 503 (HTTP) or closed (TLS) at once, so one client cannot lock out the others.
//!   Client addresses are never stored: the per-client count is keyed by a 64-bit keyed hash
//!   whose key is random per process and never written, and an entry disappears with the
//!   client's last connection.
//! - **Accept errors** (out of file descriptors under a flood) are logged once per burst and
//!   survived: the loop waits a moment and goes on.
//!
//! Body-read and whole-request timeouts, and the early 413, live in the router
//! ([`crate::limits`]), where the JSON error shape is at hand.
//!
//! This module never logs or keeps a client address.

use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::config::Limits;
use crate::flood::ClientAddr;

/// How to serve.
#[derive(Debug, Clone)]
pub struct Options {
    /// Timeouts and caps.
    pub limits: Limits,
    /// Whether to cap connections per client address (not behind a reverse proxy, where the
    /// proxy is the only client).
    pub per_client_cap: bool,
}

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

/// The answer to a connection over a cap (plain HTTP only).
const OVER_CAPACITY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
retry-after: 5\r\nconnection: close\r\ncontent-length: 90\r\n\r\n\
{\"error\":{\"code\":\"unavailable\",\"message\":\"too many connections; try again in a moment\"}}";

/// Counts open connections, in all and per client (by keyed hash).
pub struct Gate {
    max_total: u64,
    max_per_client: u32,
    total: AtomicU64,
    per_client: Mutex<HashMap<u64, u32>>,
    key: std::hash::RandomState,
}

/// An admitted connection; dropping it frees its place.
pub struct Ticket {
    gate: Arc<Gate>,
    client: u64,
}

impl Gate {
    /// A gate with these caps.
    pub fn new(limits: &Limits) -> Arc<Self> {
        Arc::new(Self {
            max_total: limits.max_connections,
            max_per_client: limits.max_connections_per_client,
            total: AtomicU64::new(0),
            per_client: Mutex::new(HashMap::new()),
            key: std::hash::RandomState::new(),
        })
    }

    /// Admits a connection from `ip`, or `None` if a cap is reached. With `per_client` off, all
    /// connections count as one client's for the total only.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, per_client: bool) -> Option<Ticket> {
        let client = if per_client { self.key.hash_one(ip) } else { 0 };
        let mut map = self
            .per_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.total.load(Ordering::Relaxed) >= self.max_total {
            return None;
        }
        let count = map.entry(client).or_insert(0);
        if per_client && *count >= self.max_per_client {
            return None;
        }
        *count += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(Ticket {
            gate: Arc::clone(self),
            client,
        })
    }

    /// Open connections now.
    pub fn open(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut map = self
            .gate
            .per_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = map.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                map.remove(&self.client);
            }
        }
        self.gate.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Raises the soft limit on open files to the hard limit, so that the connection caps, not
/// the kernel, decide when to refuse. Returns the new soft limit.
pub fn raise_file_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

/// Serves `router` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish (for up to ten seconds).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    options: &Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = &options.limits;
    let gate = Gate::new(limits);
    let header_timeout = Duration::from_secs(limits.header_timeout_secs);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut accept_errors = 0u64;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => {
                    if accept_errors > 0 {
                        tracing::warn!(failed = accept_errors, "accepting connections again");
                        accept_errors = 0;
                    }
                    accepted
                }
                Err(e) => {
                    if accept_errors == 0 {
                        tracing::error!(error = %e, "cannot accept connections (out of file descriptors?); retrying");
                    }
                    accept_errors += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(ticket) = gate.admit(peer.ip(), options.per_client_cap) else {
            refuse(stream, tls.is_some());
            continue;
        };
        let _ = stream.set_nodelay(true);
        // The peer's address reaches the per-client rate limits as a request extension, and
        // goes nowhere else.
        let client = ClientAddr(peer.ip());
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            router.clone(),
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(client);
                req
            },
        ));
        let tls = tls.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let _ticket = ticket;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .max_buf_size(64 * 1024);
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(header_timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still running {DRAIN:?} after shutdown; stopping anyway");
    }
    Ok(())
}

/// Answers a connection over a cap without waiting for it.
fn refuse(stream: TcpStream, tls: bool) {
    if !tls {
        tokio::spawn(async move {
            let mut stream = stream;
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                let _ = stream.write_all(OVER_CAPACITY).await;
                let _ = stream.shutdown().await;
            })
            .await;
        });
    }
}

/// Serves only redirects: every plain-HTTP request is answered `308` to the same path on
/// `https_base` (the public URL). For `[tls] redirect_listen`.
pub async fn serve_redirects(
    listener: TcpListener,
    https_base: String,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let options = Options {
        limits,
        per_client_cap: true,
    };
    let base = Arc::new(https_base);
    let router = Router::new().fallback(move |uri: axum::http::Uri| {
        let base = Arc::clone(&base);
        async move {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            axum::response::Redirect::permanent(&format!("{base}{path}"))
        }
    });
    serve(listener, router, None, &options, shutdown).await
}

/// A TLS acceptor from PEM files: the certificate chain and its private key.
pub fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<TlsAcceptor> {
    use anyhow::Context as _;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read the TLS certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate chain", cert.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a PEM private key from {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the TLS certificate and key do not match or are not supported")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
