//! Sessions, the CSRF check and the origin check of the web desk.
//!
//! - A session is 32 random bytes in a `__Host-` cookie (`Secure`, `HttpOnly`,
//!   `SameSite=Strict`, path `/`, no domain, gone when the browser closes). The database keeps
//!   only its SHA-256, so a copy of the database signs nobody in. Sessions end after
//!   [`IDLE_SECONDS`] unused or [`LONGEST_SECONDS`] in all, at sign-out, and when the account is
//!   disabled (checked on every request).
//! - Signing in always makes a new session and ends the one the browser came with, so a
//!   session id planted before sign-in (session fixation) is never signed in.
//! - Every change is a POST whose form carries the session's CSRF token (random, compared in
//!   constant time) and whose `Origin` and `Sec-Fetch-Site` headers, when the browser sends
//!   them, say it comes from the desk's own pages ([`Act`]).

use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header, request::Parts};
use base64::Engine as _;
use rusqlite::{Connection, OptionalExtension as _, params};
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};

use super::{Shared, WebError};
use crate::staff::Staff;

/// The session cookie's name (`__Host-`: the browser keeps it only if it is `Secure`, for path
/// `/`, with no domain).
pub const COOKIE: &str = "__Host-cluebox-desk";
/// A session unused for this long ends.
pub const IDLE_SECONDS: i64 = 30 * 60;
/// A session ends this long after sign-in, used or not.
pub const LONGEST_SECONDS: i64 = 12 * 60 * 60;

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

fn random_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The `Set-Cookie` value that starts a session.
pub fn set_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// The `Set-Cookie` value that ends it in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Starts a session for `login` at `now`, ending `previous` (the cookie the browser came with,
/// if any). Returns the new cookie value.
pub fn start(
    conn: &Connection,
    login: &str,
    previous: Option<&str>,
    now: i64,
) -> anyhow::Result<String> {
    if let Some(old) = previous {
        conn.execute(
            "DELETE FROM sessions WHERE token_hash = ?1",
            [token_hash(old)],
        )?;
    }
    // Expired sessions of anyone go too, so the table does not grow.
    conn.execute(
        "DELETE FROM sessions WHERE seen_at < ?1 OR created_at < ?2",
        params![now - IDLE_SECONDS, now - LONGEST_SECONDS],
    )?;
    let token = random_token()?;
    conn.execute(
        "INSERT INTO sessions (token_hash, login, csrf, created_at, seen_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![token_hash(&token), login, random_token()?, now],
    )?;
    Ok(token)
}

/// Ends the session with this cookie value.
pub fn end(conn: &Connection, token: &str) -> anyhow::Result<()> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = ?1",
        [token_hash(token)],
    )?;
    Ok(())
}

/// The signed-in member of staff of a request, with their session's CSRF token. Taking it as
/// an argument makes a handler refuse anyone not signed in (they are sent to the sign-in page).
#[derive(Debug, Clone)]
pub struct Signed {
    /// The account (read again on every request: a disabled account is signed out at once).
    pub staff: Staff,
    /// The token every form of this session carries.
    pub csrf: String,
}

/// Finds a live session at `now`, and marks it used if `touch` (a page asked for by its
/// reader; not the live updates an open page receives, which must not keep it alive).
pub(super) fn find(
    conn: &Connection,
    token: &str,
    now: i64,
    touch: bool,
) -> anyhow::Result<Option<Signed>> {
    let hash = token_hash(token);
    let found: Option<(String, String, i64, i64)> = conn
        .query_row(
            "SELECT login, csrf, created_at, seen_at FROM sessions WHERE token_hash = ?1",
            [&hash],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((login, csrf, created, seen)) = found else {
        return Ok(None);
    };
    let staff = crate::staff::get(conn, &login)?;
    let alive = now - seen <= IDLE_SECONDS && now - created <= LONGEST_SECONDS;
    match staff {
        Some(staff) if alive && !staff.disabled => {
            if touch {
                conn.execute(
                    "UPDATE sessions SET seen_at = ?2 WHERE token_hash = ?1",
                    params![hash, now],
                )?;
            }
            Ok(Some(Signed { staff, csrf }))
        }
        _ => {
            conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [hash])?;
            Ok(None)
        }
    }
}

