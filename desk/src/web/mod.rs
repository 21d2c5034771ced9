//! `cluebox-desk serve`: the desk as the office's shared workplace, in a browser on the
//! intranet (issue #15).
//!
//! Server-rendered HTML (maud, which escapes everything it is given); the one script is a file
//! of the desk's own that follows server-sent events (no inline script, nothing from elsewhere:
//! the Content-Security-Policy allows exactly that); the office key stays in this process and never
//! reaches a page. Staff sign in with their accounts ([`crate::staff`]); every page checks the
//! session ([`session::Signed`]), every change also its CSRF token and origin
//! ([`session::Act`]), and every case action asks [`crate::staff::may`], the same rule the
//! command line uses. A handler asking for another region's case gets the same 404 as for a
//! case that does not exist.
//!
//! The database is one SQLite connection behind a mutex, used from blocking tasks
//! (`Desk::run`): a request that is cancelled lets its task finish and the lock go; nothing is
//! left half-written, because every change is one transaction in the library it calls.
//!
//! Binds to loopback by default; anywhere else it needs a certificate (`--tls-cert`,
//! `--tls-key`), because the session cookie is `Secure` and passwords cross the network.

mod download;
mod handlers;
mod listen;
pub mod live;
mod pages;
pub mod session;

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cluebox_protocol::keys::SecretKey;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rusqlite::Connection;

pub use listen::{Limits, acceptor as tls_acceptor};

use crate::Profiles;

/// What the web desk holds: the database, the office keys (the first seals status letters and
/// replies; all of them open what is pulled), the profiles, the sign-in rate limit, and a
/// counter that moves whenever the cases change (new reports pulled, a case moved), which open
/// pages follow ([`live`]).
pub struct Desk {
    db: Mutex<Connection>,
    keys: Arc<Vec<SecretKey>>,
    profiles: Profiles,
    changes: tokio::sync::watch::Sender<u64>,
    /// Sign-in attempts beyond this rate are refused before any password work or audit entry,
    /// so a flood of guesses can neither stall the desk on Argon2 nor fill the audit log.
    sign_ins: DefaultDirectRateLimiter,
}

/// The shared state handlers see.
pub type Shared = Arc<Desk>;

/// Sign-in attempts per second, for the whole desk.
const SIGN_INS_PER_SECOND: u32 = 5;
/// Sign-in attempts allowed at once before the rate applies.
const SIGN_IN_BURST: u32 = 10;

impl Desk {
    /// A desk over an opened database, sealing with the first of `keys`.
    pub fn new(
        conn: Connection,
        keys: Vec<SecretKey>,
        profiles: Profiles,
    ) -> anyhow::Result<Shared> {
        anyhow::ensure!(
            !keys.is_empty(),
            "the web desk seals status letters and replies as the office: give the office key with --key"
        );
        let quota = Quota::per_second(NonZeroU32::new(SIGN_INS_PER_SECOND).expect("non-zero"))
            .allow_burst(NonZeroU32::new(SIGN_IN_BURST).expect("non-zero"));
        Ok(Arc::new(Desk {
            db: Mutex::new(conn),
            keys: Arc::new(keys),
            profiles,
            changes: tokio::sync::watch::Sender::new(0),
            sign_ins: RateLimiter::direct(quota),
        }))
    }

    /// The key that seals the office's status letters and replies.
    fn office(&self) -> &SecretKey {
        &self.keys[0]
    }

    /// Tells open pages that the cases changed.
    fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Runs `work` on the database in a blocking task. A request cancelled while it waits does
    /// not cancel the work: the transaction inside completes or rolls back, and the lock goes.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&mut Connection, &Desk) -> Result<T, WebError> + Send + 'static,
    ) -> Result<T, WebError> {
        let desk = self.clone();
        tokio::task::spawn_blocking(move || {
            // A panic elsewhere cannot leave a half-done transaction behind (rusqlite rolls back
            // on drop), so a poisoned lock still guards a consistent database.
            let mut conn = desk.db.lock().unwrap_or_else(|p| p.into_inner());
            work(&mut conn, &desk)
        })
        .await
        .map_err(|e| WebError::internal(anyhow::anyhow!("a desk task failed: {e}")))?
    }
}

/// Tells the terminal the desk runs in (it has no log subscriber); never the page.
#[allow(clippy::print_stderr)]
fn report(problem: &str) {
    eprintln!("cluebox-desk serve: {problem}");
}

/// The interface language: Chinese unless the `lang` cookie says `en`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Simplified Chinese (the default).
    Zh,
    /// English.
    En,
}

/// The cookie that keeps the language choice (not secret).
const LANG_COOKIE: &str = "cluebox-desk-lang";

impl Lang {
    /// One of two texts.
    pub fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// The profile locale name (`zh`, `en`).
    pub fn locale(self) -> &'static str {
        self.t("zh", "en")
    }

    fn of(headers: &axum::http::HeaderMap) -> Lang {
        if session::cookie(headers, LANG_COOKIE).as_deref() == Some("en") {
            Lang::En
        } else {
            Lang::Zh
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang::of(&parts.headers))
    }
}

/// Why a request failed, in both languages; drawn as a page in the reader's language by
/// `draw_failures`. Mapped to HTTP here and nowhere else.
#[derive(Debug, Clone)]
pub struct WebError {
    status: StatusCode,
    zh: String,
    en: String,
}

