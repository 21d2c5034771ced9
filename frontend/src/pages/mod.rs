//! The portal's pages, one per route and bundle: `/report`, `/status` and `/poster`.

pub mod poster;
pub mod report;
pub mod status;
