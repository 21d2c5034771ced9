//! The status page's bundle (`/status`), built by Trunk from `frontend/status.html`.

use cluebox_frontend::pages::status::StatusPage;
use leptos::prelude::*;

fn main() {
    cluebox_frontend::start(|profile, lang| view! { <StatusPage profile lang /> }, true);
}
