//! Reusable pieces of the portal's pages.

pub mod field;
pub mod files;
pub mod receipt;
