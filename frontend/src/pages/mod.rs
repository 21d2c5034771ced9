//! The portal's pages, one per route: `/report` and `/status`.

pub mod report;
pub mod status;
