//! The end-to-end harness: the real `cluebox` server (in process, on a free loopback port, with a
//! temporary data directory and keys made at test time) serving the built portal (`dist/`), and
//! headless Chromium driven through chromedriver.
//!
//! Every process it starts is killed when its guard drops, also when an assertion fails:
//! chromedriver runs in its own process group and the whole group is killed. Each test saves
//! screenshots under `target/e2e-screenshots/<test>/`.
//!
//! Every page load also records, from before the page's first script runs, console errors and
//! Content-Security-Policy violations ([`Browser::problems`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_owned()
}

/// The built portal; `scripts/test.sh` builds it (`build_portal`) before the tests.
pub fn dist() -> anyhow::Result<PathBuf> {
    let dist = workspace().join("dist");
    anyhow::ensure!(
        dist.join("report.html").exists(),
        "the portal is not built: run ./scripts/test.sh (its build_portal step builds them) before these tests"
    );
    Ok(dist)
}

/// Everything the servers in this test process logged (the access log and warnings included).
static LOGS: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

struct LogSink;

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures the servers' logs, at debug level, from the first server started.
fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(|| LogSink)
            .with_ansi(false)
            .try_init();
    });
}

/// What the servers of this test process have logged so far.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().map(|l| l.clone()).unwrap_or_default()).into_owned()
}

/// A running server.
pub struct Portal {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data directory (a temporary directory kept for the test's life).
    pub data: PathBuf,
    _dir: Option<tempfile::TempDir>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    /// The server's state (store, profile), for checks behind the API.
    pub state: cluebox_api::state::AppState,
}

impl Portal {
    /// Starts a server for `profile` (`12337`, `12389`) on a free port.
    pub async fn start(profile: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let mut portal = Self::start_on(profile, &data, "127.0.0.1:0".parse()?).await?;
        portal._dir = Some(dir);
        Ok(portal)
    }

    /// Starts a server for `profile` with its config adjusted first.
    pub async fn start_with(
        profile: &str,
        adjust: impl FnOnce(&mut cluebox_api::config::Config),
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let mut portal =
            Self::start_adjusted(profile, &data, "127.0.0.1:0".parse()?, adjust).await?;
        portal._dir = Some(dir);
        Ok(portal)
    }

    /// Starts a server on a given data directory and address (to restart one).
    pub async fn start_on(profile: &str, data: &Path, addr: SocketAddr) -> anyhow::Result<Self> {
        Self::start_adjusted(profile, data, addr, |_| {}).await
    }

    async fn start_adjusted(
        profile: &str,
        data: &Path,
        addr: SocketAddr,
        adjust: impl FnOnce(&mut cluebox_api::config::Config),
    ) -> anyhow::Result<Self> {
        capture_logs();
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let base = format!("http://{}", listener.local_addr()?);
        let config = cluebox_api::config::Config {
            data_dir: data.to_owned(),
            site_dir: dist()?,
            profile: profile.into(),
            public_url: Some(base.clone()),
            hsts: false,
            log: "warn".into(),
            // The free-space floor protects a real server's disk (the abuse tests check it on a
            // small file system of their own). Here it would turn every filing into 507 on a
            // CI machine whose disk the build has nearly filled: 1 GiB free is not guaranteed
            // after the workspace, the wasm bundles and the fuzz targets are built.
            flood: cluebox_api::config::FloodSettings {
                min_free_bytes: 32 << 20,
                ..Default::default()
            },
            ..Default::default()
        };
        let mut config = config;
        adjust(&mut config);
        let state = cluebox_api::build_state(&config)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let serving = state.clone();
        let task = tokio::spawn(async move {
            let _ = cluebox_api::launch(listener, serving, async {
                let _ = rx.await;
            })
            .await;
        });
        Ok(Self {
            base,
            data: data.to_owned(),
            _dir: None,
            shutdown: Some(tx),
            task: Some(task),
            state,
        })
    }

