//! What the benchmark commands share: the real server started on loopback for a load
//! generator, a plain HTTP/1.1 client, and writing figures into `docs/BENCHMARKS.md`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Replaces the block between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in the Markdown
/// file at `path` with `block` (which carries the markers itself), or appends it if absent.
pub fn write_block(path: &std::path::Path, name: &str, block: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (start, end) = (
        format!("<!-- bench:{name} -->"),
        format!("<!-- /bench:{name} -->"),
    );
    let new = match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{}{}", &text[..a], block, &text[b + end.len()..]),
        _ => format!("{text}\n{block}\n"),
    };
    std::fs::write(path, new)?;
    Ok(())
}

/// The real server on its own runtime and threads, on a free loopback port.
pub fn start_server(data: &std::path::Path, threads: usize) -> anyhow::Result<SocketAddr> {
    let config = cluebox_api::config::Config {
        data_dir: data.join("data"),
        site_dir: data.join("no-site"),
        log: "warn".into(),
        // One load generator on loopback stands for many clients, and measures the storage
        // path: no proof of work (its cost is measured on its own), no per-client limits, no
        // byte ceiling or daily quota.
        limits: cluebox_api::config::Limits {
            max_connections_per_client: 100_000,
            ..Default::default()
        },
        flood: cluebox_api::config::FloodSettings {
            pow_bits: 0,
            submissions_per_client_per_minute: u32::MAX,
            lookups_per_client_per_minute: u32::MAX,
            uploads_per_client_per_minute: u32::MAX,
            max_submission_bytes_per_sec: 0,
            daily_storage_bytes: u64::MAX,
            ..Default::default()
        },
        ..Default::default()
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .expect("server runtime");
        runtime.block_on(async move {
            let state = cluebox_api::build_state(&config).expect("server state");
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send((listener.local_addr().expect("addr"), state.clone()))
                .expect("send");
            cluebox_api::launch(listener, state, std::future::pending())
                .await
                .expect("serve");
        });
    });
    let (addr, _state) = rx
        .recv_timeout(Duration::from_secs(30))
        .context("server did not start")?;
    Ok(addr)
}

/// One HTTP/1.1 connection.
pub type Conn = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

/// Opens a connection to `addr` (no Nagle delay).
pub async fn connect(addr: SocketAddr) -> anyhow::Result<Conn> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// Sends one request with a JSON body and reads the whole answer.
pub async fn send(
    conn: &mut Conn,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Bytes,
) -> anyhow::Result<(u16, Bytes)> {
    send_with(
        conn,
        addr,
        method,
        path,
        &[("content-type", "application/json")],
        body,
    )
    .await
}

/// Sends one request with these headers and reads the whole answer.
pub async fn send_with(
    conn: &mut Conn,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Bytes,
) -> anyhow::Result<(u16, Bytes)> {
    conn.ready().await?;
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = conn.send_request(req.body(Full::new(body))?).await?;
    let status = res.status().as_u16();
    let body = res.into_body().collect().await?.to_bytes();
    Ok((status, body))
}
