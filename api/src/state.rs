//! The state every handler shares: built once in `main` (or a test) and passed through axum.

use std::sync::Arc;

use cluebox_protocol::profile::PublicProfile;

use crate::secrets::ServerSecrets;
use crate::site::Site;
use crate::store::Store;

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.0
    }
}

/// What the server knows.
pub struct App {
    /// The profile and recipient keys, as served at `/api/v1/profile`.
    pub profile: PublicProfile,
    /// `profile` serialized once (it is requested by every form load).
    pub profile_json: axum::body::Bytes,
    /// Where reports go.
    pub store: Arc<dyn Store>,
    /// Receipt signing and token hashing.
    pub secrets: ServerSecrets,
    /// SHA-256 hashes of the accepted desk bearer tokens.
    pub desk_token_hashes: Vec<[u8; 32]>,
    /// The portal's static files.
    pub site: Site,
    /// Whether to send HSTS.
    pub hsts: bool,
    /// Timeouts and connection caps.
    pub limits: crate::config::Limits,
    /// Proof of work, rate limits, quotas, the free-space floor.
    pub flood: Arc<crate::flood::Flood>,
    /// The data directory (its file system's free space is watched).
    pub data_dir: std::path::PathBuf,
    /// KiB of request bodies that may be held in memory at once.
    pub body_budget: Arc<tokio::sync::Semaphore>,
    /// Where evidence file uploads' bytes live.
    pub blobs: Arc<dyn crate::store::blobs::BlobStore>,
    /// Uploads with a piece being written.
    pub uploads_busy: crate::routes::uploads::Busy,
    /// Running hashes of uploads being written.
    pub uploads_hashing: crate::routes::uploads::Hashing,
}
