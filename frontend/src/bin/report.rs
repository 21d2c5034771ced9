//! The form page's bundle (`/report`), built by Trunk from `frontend/report.html`.

use cluebox_frontend::pages::report::ReportPage;
use leptos::prelude::*;

fn main() {
    cluebox_frontend::start(|profile, lang| view! { <ReportPage profile lang /> }, true);
}
