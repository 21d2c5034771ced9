//! The only place the portal talks HTTP: the intake API's endpoints, returning the protocol
//! crate's types. Every request goes to this origin; nothing is sent anywhere else.

use cluebox_protocol::wire::{ErrorBody, Filed};
use serde::de::DeserializeOwned;

use crate::form::ProfileDoc;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// No answer: offline, connection reset, server unreachable. Worth retrying.
    Network,
    /// The server answered with an error (the message is for people).
    Server {
        /// HTTP status.
        status: u16,
        /// The stable error code.
        code: String,
        /// The server's sentence.
        message: String,
    },
    /// The answer was not what the protocol says.
    Unexpected,
}

impl ApiError {
    /// Whether retrying the same request may help (network trouble, 5xx, 429).
    pub fn retryable(&self) -> bool {
        match self {
            ApiError::Network => true,
            ApiError::Server { status, .. } => *status >= 500 || *status == 429,
            ApiError::Unexpected => false,
        }
    }
}

async fn call(method: &str, path: &str, body: Option<String>) -> Result<(u16, String), ApiError> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    // No cookies, no referrer, no cache: this origin only.
    init.set_credentials(web_sys::RequestCredentials::Omit);
    init.set_cache(web_sys::RequestCache::NoStore);
    init.set_referrer_policy(web_sys::ReferrerPolicy::NoReferrer);
    if let Some(body) = &body {
        init.set_body(&JsValue::from_str(body));
        let headers = web_sys::Headers::new().map_err(|_| ApiError::Unexpected)?;
        headers
            .set("content-type", "application/json")
            .map_err(|_| ApiError::Unexpected)?;
        init.set_headers(&headers);
    }
    let request =
        web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| ApiError::Unexpected)?;
    let window = web_sys::window().ok_or(ApiError::Unexpected)?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| ApiError::Network)?
        .dyn_into()
        .map_err(|_| ApiError::Unexpected)?;
    let text = JsFuture::from(response.text().map_err(|_| ApiError::Network)?)
        .await
        .map_err(|_| ApiError::Network)?
        .as_string()
        .unwrap_or_default();
    Ok((response.status(), text))
}

/// The JSON error of a failed answer.
fn error(status: u16, text: &str) -> ApiError {
    match serde_json::from_str::<ErrorBody>(text) {
        Ok(e) => ApiError::Server {
            status,
            code: serde_json::to_string(&e.error.code)
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned(),
            message: e.error.message,
        },
        // A proxy's error page, a gateway timeout: 5xx stays retryable trouble.
        Err(_) if status >= 500 => ApiError::Server {
            status,
            code: "unavailable".into(),
            message: String::new(),
        },
        Err(_) => ApiError::Unexpected,
    }
}

async fn json<T: DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<T, ApiError> {
    let (status, text) = call(method, path, body).await?;
    if (200..300).contains(&status) {
        serde_json::from_str(&text).map_err(|_| ApiError::Unexpected)
    } else {
        Err(error(status, &text))
    }
}

/// `GET /api/v1/profile`: what the page needs, and the document's text for the worker.
pub async fn profile() -> Result<(ProfileDoc, String), ApiError> {
    let (status, text) = call("GET", "/api/v1/profile", None).await?;
    if status != 200 {
        return Err(error(status, &text));
    }
    let doc = serde_json::from_str(&text).map_err(|_| ApiError::Unexpected)?;
    Ok((doc, text))
}

/// `POST /api/v1/reports` with a body the worker sealed.
pub async fn submit(body: &str) -> Result<Filed, ApiError> {
    json("POST", "/api/v1/reports", Some(body.to_owned())).await
}

/// `POST /api/v1/inquiries`: the answer's JSON text, or `None` for an unknown code.
pub async fn inquiry(body: &str) -> Result<Option<String>, ApiError> {
    let (status, text) = call("POST", "/api/v1/inquiries", Some(body.to_owned())).await?;
    match status {
        200 => Ok(Some(text)),
        404 => Ok(None),
        _ => Err(error(status, &text)),
    }
}

/// `POST /api/v1/inquiries/follow-ups` with a body the worker sealed.
pub async fn follow_up(body: &str) -> Result<(), ApiError> {
    json::<serde_json::Value>(
        "POST",
        "/api/v1/inquiries/follow-ups",
        Some(body.to_owned()),
    )
    .await
    .map(|_| ())
}
