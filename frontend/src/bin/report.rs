//! The form page's bundle (`/report`), built by Trunk from `frontend/report.html`.

fn main() {
    cluebox_frontend::start(cluebox_frontend::Page::Report);
}
