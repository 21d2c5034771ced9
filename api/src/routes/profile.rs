//! `GET /api/v1/profile`: the hotline profile with its recipient keys and the server's receipt
//! key. Serialized once at start.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use cluebox_protocol::profile::PublicProfile;

use crate::state::AppState;

/// The profile the browser renders the form from.
#[utoipa::path(get, path = "/api/v1/profile", responses((status = 200, body = PublicProfile)))]
pub async fn get_profile(State(app): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        app.profile_json.clone(),
    )
}
