//! `GET /api/v1/challenge`: a proof-of-work challenge for the next report or follow-up (see
//! [`crate::flood`]). Stateless: nothing is stored until a solution is used.

use axum::Json;
use axum::extract::State;
use cluebox_protocol::wire::Challenge;

use super::now;
use crate::state::AppState;

/// A fresh challenge, at the difficulty asked now.
#[utoipa::path(get, path = "/api/v1/challenge", responses((status = 200, body = Challenge)))]
pub async fn challenge(State(app): State<AppState>) -> Json<Challenge> {
    Json(app.flood.challenge(now()))
}