impl WebError {
    fn new(status: StatusCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        WebError {
            status,
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// Not signed in (or the session ended): to the sign-in page.
    fn sign_in() -> Self {
        Self::new(StatusCode::SEE_OTHER, "请先登录。", "Sign in first.")
    }

    /// 404: no such case (also what a handler gets for another region's case).
    fn no_case() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "没有这个案件。",
            "There is no such case.",
        )
    }

    /// 403 with the reason `staff::may` gave.
    fn refused(why: &str) -> Self {
        if why == "no such case" {
            return Self::no_case();
        }
        Self::new(
            StatusCode::FORBIDDEN,
            format!("您的账户不能执行此操作（{why}）。"),
            format!("Your account may not do this: {why}."),
        )
    }

    /// 400 with a sentence saying what is wrong with the input.
    fn bad(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, zh, en)
    }

    /// 500: logged, and a plain sentence for the reader.
    fn internal(e: anyhow::Error) -> Self {
        report(&format!("{e:#}"));
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "桌面出错了，操作没有完成。请稍后再试；如果反复出现，请联系管理员。",
            "The desk failed; nothing was changed. Try again; if it keeps happening, tell your administrator.",
        )
    }
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        WebError::internal(e)
    }
}

impl From<rusqlite::Error> for WebError {
    fn from(e: rusqlite::Error) -> Self {
        WebError::internal(e.into())
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        if self.status == StatusCode::SEE_OTHER {
            return axum::response::Redirect::to("/sign-in").into_response();
        }
        let mut res = self.status.into_response();
        res.extensions_mut().insert(self);
        res
    }
}

/// Draws a [`WebError`] as a page in the reader's language.
async fn draw_failures(req: Request, next: Next) -> Response {
    let lang = Lang::of(req.headers());
    let res = next.run(req).await;
    match res.extensions().get::<WebError>().cloned() {
        Some(e) => (
            e.status,
            pages::failure(lang, e.status, lang.t(&e.zh, &e.en)),
        )
            .into_response(),
        None => res,
    }
}

/// The strict headers every answer carries: no script of any kind, no framing, nothing sent
/// elsewhere, nothing cached (pages hold case content).
async fn strict_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
         img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    // Not `no-referrer`: with it Chromium sends `Origin: null` on the desk's own form posts,
    // which the origin check must refuse. `same-origin` sends nothing to other sites.
    set(h, header::REFERRER_POLICY, "same-origin");
    set(h, header::CACHE_CONTROL, "no-store");
    set(
        h,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        h,
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    set(
        h,
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
    );
    res
}

/// Over HTTPS: browsers that have seen the desk once never try it over plain HTTP again (a
/// year; not the subdomains, which an intranet may serve otherwise).
async fn https_only(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    res.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    res
}

/// Every route of the web desk.
pub fn router(desk: Shared) -> Router {
    Router::new()
        .route("/", get(handlers::home))
        .route(
            "/sign-in",
            get(handlers::sign_in_page).post(handlers::sign_in),
        )
        .route("/sign-out", post(handlers::sign_out))
        .route("/lang/{lang}", get(handlers::language))
        .route("/desk.css", get(handlers::stylesheet))
        .route("/desk.js", get(live::script))
        .route("/events", get(live::events))
        .route("/cases", get(handlers::cases))
        .route("/cases/{id}", get(handlers::case))
        .route("/cases/{id}/move", post(handlers::move_case))
        .route("/cases/{id}/reply", post(handlers::reply))
        .route("/cases/{id}/identity", post(handlers::show_identity))
        .route("/cases/{id}/files/{n}", get(download::file))
        .route("/cases/{id}/decide", post(handlers::decide))
        .route("/cases/{id}/contact", post(handlers::contact))
        .route("/cases/{id}/visit", post(handlers::visit))
        .route("/audit", get(handlers::audit))
        .route("/stats", get(handlers::stats))
        .route(
            "/sample",
            get(handlers::sample_page).post(handlers::draw_sample),
        )
        .route("/staff", get(handlers::staff).post(handlers::add_account))
        .route("/staff/{login}/disable", post(handlers::disable_account))
        .route("/staff/{login}/password", post(handlers::reset_password))
        .fallback(handlers::not_found)
        .layer(middleware::from_fn(draw_failures))
        .layer(middleware::from_fn(strict_headers))
        .with_state(desk)
}

/// Serves the web desk on `listener` (HTTPS when `tls` is given) until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    desk: Shared,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, desk, tls, Limits::default(), shutdown).await
}

/// [`serve`] with other connection limits.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    desk: Shared,
    tls: Option<tokio_rustls::TlsAcceptor>,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut app = router(desk)
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            deadline(limits.request_timeout, req, next)
        }))
        .layer(axum::Extension(limits));
    if tls.is_some() {
        app = app.layer(middleware::from_fn(https_only));
    }
    listen::serve(listener, app, tls, limits, shutdown).await
}

/// A request whose answer has not started within `limit` (a body trickled in, say) gets 408;
/// the work it started in the database finishes or rolls back on its own.
async fn deadline(limit: std::time::Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => (StatusCode::REQUEST_TIMEOUT, "the request took too long").into_response(),
    }
}

/// Refuses to serve plain HTTP beyond loopback.
pub fn check_listen(addr: SocketAddr, tls: bool) -> anyhow::Result<()> {
    anyhow::ensure!(
        tls || addr.ip().is_loopback(),
        "{addr} is not loopback: the web desk carries passwords and case files, so anywhere but \
         this machine it needs HTTPS (--tls-cert and --tls-key)"
    );
    Ok(())
}
