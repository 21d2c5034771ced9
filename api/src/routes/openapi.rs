//! `GET /api/v1/openapi.json`: the OpenAPI document, generated from the handlers' annotations
//! and the protocol crate's types (utoipa), so it cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{challenge, desk, health, inquiries, profile, reports};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Cluebox intake API", description = "Stores sealed reports; answers inquiry lookups; feeds the case desk. See docs/PROTOCOL.md."),
    paths(
        health::healthz,
        profile::get_profile,
        challenge::challenge,
        reports::file_report,
        inquiries::look_up,
        inquiries::add_follow_up,
        desk::list_inbox,
        desk::fetch_entry,
        desk::acknowledge,
        desk::post_status,
        desk::post_reply,
    ),
    modifiers(&DeskToken)
)]
pub struct ApiDoc;

struct DeskToken;

impl Modify for DeskToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "desk_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Serves the document.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
