//! `GET /api/v1/openapi.json`: the OpenAPI document, generated from the handlers' annotations
//! and the protocol crate's types (utoipa), so it cannot drift from the code.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{challenge, desk, health, inquiries, profile, reports, uploads};

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
        uploads::create,
        uploads::status,
        uploads::piece,
        uploads::remove,
        desk::list_inbox,
        desk::fetch_entry,
        desk::acknowledge,
        desk::fetch_file,
        desk::post_status,
        desk::post_reply,
    ),
    modifiers(&DeskToken, &CommonResponses)
)]
pub struct ApiDoc;

/// The answers any operation can give besides its own: the extractors' and limits' refusals
/// and the server's own failures, so that the document lists every status a route can answer.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build()
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let desk = path.starts_with("/api/v1/desk/");
            let ops = [(&mut item.get, false), (&mut item.post, true)];
            for (op, has_body) in ops {
                let Some(op) = op else { continue };
                let mut add = |code: &str, description: &str| {
                    op.responses
                        .responses
                        .entry(code.to_owned())
                        .or_insert_with(|| error(description).into());
                };
                add("500", "internal: something went wrong on the server");
                add(
                    "503",
                    "unavailable: overloaded, shutting down, or a request took too long (Retry-After)",
                );
                if has_body {
                    add("400", "malformed_json or unsupported_version");
                    add("408", "request_timeout: the body did not arrive in time");
                    add("413", "payload_too_large");
                    add("415", "unsupported_media_type: send application/json");
                    add("422", "invalid_field");
                }
                if desk {
                    add(
                        "400",
                        "invalid_parameter: a query or path parameter is not valid",
                    );
                    add("401", "unauthorized: a valid desk token is required");
                }
            }
        }
    }
}

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