    /// Stops the server and waits until its port is closed.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Every report received so far, opened with the demo office key (as the desk would).
    pub async fn opened_reports(&self) -> anyhow::Result<Vec<cluebox_protocol::letter::Report>> {
        use cluebox_protocol::letter::Letter;
        let office = cluebox_protocol::keys::SecretKey::from_secret_text(
            &std::fs::read_to_string(self.data.join("demo-office.key"))?,
        )?;
        let mut reports = Vec::new();
        for item in self.state.store.inbox(0, 1000).await? {
            let entry = self
                .state
                .store
                .inbox_entry(item.seq)
                .await?
                .context("inbox entry")?;
            if let Letter::Report(r) =
                Letter::from_bytes(&cluebox_protocol::envelope::open(&office, &entry.sealed.0)?)?
            {
                reports.push(r);
            }
        }
        Ok(reports)
    }

    /// The demo desk bearer token.
    pub fn desk_token(&self) -> String {
        std::fs::read_to_string(self.data.join("demo-desk-token"))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The Markdown file a benchmark was asked to write its figures into (`--write FILE`).
pub fn write_arg() -> Option<PathBuf> {
    std::env::args()
        .skip_while(|a| a != "--write")
        .nth(1)
        .map(PathBuf::from)
}

/// Replaces the `<!-- bench:{name} -->` ... `<!-- /bench:{name} -->` block of a Markdown file
/// with `block` (which carries both markers), or appends it when the file has none.
pub fn write_bench_block(path: &Path, name: &str, block: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (start, end) = (
        format!("<!-- bench:{name} -->"),
        format!("<!-- /bench:{name} -->"),
    );
    let new = match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if a < b => {
            format!("{}{}{}", &text[..a], block, &text[b + end.len()..])
        }
        _ => format!("{text}\n{block}\n"),
    };
    std::fs::write(path, new)?;
    Ok(())
}

/// chromedriver and the Chromium it drives.
pub struct Browser {
    /// The WebDriver client.
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    shots: PathBuf,
    shot: std::cell::Cell<usize>,
}

/// The device to emulate.
#[derive(Debug, Clone, Copy)]
pub enum Device {
    /// 390x844, touch, mobile user agent metrics.
    Phone,
    /// 1366x768.
    Desktop,
}

/// Records console errors and CSP violations from before the first script of every page.
const WATCH: &str = r#"
window.__cbx_problems = [];
document.addEventListener('securitypolicyviolation', e =>
  window.__cbx_problems.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));
const orig = console.error.bind(console);
console.error = (...a) => { window.__cbx_problems.push('console.error: ' + a.map(String).join(' ')); orig(...a); };
window.addEventListener('error', e => window.__cbx_problems.push('error: ' + e.message));
window.addEventListener('unhandledrejection', e => window.__cbx_problems.push('rejection: ' + e.reason));
"#;

#[derive(Debug)]
struct Cdp(Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.0.to_string()))
    }
}

/// Reads the browser's own console (what the page's scripts cannot see: policy header errors,
/// deprecation and preload warnings) through chromedriver's log endpoint.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

