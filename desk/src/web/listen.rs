//! The web desk's accept loop: TCP (or TLS through rustls) connections in, HTTP/1.1 out
//! through the router, with the limits `axum::serve` does not give.
//!
//! - At most [`Limits::max_connections`] open at once; one over it is closed at once, so a
//!   flood of connections cannot exhaust the desk's file descriptors.
//! - A connection's TLS handshake, and then each request head, must arrive within
//!   [`Limits::header_timeout`] (hyper's header timeout, which also ends idle keep-alive
//!   connections): a client that connects and says nothing, or trickles a header, is dropped.
//!   Handshakes run in each connection's own task, never in the accept loop.
//! - The whole-request deadline lives in the router ([`super::router`]).
//! - Accept errors (out of file descriptors) are survived: the loop waits a moment.
//!
//! (The intake API has a fuller loop of its own in `api/src/serve.rs`, with per-client caps an
//! internet-facing server needs; the desk does not depend on the API's crate.)

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// How long in-flight requests may take to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(10);

/// The web desk's connection limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once.
    pub max_connections: usize,
    /// For a TLS handshake, and for each request head (and so for an idle connection).
    pub header_timeout: Duration,
    /// For a whole request, body included, until its answer starts.
    pub request_timeout: Duration,
    /// For a download's reader to take the next piece: a browser that stops reading is cut
    /// off, and the thread opening the file for it is freed.
    pub stalled_download: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 512,
            header_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            stalled_download: Duration::from_secs(60),
        }
    }
}

/// A TLS acceptor from PEM files: the certificate chain and its private key.
pub fn acceptor(cert: &std::path::Path, key: &std::path::Path) -> anyhow::Result<TlsAcceptor> {
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

/// Serves `router` on `listener` (HTTPS with `tls`) until `shutdown` completes, then lets
/// in-flight requests finish for up to ten seconds.
pub(super) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    super::report(&format!("cannot accept a connection: {e}"));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Over the cap: closed at once (dropped), so the others keep being served.
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let (tls, watcher) = (tls.clone(), graceful.watcher());
        tokio::spawn(async move {
            let _slot = slot;
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(64 * 1024);
            match tls {
                None => {
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
                Some(acceptor) => {
                    let shake =
                        tokio::time::timeout(limits.header_timeout, acceptor.accept(stream));
                    let Ok(Ok(stream)) = shake.await else {
                        return;
                    };
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                }
            }
        });
    }
    drop(listener);
    // Open pages keep their event streams: after ten seconds they are simply cut.
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
    Ok(())
}
