//! The status page's bundle (`/status`), built by Trunk from `frontend/status.html`.

fn main() {
    cluebox_frontend::start(cluebox_frontend::Page::Status);
}
