//! The real `cluebox` binary in its own process: what it leaves in its data directory and its
//! logs, what survives `kill -9` under load, the export bundle, and its start-up refusals.

#![allow(clippy::print_stderr)]

use std::io::Read as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cluebox_protocol::profile::PublicProfile;
use cluebox_protocol::wire::{Bundle, Filed, InboxPage};
use reqwest::StatusCode;

use super::{Reporter, dir_contains, write_site};

/// A running `cluebox` process with its stderr captured.
struct Server {
    child: Child,
    base: String,
    log: Arc<Mutex<Vec<u8>>>,
}

impl Server {
    fn start(root: &Path) -> Self {
        Self::start_with(root, &[])
    }

    fn start_with(root: &Path, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cluebox"))
            .current_dir(root)
            .env_clear()
            .env("CLUEBOX_LISTEN", format!("127.0.0.1:{port}"))
            .env("CLUEBOX_DATA_DIR", root.join("data"))
            .env("CLUEBOX_SITE_DIR", root.join("site"))
            .env("CLUEBOX_LOG", "debug")
            // One loopback client files many reports here: no proof of work, no per-client cap.
            .env("CLUEBOX_FLOOD__POW_BITS", "0")
            .env(
                "CLUEBOX_FLOOD__SUBMISSIONS_PER_CLIENT_PER_MINUTE",
                "1000000",
            )
            .env("CLUEBOX_FLOOD__LOOKUPS_PER_CLIENT_PER_MINUTE", "1000000")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(self.base.trim_start_matches("http://")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("server did not start: {}", self.log_text());
    }

    fn log_text(&self) -> String {
        String::from_utf8_lossy(&self.log.lock().unwrap()).into_owned()
    }

    fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn stop(&mut self) {
        // SIGTERM: a graceful stop.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill9();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn unique(label: &str) -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    format!("{label}-{}", hex::encode(b))
}

async fn profile(http: &reqwest::Client, base: &str) -> PublicProfile {
    http.get(format!("{base}/api/v1/profile"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_directory_and_logs_hold_no_plaintext_token_code_or_client_details() {
    let root = tempfile::tempdir().unwrap();
    write_site(&root.path().join("site"));
    let mut server = Server::start(root.path());
    let http = reqwest::Client::new();
    let profile = profile(&http, &server.base).await;

    let marker = unique("PLAINTEXT-MARKER");
    let user_agent = unique("UA-MARKER");
    let referer = unique("REFERER-MARKER");
    let forwarded = "203.0.113.77";
    let reporter = Reporter::new(&profile);
    let submit = reporter.report(
        &profile.recipients.national,
        &format!("{marker} 保护伞 {marker}"),
    );
    let with_client_details = |req: reqwest::RequestBuilder| {
        req.header("user-agent", &user_agent)
            .header("referer", format!("https://{referer}.example/"))
            .header("x-forwarded-for", forwarded)
            .header("x-real-ip", forwarded)
    };
    let res = with_client_details(http.post(format!("{}/api/v1/reports", server.base)))
        .json(&submit)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = with_client_details(http.post(format!("{}/api/v1/inquiries", server.base)))
        .json(&reporter.inquiry())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = with_client_details(http.get(format!("{}/", server.base)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    server.stop();

    let log = server.log_text();
    assert!(
        log.contains("route=\"static\""),
        "the access log is on: {log}"
    );
    for route in ["/api/v1/reports", "/api/v1/inquiries"] {
        assert!(
            !log.contains(route),
            "no per-request line for {route}: with its timestamp it links a case to flow records"
        );
    }
    let token = reporter.keys.lookup_token.as_bytes();
    let code = reporter.code.expose_grouped();
    let secrets: Vec<(&str, Vec<u8>)> = vec![
        ("report plaintext", marker.clone().into_bytes()),
        ("user agent", user_agent.clone().into_bytes()),
        ("referrer", referer.clone().into_bytes()),
        ("client address", forwarded.as_bytes().to_vec()),
        ("lookup token (raw)", token.to_vec()),
        (
            "lookup token (base64url)",
            reporter.token_b64().into_bytes(),
        ),
        ("lookup token (hex)", hex::encode(token).into_bytes()),
        ("inquiry code", code.as_bytes().to_vec()),
        ("inquiry code (plain)", code.replace('-', "").into_bytes()),
        // Derived from the code like the token: with it, a database copy alone confirms a
        // guessed code (derive the key pair, find the row).
        (
            "reply public key (raw)",
            reporter.keys.reply_public().to_bytes().to_vec(),
        ),
        (
            "reply public key (text)",
            reporter.keys.reply_public().to_string().into_bytes(),
        ),
    ];
    let data = root.path().join("data");
    for (what, needle) in &secrets {
        if let Some(file) = dir_contains(&data, needle) {
            panic!("the {what} is stored in {}", file.display());
        }
        assert!(
            !log.as_bytes()
                .windows(needle.len())
                .any(|w| w == needle.as_slice()),
            "the {what} is in the log"
        );
    }
    // The check itself can fail: the sealed bytes are in the database.
    assert!(dir_contains(&data, &submit.sealed.0[..64]).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_report_survives_kill_9_under_load() {
    let root = tempfile::tempdir().unwrap();
    write_site(&root.path().join("site"));
    let mut server = Server::start(root.path());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let profile = profile(&http, &server.base).await;

    // 32 writers, each filing reports until the server disappears.
    let acknowledged = Arc::new(Mutex::new(Vec::<[u8; 32]>::new()));
    let attempted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..32)
        .map(|_| {
            let (http, base, profile) = (http.clone(), server.base.clone(), profile.clone());
            let (acknowledged, attempted) = (acknowledged.clone(), attempted.clone());
            tokio::spawn(async move {
                for _ in 0..10_000 {
                    let reporter = Reporter::new(&profile);
                    let submit = reporter.report(&profile.recipients.national, "load");
                    attempted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Ok(res) = http
                        .post(format!("{base}/api/v1/reports"))
                        .json(&submit)
                        .send()
                        .await
                    else {
                        break;
                    };
                    if res.status() != StatusCode::CREATED {
                        break;
                    }
                    let Ok(filed) = res.json::<Filed>().await else {
                        break;
                    };
                    acknowledged.lock().unwrap().push(filed.receipt.report_hash);
                }
            })
        })
        .collect();
    // Kill in the middle of the load.
    let start = Instant::now();
    while acknowledged.lock().unwrap().len() < 1000 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    server.kill9();
    for w in writers {
        w.await.unwrap();
    }
    let acked: Vec<[u8; 32]> = acknowledged.lock().unwrap().clone();
    let tried = attempted.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        acked.len() >= 1000,
        "the load ran ({} acknowledged)",
        acked.len()
    );

    // Restart on the same data and count.
    let server = Server::start(root.path());
    let token = std::fs::read_to_string(root.path().join("data/demo-desk-token")).unwrap();
    let mut stored = std::collections::HashSet::new();
    let mut after = 0;
    loop {
        let page: InboxPage = http
            .get(format!(
                "{}/api/v1/desk/inbox?after={after}&limit=1000",
                server.base
            ))
            .bearer_auth(token.trim())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if page.items.is_empty() {
            break;
        }
        after = page.next_after;
        stored.extend(page.items.into_iter().map(|i| i.sealed_sha256));
    }
    let lost: Vec<_> = acked
        .iter()
        .filter(|h| !stored.contains(&hex::encode(h)))
        .collect();
    eprintln!(
        "kill -9 under load: {} attempted, {} acknowledged, {} stored after restart, {} acknowledged but lost",
        tried,
        acked.len(),
        stored.len(),
        lost.len()
    );
    assert!(
        lost.is_empty(),
        "{} acknowledged reports were lost",
        lost.len()
    );
    assert!(stored.len() <= tried, "nothing is invented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_a_bundle_of_what_the_desk_would_pull() {
    let root = tempfile::tempdir().unwrap();
    write_site(&root.path().join("site"));
    let mut server = Server::start(root.path());
    let http = reqwest::Client::new();
    let profile = profile(&http, &server.base).await;
    let mut sealed = Vec::new();
    for i in 0..3 {
        let submit =
            Reporter::new(&profile).report(&profile.recipients.national, &format!("report {i}"));
        let res = http
            .post(format!("{}/api/v1/reports", server.base))
            .json(&submit)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        sealed.push(submit.sealed);
    }
    server.stop();
    let out = root.path().join("bundle.tar");
    let status = Command::new(env!("CARGO_BIN_EXE_cluebox"))
        .current_dir(root.path())
        .env("CLUEBOX_DATA_DIR", root.path().join("data"))
        .args(["export", "--since", "1", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    // A tar archive whose first entry is the index (no files here).
    let mut archive = tar::Archive::new(std::fs::File::open(&out).unwrap());
    let mut entries = archive.entries().unwrap();
    let mut index = entries.next().unwrap().unwrap();
    assert_eq!(index.path().unwrap().to_str(), Some("bundle.json"));
    let mut text = Vec::new();
    std::io::Read::read_to_end(&mut index, &mut text).unwrap();
    drop(index);
    assert!(entries.next().is_none());
    let bundle: Bundle = serde_json::from_slice(&text).unwrap();
    assert_eq!(bundle.bundle_version, 2);
    assert_eq!(bundle.profile, "12337");
    assert_eq!(bundle.entries.len(), 2, "entries after position 1");
    assert_eq!(bundle.entries[0].sealed, sealed[1]);
    assert_eq!(
        bundle.entries[1].item.sealed_sha256,
        hex::encode(cluebox_protocol::receipt::report_hash(&sealed[2].0))
    );
}

fn refusal(root: &Path, envs: &[(&str, String)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cluebox"));
    cmd.current_dir(root).env_clear();
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "it should refuse to start");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn start_up_refusals_are_clear() {
    let root = tempfile::tempdir().unwrap();
    // A port in use.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let err = refusal(
        root.path(),
        &[
            ("CLUEBOX_LISTEN", busy.local_addr().unwrap().to_string()),
            (
                "CLUEBOX_DATA_DIR",
                root.path().join("data").display().to_string(),
            ),
        ],
    );
    assert!(err.contains("already in use"), "{err}");
    // A data directory that is a file.
    let file = root.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let err = refusal(
        root.path(),
        &[("CLUEBOX_DATA_DIR", file.display().to_string())],
    );
    assert!(err.contains("data directory"), "{err}");
    // Recipients configured without a national key.
    let err = refusal(
        root.path(),
        &[
            (
                "CLUEBOX_DATA_DIR",
                root.path().join("data").display().to_string(),
            ),
            ("CLUEBOX_RECIPIENTS__NATIONAL", "[]".into()),
        ],
    );
    assert!(err.contains("recipients.national is empty"), "{err}");
    // A malformed office key.
    let err = refusal(
        root.path(),
        &[
            (
                "CLUEBOX_DATA_DIR",
                root.path().join("data").display().to_string(),
            ),
            ("CLUEBOX_RECIPIENTS__NATIONAL", "[\"cbxpk1notakey\"]".into()),
        ],
    );
    assert!(err.contains("configuration is invalid"), "{err}");
    // An unknown setting.
    let config = root.path().join("cluebox.toml");
    std::fs::write(&config, "listn = \"127.0.0.1:1\"\n").unwrap();
    let err = refusal(
        root.path(),
        &[("CLUEBOX_CONFIG", config.display().to_string())],
    );
    assert!(err.contains("listn"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_on_a_full_disk_it_says_so_and_still_answers_lookups() {
    // A 32 MiB file system of its own, filled past the floor while the server is down.
    let root = tempfile::tempdir().unwrap();
    write_site(&root.path().join("site"));
    let data = root.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=32m", "tmpfs"])
        .arg(&data)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a small file system here (needs CAP_SYS_ADMIN)");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(data.clone());
    let floor = [("CLUEBOX_FLOOD__MIN_FREE_BYTES", "8388608")];
    let mut server = Server::start_with(root.path(), &floor);
    let http = reqwest::Client::new();
    let profile = profile(&http, &server.base).await;
    let reporter = Reporter::new(&profile);
    let res = http
        .post(format!("{}/api/v1/reports", server.base))
        .json(&reporter.report(&profile.recipients.national, "before the disk filled"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    server.stop();
    let free = cluebox_api::flood::free_bytes(&data).unwrap();
    std::fs::write(
        data.join("filler"),
        vec![0u8; usize::try_from(free - (4 << 20)).unwrap()],
    )
    .unwrap();

    let server = Server::start_with(root.path(), &floor);
    let res = http
        .post(format!("{}/api/v1/inquiries", server.base))
        .json(&reporter.inquiry())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK, "lookups go on");
    let res = http
        .post(format!("{}/api/v1/reports", server.base))
        .json(&Reporter::new(&profile).report(&profile.recipients.national, "refused"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::INSUFFICIENT_STORAGE);
    assert!(
        server.log_text().contains("STORAGE LOW"),
        "a loud line: {}",
        server.log_text()
    );
}

/// The server's resident memory, in MiB.
fn rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .unwrap()
        / 1024
}

#[test]
fn memory_returns_after_slow_header_and_stalled_body_attacks() {
    use std::io::Write as _;
    let root = tempfile::tempdir().unwrap();
    write_site(&root.path().join("site"));
    // Short timeouts so the attack ends quickly; caps high enough to let it all in (as from a
    // botnet of many addresses).
    let server = Server::start_with(
        root.path(),
        &[
            ("CLUEBOX_LIMITS__HEADER_TIMEOUT_SECS", "3"),
            ("CLUEBOX_LIMITS__BODY_TIMEOUT_SECS", "3"),
            ("CLUEBOX_LIMITS__MAX_CONNECTIONS_PER_CLIENT", "20000"),
            ("CLUEBOX_LIMITS__MAX_CONNECTIONS", "20000"),
        ],
    );
    let pid = server.child.id();
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let before = rss_mib(pid);
    let mut peak = before;
    let headers = format!(
        "POST /api/v1/reports HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-pad: {}\r\n",
        "a".repeat(3000)
    );
    let body_head = "POST /api/v1/reports HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 390000\r\n\r\n";
    let mut held = Vec::new();
    for i in 0..6000 {
        let Ok(mut s) = std::net::TcpStream::connect(addr) else {
            continue;
        };
        if i < 5000 {
            // Headers that never end.
            let _ = s.write_all(headers.as_bytes());
        } else {
            // A large body, stalled two thirds in.
            let _ = s.write_all(body_head.as_bytes());
            let _ = s.write_all(&vec![b'x'; 260_000]);
        }
        held.push(s);
        if i % 500 == 0 {
            peak = peak.max(rss_mib(pid));
        }
    }
    peak = peak.max(rss_mib(pid));
    // The timeouts close them; the clients then go away too.
    std::thread::sleep(Duration::from_secs(6));
    drop(held);
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_mib(pid);
    eprintln!("RSS: {before} MiB before, {peak} MiB during, {after} MiB after the attack");
    assert!(
        after < 100,
        "{after} MiB resident after the attack (peak {peak} MiB)"
    );
    // And it still serves.
    let answer = Command::new("python3")
        .args([
            "-c",
            &format!(
                "import urllib.request as u; print(u.urlopen('{}/healthz').status)",
                server.base
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&answer.stdout).trim(), "200");
}
