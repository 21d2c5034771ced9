//! The real server against clients that misbehave: hang up mid-request, trickle bytes, sit
//! idle, declare huge bodies, open more connections than they should. Every test says what the
//! server must still do afterwards.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use cluebox_api::config::Limits;
use reqwest::StatusCode;

use super::{Reporter, TestApp};

fn addr(base: &str) -> SocketAddr {
    base.trim_start_matches("http://").parse().unwrap()
}

/// Reads until the server closes the connection (or `within` passes); returns what arrived and
/// how long it took.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream.set_read_timeout(Some(within)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(_) => break,
        }
        if started.elapsed() > within {
            break;
        }
    }
    (
        String::from_utf8_lossy(&got).into_owned(),
        started.elapsed(),
    )
}

/// `lookups` lookups of `reporter`'s case and a desk read, each answered 200.
async fn lookups_and_desk_reads_work(
    http: &reqwest::Client,
    base: &str,
    app: &TestApp,
    reporter: &Reporter,
    lookups: usize,
) {
    for _ in 0..lookups {
        let res = http
            .post(format!("{base}/api/v1/inquiries"))
            .json(&reporter.inquiry())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let res = http
        .get(format!("{base}/api/v1/desk/inbox"))
        .bearer_auth(&app.desk_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

fn short_limits() -> Limits {
    Limits {
        header_timeout_secs: 2,
        body_timeout_secs: 2,
        request_timeout_secs: 10,
        ..Limits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_hang_up_mid_request_cannot_break_lookups_or_desk_reads() {
    let app = TestApp::new();
    let base = app.serve().await;
    let profile = app.profile();
    let http = reqwest::Client::new();
    let reporter = Reporter::new(&profile);
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&reporter.report(&profile.recipients.national, "hang-up"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    // 200 lookups and 200 desk reads whose clients send the request and hang up at once.
    let lookup = serde_json::to_string(&reporter.inquiry()).unwrap();
    let server = addr(&base);
    let token = app.desk_token.clone();
    tokio::task::spawn_blocking(move || {
        for i in 0..400 {
            let mut s = TcpStream::connect(server).unwrap();
            let request = if i % 2 == 0 {
                format!(
                    "POST /api/v1/inquiries HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{lookup}",
                    lookup.len()
                )
            } else {
                format!(
                    "GET /api/v1/desk/inbox HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\n\r\n"
                )
            };
            s.write_all(request.as_bytes()).unwrap();
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Every later lookup and desk read still works.
    lookups_and_desk_reads_work(&http, &base, &app, &reporter, 100).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_slow_bodies_and_idle_connections_are_closed_at_their_timeouts() {
    let app = TestApp::with_limits(short_limits());
    let server = addr(&app.serve().await);
    let outcomes = tokio::task::spawn_blocking(move || {
        // A connection that never sends anything.
        let mut idle = TcpStream::connect(server).unwrap();
        // Half a request line, then nothing.
        let mut half = TcpStream::connect(server).unwrap();
        half.write_all(b"POST /api/v1/inq").unwrap();
        // Headers trickled one byte every 500 ms.
        let mut trickle = TcpStream::connect(server).unwrap();
        let trickler = {
            let mut t = trickle.try_clone().unwrap();
            std::thread::spawn(move || {
                for b in b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n" {
                    if t.write_all(&[*b]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            })
        };
        // A body declared and trickled.
        let mut body = TcpStream::connect(server).unwrap();
        body.write_all(b"POST /api/v1/inquiries HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{").unwrap();
        let body_trickler = {
            let mut t = body.try_clone().unwrap();
            std::thread::spawn(move || {
                for _ in 0..60 {
                    if t.write_all(b" ").is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
            })
        };
        // An idle keep-alive connection after one answered request.
        let mut keep = TcpStream::connect(server).unwrap();
        keep.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
        let mut first = [0u8; 17];
        keep.read_exact(&mut first).unwrap();
        assert_eq!(&first, b"HTTP/1.1 200 OK\r\n");
        let limit = Duration::from_secs(8);
        let out = [
            ("idle", read_until_closed(&mut idle, limit)),
            ("half a request line", read_until_closed(&mut half, limit)),
            ("trickled headers", read_until_closed(&mut trickle, limit)),
            ("trickled body", read_until_closed(&mut body, limit)),
            ("idle keep-alive", read_until_closed(&mut keep, limit)),
        ];
        let _ = trickler.join();
        let _ = body_trickler.join();
        out
    })
    .await
    .unwrap();
    for (what, (got, took)) in outcomes {
        assert!(
            took < Duration::from_secs(7),
            "{what}: still open after {took:?}"
        );
        if what == "trickled body" {
            assert!(got.starts_with("HTTP/1.1 408"), "{what}: {got}");
            assert!(got.contains("\"request_timeout\""), "{what}: {got}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_declared_body_is_refused_before_it_is_sent() {
    let app = TestApp::new();
    let server = addr(&app.serve().await);
    let answers = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        for expect in ["", "expect: 100-continue\r\n"] {
            let mut s = TcpStream::connect(server).unwrap();
            write!(
                s,
                "POST /api/v1/reports HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{expect}content-length: 10000000000\r\n\r\n"
            )
            .unwrap();
            out.push(read_until_closed(&mut s, Duration::from_secs(5)));
        }
        out
    })
    .await
    .unwrap();
    for (got, took) in answers {
        assert!(got.starts_with("HTTP/1.1 413"), "{got}");
        assert!(!got.contains("100 Continue"), "{got}");
        assert!(got.contains("\"payload_too_large\""), "{got}");
        assert!(took < Duration::from_secs(3), "answered at once: {took:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_idle_connections_from_one_client_do_not_lock_out_another() {
    cluebox_api::serve::raise_file_limit();
    let app = TestApp::with_limits(Limits {
        header_timeout_secs: 30,
        ..Limits::default()
    });
    let base = app.serve().await;
    let server = addr(&base);
    // 1,100 idle connections from 127.0.0.1 (more than the old default file limit allowed).
    let hog = tokio::task::spawn_blocking(move || {
        (0..1100)
            .map(|_| TcpStream::connect(server).unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    // Those over the per-client cap are answered 503 and closed (read in parallel, with time
    // to spare for a busy machine); the first ones wait, still open.
    let mut hog = hog;
    let over: Vec<TcpStream> = hog.split_off(1095);
    let answers: Vec<String> = over
        .into_iter()
        .map(|mut s| {
            std::thread::spawn(move || read_until_closed(&mut s, Duration::from_secs(20)).0)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    for got in &answers {
        assert!(got.starts_with("HTTP/1.1 503"), "{got:?}");
        assert!(got.contains("\"unavailable\""), "{got}");
    }
    // Another client (127.0.0.2) files a report at once.
    let profile = app.profile();
    let reporter = Reporter::new(&profile);
    let body =
        serde_json::to_string(&reporter.report(&profile.recipients.national, "other")).unwrap();
    let started = Instant::now();
    let answer = tokio::task::spawn_blocking(move || {
        let mut other = connect_from([127, 0, 0, 2], server).expect("connect from 127.0.0.2");
        write!(
            other,
            "POST /api/v1/reports HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        read_until_closed(&mut other, Duration::from_secs(10)).0
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(hog);
}

/// A TCP connection from a chosen loopback source address (another client, as far as the
/// server can tell).
fn connect_from(source: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((source, 0)).into())?;
    socket.connect(&to.into())?;
    Ok(socket.into())
}

/// Solves a challenge from `base` (as the crypto worker does).
async fn solved(http: &reqwest::Client, base: &str) -> cluebox_protocol::wire::Pow {
    use base64::Engine as _;
    let c: cluebox_protocol::wire::Challenge = http
        .get(format!("{base}/api/v1/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&c.challenge)
        .unwrap();
    cluebox_protocol::wire::Pow {
        challenge: c.challenge.clone(),
        nonce: cluebox_protocol::pow::solve(&bytes, c.difficulty, 0, u64::MAX).unwrap(),
    }
}

fn error_code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proof_of_work_per_client_limits_and_the_daily_quota() {
    let app = TestApp::with_flood(cluebox_api::config::FloodSettings {
        pow_bits: 10,
        submissions_per_client_per_minute: 4,
        lookups_per_client_per_minute: 1_000,
        daily_storage_bytes: 100_000,
        ..super::relaxed_flood()
    });
    let base = app.serve().await;
    let profile = app.profile();
    assert_eq!(
        profile.pow_bits, 10,
        "the profile says the usual difficulty"
    );
    let http = reqwest::Client::new();
    let reporter = Reporter::new(&profile);
    let mut report = reporter.report(&profile.recipients.national, "with work");

    // No proof of work: 403 pow_required, and nothing is stored.
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(&res.json().await.unwrap()), "pow_required");
    // A solved challenge: 201; a retry of the same request with it: 200, the same receipt.
    report.pow = Some(solved(&http, &base).await);
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&report)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // The same solution for another report: refused.
    let other = Reporter::new(&profile);
    let mut second = other.report(&profile.recipients.national, "reused work");
    second.pow = report.pow.clone();
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // Four submissions a minute from one address, then 429 with Retry-After.
    second.pow = Some(solved(&http, &base).await);
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&second)
        .send()
        .await
        .unwrap();
    let limited = res.status();
    let retry = res.headers().get("retry-after").cloned();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(limited, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(error_code(&body), "rate_limited");
    assert!(retry.is_some_and(|v| v.to_str().unwrap().parse::<u64>().unwrap() >= 1));
    // Another address is not held back by the first one's limit, but the daily quota
    // (100,000 bytes, about five 16 KiB reports) ends the day's intake for everyone.
    let server = addr(&base);
    let mut statuses = Vec::new();
    for i in 0..8 {
        let reporter = Reporter::new(&profile);
        let mut r = reporter.report(&profile.recipients.national, &"x".repeat(5000));
        r.pow = Some(solved(&http, &base).await);
        let body = serde_json::to_string(&r).unwrap();
        let source = [127, 0, 0, 10 + i];
        let answer = tokio::task::spawn_blocking(move || {
            let mut s = connect_from(source, server).unwrap();
            write!(
                s,
                "POST /api/v1/reports HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            read_until_closed(&mut s, Duration::from_secs(10)).0
        })
        .await
        .unwrap();
        statuses.push(answer[9..12].to_owned());
        if answer.starts_with("HTTP/1.1 503") {
            assert!(
                answer.to_ascii_lowercase().contains("retry-after:"),
                "{answer}"
            );
            assert!(answer.contains("\"unavailable\""), "{answer}");
        }
    }
    assert_eq!(statuses[0], "201", "{statuses:?}");
    assert!(
        statuses.iter().any(|s| s == "503"),
        "the quota ends intake: {statuses:?}"
    );
    let stored = app.state.store.stored_since(0).await.unwrap();
    assert!(
        stored <= 100_000,
        "{stored} bytes stored against a quota of 100,000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_per_case_and_items_per_lookup_are_bounded() {
    let app = TestApp::with_flood(cluebox_api::config::FloodSettings {
        max_follow_ups_per_case: 3,
        ..super::relaxed_flood()
    });
    let base = app.serve().await;
    let profile = app.profile();
    let http = reqwest::Client::new();
    let reporter = Reporter::new(&profile);
    let res = http
        .post(format!("{base}/api/v1/reports"))
        .json(&reporter.report(&profile.recipients.national, "bounded"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let res = http
            .post(format!("{base}/api/v1/inquiries/follow-ups"))
            .json(&reporter.follow_up(&profile.recipients.national, "again"))
            .send()
            .await
            .unwrap();
        statuses.push(res.status().as_u16());
    }
    assert_eq!(statuses, [201, 201, 201, 429, 429]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_a_clear_answer_and_intake_resumes_when_space_returns() {
    // A small file system of its own when this machine lets us mount one (it does here and in
    // CI); otherwise the same floor on the shared disk, set just below its free space.
    let root = tempfile::tempdir().unwrap();
    let mount = root.path().join("small");
    std::fs::create_dir_all(&mount).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=48m", "tmpfs"])
        .arg(&mount)
        .status()
        .is_ok_and(|s| s.success());
    struct Unmount(Option<std::path::PathBuf>);
    impl Drop for Unmount {
        fn drop(&mut self) {
            if let Some(path) = &self.0 {
                let _ = std::process::Command::new("umount").arg(path).status();
            }
        }
    }
    let _unmount = Unmount(mounted.then(|| mount.clone()));
    let data = mount.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let free = cluebox_api::flood::free_bytes(&data).unwrap();
    let floor = if mounted { 16 << 20 } else { free - (24 << 20) };
    let app = TestApp::with_data_dir(
        &data,
        cluebox_api::config::FloodSettings {
            min_free_bytes: floor,
            ..super::relaxed_flood()
        },
    );
    let base = app.serve().await;
    let profile = app.profile();
    let http = reqwest::Client::new();
    let file = |text: &'static str| {
        let (http, base, profile) = (http.clone(), base.clone(), profile.clone());
        async move {
            let reporter = Reporter::new(&profile);
            let res = http
                .post(format!("{base}/api/v1/reports"))
                .json(&reporter.report(&profile.recipients.national, text))
                .send()
                .await
                .unwrap();
            (
                res.status(),
                reporter,
                res.headers().get("retry-after").cloned(),
            )
        }
    };
    let (status, first, _) = file("before").await;
    assert_eq!(status, StatusCode::CREATED);
    // Fill the file system past the floor.
    let filler = data.join("filler");
    let fill = cluebox_api::flood::free_bytes(&data).unwrap() - floor + (4 << 20);
    std::fs::write(&filler, vec![0u8; usize::try_from(fill).unwrap()]).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _, retry) = file("refused").await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
    assert!(retry.is_some());
    // Lookups and the desk go on.
    lookups_and_desk_reads_work(&http, &base, &app, &first, 1).await;
    // Space returns: intake resumes by itself, and nothing acknowledged was lost.
    std::fs::remove_file(&filler).unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, _, _) = file("after").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(app.state.store.inbox(0, 10).await.unwrap().len(), 2);
}