impl FromRequestParts<Shared> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, desk: &Shared) -> Result<Self, WebError> {
        let Some(token) = cookie(&parts.headers, COOKIE) else {
            return Err(WebError::sign_in());
        };
        let now = crate::now() as i64;
        desk.run(move |conn, _| Ok(find(conn, &token, now, true)?))
            .await?
            .ok_or_else(WebError::sign_in)
    }
}

/// Whether a request comes from the desk's own pages, as far as the browser says:
/// `Sec-Fetch-Site` (sent by every current browser) must not be `cross-site` or `same-site`,
/// and an `Origin` must name the host the request was sent to.
pub fn same_origin(headers: &HeaderMap) -> Result<(), WebError> {
    let refused = || {
        WebError::new(
            axum::http::StatusCode::FORBIDDEN,
            "这个请求不是从案件台的页面发出的，已拒绝。",
            "This request did not come from the desk's own pages; refused.",
        )
    };
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.to_str(), Ok("same-origin" | "none"))
    {
        return Err(refused());
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if host.is_none() || origin_host != host {
            return Err(refused());
        }
    }
    Ok(())
}

/// A form that changes something: what every POST handler takes. Extracting it checks, in
/// order, the origin ([`same_origin`]), the session ([`Signed`]) and the form's CSRF token.
pub struct Act<T> {
    /// Who acts.
    pub who: Signed,
    /// What they sent.
    pub form: T,
}

/// A form that carries the CSRF token.
pub trait CsrfForm {
    /// The token the form carried.
    fn csrf(&self) -> &str;
}

impl<T: DeserializeOwned + CsrfForm + Send> FromRequest<Shared> for Act<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, desk: &Shared) -> Result<Self, WebError> {
        let (mut parts, body) = req.into_parts();
        same_origin(&parts.headers)?;
        let who = Signed::from_request_parts(&mut parts, desk).await?;
        let Form(form) = Form::<T>::from_request(Request::from_parts(parts, body), desk)
            .await
            .map_err(|e| {
                WebError::bad(
                    "表单内容不完整或格式不对，操作没有完成。",
                    format!("The form was incomplete or malformed; nothing was changed ({e})."),
                )
            })?;
        if !constant_time_eq(form.csrf().as_bytes(), who.csrf.as_bytes()) {
            return Err(WebError::new(
                axum::http::StatusCode::FORBIDDEN,
                "表单已过期或不是本次登录的页面发出的。请重新打开页面再操作。",
                "The form is out of date or not from this session's pages. Open the page again and retry.",
            ));
        }
        Ok(Act { who, form })
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "x__Host-cluebox-desk=no; __Host-cluebox-desk=yes; cluebox-desk-lang=en"
                .parse()
                .unwrap(),
        );
        assert_eq!(cookie(&h, COOKIE).as_deref(), Some("yes"));
        assert_eq!(cookie(&h, "cluebox-desk-lang").as_deref(), Some("en"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut h = HeaderMap::new();
            for (k, v) in pairs {
                h.insert(*k, v.parse().unwrap());
            }
            h
        };
        assert!(same_origin(&headers(&[("host", "desk.office:8443")])).is_ok());
        assert!(
            same_origin(&headers(&[
                ("host", "desk.office:8443"),
                ("origin", "https://desk.office:8443"),
                ("sec-fetch-site", "same-origin"),
            ]))
            .is_ok()
        );
        for bad in [
            &[("host", "desk.office"), ("origin", "https://evil.example")][..],
            &[("host", "desk.office"), ("sec-fetch-site", "cross-site")][..],
            &[("host", "desk.office"), ("sec-fetch-site", "same-site")][..],
            &[("origin", "https://desk.office")][..],
            &[("host", "desk.office"), ("origin", "null")][..],
        ] {
            assert!(same_origin(&headers(bad)).is_err(), "{bad:?}");
        }
        assert!(constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