impl Browser {
    /// The memory of this browser's processes (chromedriver's process group: Chromium, its
    /// renderers, GPU and utility processes and their workers), as their summed proportional
    /// set size (shared pages divided among the processes sharing them), in bytes.
    pub fn memory(&self) -> u64 {
        let group = self.driver.id().to_string();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return 0;
        };
        procs
            .filter_map(Result::ok)
            .filter(|p| {
                std::fs::read_to_string(p.path().join("stat")).is_ok_and(|stat| {
                    // pid (comm) state ppid pgrp ...: fields after the command's closing paren.
                    stat.rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(2).map(|g| g == group))
                        .unwrap_or(false)
                })
            })
            .filter_map(|p| std::fs::read_to_string(p.path().join("smaps_rollup")).ok())
            .filter_map(|rollup| {
                rollup
                    .lines()
                    .find_map(|l| l.strip_prefix("Pss:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
            .sum::<u64>()
            * 1024
    }

    /// Starts chromedriver and a fresh headless Chromium emulating `device`.
    pub async fn start(device: Device, test: &str) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let profile = tempfile::tempdir()?;
        let driver = {
            use std::os::unix::process::CommandExt as _;
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .env("HOME", profile.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .context("chromedriver is not installed (./scripts/test.sh installs it)")?
        };
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!(
                "--user-data-dir={}",
                profile.path().join("chromium").display()
            ),
        ];
        // A browser set to Chinese, like the reporters' (the portal follows the browser's
        // language on a first visit; headless Chromium would say English).
        args.push("--lang=zh-CN".into());
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "prefs": { "intl.accept_languages": "zh-CN,zh" },
        });
        match device {
            Device::Phone => {
                options["mobileEmulation"] = json!({"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 1.0, "mobile": true, "touch": true}});
            }
            Device::Desktop => args.push("--window-size=1366,768".into()),
        }
        options["args"] = json!(args);
        let mut caps = serde_json::Map::new();
        caps.insert("goog:chromeOptions".into(), options);
        caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                Err(e) => return Err(e).context("cannot start Chromium through chromedriver"),
            }
        };
        client
            .issue_cmd(Cdp(json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": WATCH}})))
            .await
            .context("installing the problem watcher")?;
        let shots = workspace().join("target/e2e-screenshots").join(test);
        std::fs::create_dir_all(&shots)?;
        Ok(Self {
            client,
            driver,
            _profile: profile,
            shots,
            shot: std::cell::Cell::new(0),
        })
    }

    /// Sends a Chrome DevTools command (network emulation, CPU throttling).
    pub async fn cdp(&self, cmd: &str, params: Value) -> anyhow::Result<Value> {
        Ok(self
            .client
            .issue_cmd(Cdp(json!({"cmd": cmd, "params": params})))
            .await?)
    }

    /// Saves a screenshot `NN-name.png`.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        self.shot.set(self.shot.get() + 1);
        let path = self
            .shots
            .join(format!("{:02}-{name}.png", self.shot.get()));
        std::fs::write(&path, self.client.screenshot().await?)?;
        Ok(path)
    }

    /// Waits for an element. When it does not come, the error says what the page showed
    /// instead (its text, the worker's state, console problems, the servers' warnings), so a
    /// failure on a CI machine explains itself.
    pub async fn wait(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => Ok(element),
            Err(e) => {
                let page = self
                    .client
                    .execute(
                        "return [location.href, document.documentElement.dataset.sealer || 'not ready',                          (document.body ? document.body.innerText : '').slice(-1500)].join(' --- ');",
                        vec![],
                    )
                    .await
                    .map(|v| v.as_str().unwrap_or_default().to_owned())
                    .unwrap_or_else(|e| format!("(the page could not be read: {e})"));
                let problems = self.problems().await.unwrap_or_default();
                let logs = captured_logs();
                let tail: String = logs
                    .lines()
                    .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                    .rev()
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n");
                Err(anyhow::Error::new(e).context(format!(
                    "waiting for {css}; the page (url, worker, text):\n{page}\nconsole problems: {problems:?}\nserver warnings (newest first):\n{tail}"
                )))
            }
        }
    }

    /// Waits until `script` (a JS expression) is truthy.
    pub async fn wait_js(&self, script: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self
                .client
                .execute(&format!("return !!({script});"), vec![])
                .await?;
            if v == Value::Bool(true) {
                return Ok(());
            }
            anyhow::ensure!(Instant::now() < deadline, "timed out waiting for: {script}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Scrolls an element to the middle of the screen and clicks it, as a thumb would: the
    /// form's buttons stay at the bottom of the screen, and WebDriver does not scroll an
    /// element it can see (even half under them).
    pub async fn tap(&self, css: &str) -> anyhow::Result<()> {
        let el = self.wait(css).await?;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center'});",
                vec![serde_json::to_value(&el)?],
            )
            .await?;
        el.click().await?;
        Ok(())
    }

    /// Clicks a button that submits a form (or a link) and waits until the page it leads to has
    /// loaded.
    /// Waiting for an element is not enough after a submit: the page being left may have the
    /// same element, and an element found there goes stale when the new page arrives (the
    /// web desk's journey failed in CI that way). The page being left is marked, and the wait
    /// ends only when a document without the mark has finished loading.
    pub async fn tap_and_load(&self, css: &str) -> anyhow::Result<()> {
        self.client
            .execute("window.__clueboxLeaving = true;", vec![])
            .await?;
        self.tap(css).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // While the old document is torn down a script may fail to run; that is not an
            // answer, only a reason to ask again.
            let loaded = self
                .client
                .execute(
                    "return !window.__clueboxLeaving && document.readyState === 'complete';",
                    vec![],
                )
                .await;
            if matches!(loaded, Ok(Value::Bool(true))) {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the page did not change after submitting {css}: {loaded:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses the wizard's visible primary button ("next").
    pub async fn next_step(&self) -> anyhow::Result<()> {
        self.client
            .find(Locator::Css(".nav button.primary:not([hidden])"))
            .await?
            .click()
            .await?;
        Ok(())
    }

    /// Opens the 12337 form at `base` and walks it to the review step, typing `what` into "what
    /// happened" (every other field blank), until the submit button shows.
    pub async fn walk_to_submit(&self, base: &str, what: &str) -> anyhow::Result<()> {
        self.client.goto(&format!("{base}/report")).await?;
        self.wait_js("document.querySelector('.step:not([hidden]) h2')")
            .await?;
        for step in 0..4 {
            if step == 2 && !what.is_empty() {
                self.wait("#f-situation-what")
                    .await?
                    .send_keys(what)
                    .await?;
            }
            self.next_step().await?;
        }
        self.wait_js("!document.getElementById('submit').hidden")
            .await
    }

    /// Opens the form at `base` and goes to its step with the evidence files field (the third
    /// in both built-in profiles); its "choose files" input, once the picker has loaded.
    pub async fn files_step(&self, base: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client.goto(&format!("{base}/report")).await?;
        self.wait_js("document.querySelector('.step:not([hidden]) h2')")
            .await?;
        self.next_step().await?;
        self.next_step().await?;
        self.wait(".files-slot input[type=file][multiple]").await
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> anyhow::Result<String> {
        Ok(self.wait(css).await?.text().await?)
    }

    /// Console errors and CSP violations seen on the current page.
    pub async fn problems(&self) -> anyhow::Result<Vec<String>> {
        let v = self
            .client
            .execute("return window.__cbx_problems || [];", vec![])
            .await?;
        Ok(serde_json::from_value(v)?)
    }

    /// Warnings and errors in the browser's console since the last call (the page's own
    /// `console.error` is also in [`Browser::problems`]).
    pub async fn console_warnings(&self) -> anyhow::Result<Vec<String>> {
        let entries = self.client.issue_cmd(BrowserLog).await?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| matches!(e["level"].as_str(), Some("WARNING" | "SEVERE")))
            .filter_map(|e| e["message"].as_str().map(str::to_owned))
            .collect())
    }

    /// The visible text of the page (what `innerText` renders; hidden blocks are not in it).
    pub async fn visible_text(&self) -> anyhow::Result<String> {
        let v = self
            .client
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Every URL the current page requested.
    pub async fn requested_urls(&self) -> anyhow::Result<Vec<String>> {
        let v = self
            .client
            .execute("return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);", vec![])
            .await?;
        Ok(serde_json::from_value(v)?)
    }
}

impl Browser {
    /// Ends the session (Chromium exits cleanly), then stops chromedriver.
    pub async fn close(mut self) -> anyhow::Result<()> {
        let client = self.client.clone();
        client.close().await?;
        self.stop_driver();
        Ok(())
    }

    fn stop_driver(&mut self) {
        if let Ok(Some(_)) = self.driver.try_wait() {
            return;
        }
        // SIGTERM to chromedriver's process group (Chromium and its helpers are in it), a
        // moment to exit, then SIGKILL for whatever is left.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.driver.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed assertion the session is still open: stop everything anyway.
        self.stop_driver();
    }
}
