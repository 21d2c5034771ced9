//! The poster page's bundle (`/poster`), built by Trunk from `frontend/poster.html`. It draws
//! only, so it does not start the crypto worker.

use cluebox_frontend::pages::poster::PosterPage;
use leptos::prelude::*;

fn main() {
    cluebox_frontend::start(|profile, lang| view! { <PosterPage profile lang /> }, false);
}
