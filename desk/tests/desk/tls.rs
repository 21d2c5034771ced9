//! The desk and the server over TLS, with a CA made here: pull and push through HTTPS, a pinned
//! key, a wrong pin, an unknown CA, plain HTTP beyond loopback.

use super::*;

/// A test CA and a server certificate for `localhost` and 127.0.0.1 signed by it, as PEM files
/// in `dir`; returns (ca.pem, cert.pem, key.pem, the server key's pin).
fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Cluebox test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&server_key, &ca_cert, &ca_key)
        .unwrap();
    let (ca_pem, cert_pem, key_pem) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(&ca_pem, ca_cert.pem()).unwrap();
    std::fs::write(&cert_pem, server.pem()).unwrap();
    std::fs::write(&key_pem, server_key.serialize_pem()).unwrap();
    let pin = cluebox_desk::remote::pin_of(server.der()).unwrap();
    (ca_pem, cert_pem, key_pem, pin)
}

use std::path::PathBuf;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_pulls_and_pushes_over_tls_and_refuses_a_wrong_pin() {
    let dir = tempfile::tempdir().unwrap();
    let (key, office) = keygen(dir.path(), "office.key", None);
    let (ca, cert, tls_key, pin) = test_pki(dir.path());
    let api = api_with_tls(&office, &cert, &tls_key).await;
    let code = file(&api, &office, "经由 TLS 的举报").await;
    assert!(api.base.starts_with("https://localhost:"), "{}", api.base);
    let db = dir.path().join("desk.sqlite3");
    let run = |args: Vec<String>| {
        let (db, key, token) = (db.clone(), key.clone(), api.token.clone());
        tokio::task::spawn_blocking(move || {
            desk(&db)
                .arg("--key")
                .arg(&key)
                .env("CLUEBOX_DESK_TOKEN_FILE", &token)
                .args(args)
                .output()
                .unwrap()
        })
    };
    let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let base = api.base.clone();
    let ca = ca.display().to_string();

    // A server whose CA the desk does not know is refused, and nothing is pulled.
    let out = run(args(&["pull", "--server", &base])).await.unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach the API") && stderr(&out).contains("UnknownIssuer"),
        "{}",
        stderr(&out)
    );
    // A wrong pin is refused even though the CA is trusted.
    let wrong = "sha256/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
    let out = run(args(&[
        "--ca-cert",
        &ca,
        "--pin",
        wrong,
        "pull",
        "--server",
        &base,
    ]))
    .await
    .unwrap();
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("matches none of the pinned keys"),
        "{}",
        stderr(&out)
    );
    // The office's CA and the right pin: pull works.
    let out = run(args(&[
        "--ca-cert",
        &ca,
        "--pin",
        &pin,
        "pull",
        "--server",
        &base,
    ]))
    .await
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("opened 2; quarantined 0"),
        "{}",
        stdout(&out)
    );
    // And push: a status change and a reply reach the reporter through TLS.
    let case = api.state.store.inbox(0, 10).await.unwrap()[0]
        .case_id
        .clone();
    let out = run(args(&[
        "--ca-cert",
        &ca,
        "--pin",
        &pin,
        "transition",
        &case,
        "--to",
        "accepted",
        "--server",
        &base,
    ]))
    .await
    .unwrap();
    assert!(
        stdout(&out).contains("sent 1 change(s)"),
        "{} {}",
        stdout(&out),
        stderr(&out)
    );
    let keys = derive(&code, &FAST, "cn-12337").unwrap();
    let inquiry = api
        .state
        .store
        .inquiry(api.state.secrets.token_hash(keys.lookup_token.as_bytes()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inquiry.timeline[0].status, "accepted");
    // Plain HTTP to a server that is not on this machine is refused before connecting.
    let out = run(args(&["pull", "--server", "http://jb.example.cn"]))
        .await
        .unwrap();
    assert!(
        stderr(&out).contains("refusing plain http://"),
        "{}",
        stderr(&out)
    );
}

/// `cluebox-desk serve` as a process; the URL it prints, and the process.
fn serve(db: &Path, key: &Path, args: &[&str]) -> (String, std::process::Child) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("cluebox-desk"))
        .env_clear()
        .env("CLUEBOX_DESK_DB", db)
        .arg("--key")
        .arg(key)
        .arg("serve")
        .args(args)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_owned();
    (url, child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_desk_serves_https_and_silent_clients_do_not_hold_it_up() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), "office.key", None);
    let (ca, cert, tls_key, _) = test_pki(dir.path());
    let db = dir.path().join("desk.sqlite3");

    // Plain HTTP beyond loopback is refused before anything listens.
    let out = desk(&db)
        .arg("--key")
        .arg(&key)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && stderr(&out).contains("needs HTTPS"),
        "{}",
        stderr(&out)
    );

    let (url, mut child) = serve(
        &db,
        &key,
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            tls_key.to_str().unwrap(),
        ],
    );
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let url = url.replace("127.0.0.1", "localhost");
    let port = url.rsplit(':').next().unwrap().to_owned();
    // Fifty clients connect and say nothing (a handshake never starts).
    let mut silent = Vec::new();
    for _ in 0..50 {
        silent.push(
            tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
                .await
                .unwrap(),
        );
    }
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap())
        .build()
        .unwrap();
    // A real browser still gets its page at once (well inside the 10 s handshake time the
    // silent ones hold their slots for).
    let res = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        client.get(format!("{url}/sign-in")).send(),
    )
    .await
    .expect("served while 50 clients stall their handshakes")
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()
            .get("strict-transport-security")
            .map(|v| v.to_str().unwrap()),
        Some("max-age=31536000"),
        "over HTTPS the desk tells browsers to keep to it"
    );
    assert!(res.text().await.unwrap().contains("登录案件台"));
    // Plain HTTP to the HTTPS port gets no page.
    let plain = reqwest::get(format!("http://127.0.0.1:{port}/sign-in")).await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    drop(silent);
    child.kill().unwrap();
    let _ = child.wait();
}
