//! The portal's entry point (built by Trunk).

fn main() {
    cluebox_frontend::start();
}
