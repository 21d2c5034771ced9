//! What keeps a flood from filling the disk or drowning real reports, all in memory:
//!
//! - **Proof of work** on reports and follow-ups ([`cluebox_protocol::pow`]): stateless
//!   challenges (`version || difficulty || expires_at || random || MAC`, the MAC under a key made
//!   at start and never written), single use, with a difficulty that rises when submissions come
//!   faster than usual. The reporter's crypto worker solves one in the background while they
//!   type.
//! - **Per-client rate limits** for submissions and lookups (GCRA, the `governor` crate), keyed
//!   by a 64-bit keyed hash of the client address whose key is random, never written, and
//!   replaced every day (with the limiter's state). Behind a reverse proxy the address comes
//!   from the configured header only.
//! - **A global byte-rate ceiling** and **a daily storage quota** for submissions.
//! - **A free-space floor**: below it new reports and follow-ups get 507 while lookups and the
//!   desk go on; it lifts by itself when space returns.
//!
//! Nothing here is ever written to disk or to a log: no address, no hash of one.

use std::collections::HashMap;
use std::hash::BuildHasher as _;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cluebox_protocol::wire::{Challenge, DAY, Pow};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

use crate::config::FloodSettings;
use crate::error::ApiError;

/// A challenge is valid this long after it is issued.
const CHALLENGE_LIFETIME_SECS: u64 = 30 * 60;
/// Layout: version (1) | difficulty (1) | expires_at (8) | random (16) | MAC (16).
const CHALLENGE_LEN: usize = 42;
const CHALLENGE_VERSION: u8 = 1;

/// The client address a request came from, put there by the accept loop (never stored).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The client address of a request for the per-client limits: the configured proxy header's
/// last entry when one is set, otherwise the connection's peer (none in `oneshot` tests).
pub struct Client(pub Option<IpAddr>);

impl Client {
    /// The client of a request with these headers and extensions.
    pub fn of(
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
        settings: &FloodSettings,
    ) -> Self {
        let from_header = settings
            .client_address_header
            .as_deref()
            .and_then(|name| headers.get(name))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        let peer = extensions.get::<ClientAddr>().map(|c| c.0);
        Client(from_header.or(peer))
    }
}

/// The per-client limit a route counts against, if any.
pub fn kind_of(method: &axum::http::Method, path: &str) -> Option<Kind> {
    if method != axum::http::Method::POST {
        return None;
    }
    match path {
        "/api/v1/reports" | "/api/v1/inquiries/follow-ups" => Some(Kind::Submission),
        "/api/v1/inquiries" => Some(Kind::Lookup),
        "/api/v1/uploads" => Some(Kind::Upload),
        _ => None,
    }
}

/// What a request is, for the per-client limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A report or a follow-up.
    Submission,
    /// A lookup.
    Lookup,
    /// The start of an evidence file upload.
    Upload,
}

/// The flood controls of one server.
pub struct Flood {
    settings: FloodSettings,
    mac_key: [u8; 32],
    /// Challenges used, by their random part: until when, and the idempotency key that used
    /// it (a retry of the same request may present it again).
    used: Mutex<HashMap<[u8; 16], (u64, String)>>,
    /// Accepted submissions per second, for the difficulty: (second, count), last 60 s.
    recent: Mutex<std::collections::VecDeque<(u64, u64)>>,
    /// The per-client part, replaced every day.
    clients: RwLock<Clients>,
    bytes: Option<DefaultDirectRateLimiter>,
    /// Bytes stored on `quota_day`.
    quota_day: AtomicU64,
    quota_bytes: AtomicU64,
    low_space: AtomicBool,
}

struct Clients {
    key: std::hash::RandomState,
    made: Instant,
    submissions: DefaultKeyedRateLimiter<u64>,
    lookups: DefaultKeyedRateLimiter<u64>,
    uploads: DefaultKeyedRateLimiter<u64>,
}

impl Clients {
    fn new(settings: &FloodSettings) -> Self {
        let per_minute = |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).expect("at least 1"));
        Self {
            key: std::hash::RandomState::new(),
            made: Instant::now(),
            submissions: RateLimiter::keyed(per_minute(settings.submissions_per_client_per_minute)),
            lookups: RateLimiter::keyed(per_minute(settings.lookups_per_client_per_minute)),
            uploads: RateLimiter::keyed(per_minute(settings.uploads_per_client_per_minute)),
        }
    }
}

impl Flood {
    /// Flood controls with these settings; `stored_today` is what the store already holds from
    /// today (so a restart does not reset the quota).
    pub fn new(settings: FloodSettings, stored_today: u64, today: u64) -> Self {
        let mut mac_key = [0u8; 32];
        getrandom::fill(&mut mac_key).expect("the OS random source works");
        let bytes = u32::try_from(settings.max_submission_bytes_per_sec / 1024)
            .ok()
            .and_then(NonZeroU32::new)
            .map(|kib| RateLimiter::direct(Quota::per_second(kib)));
        Self {
            clients: RwLock::new(Clients::new(&settings)),
            settings,
            mac_key,
            used: Mutex::default(),
            recent: Mutex::default(),
            bytes,
            quota_day: AtomicU64::new(today),
            quota_bytes: AtomicU64::new(stored_today),
            low_space: AtomicBool::new(false),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &FloodSettings {
        &self.settings
    }

    /// The difficulty of a challenge issued now: the usual one, plus a bit for every doubling
    /// of the last minute's submissions above the usual rate.
    pub fn difficulty(&self, now: u64) -> u8 {
        let base = self.settings.pow_bits;
        if base == 0 {
            return 0;
        }
        let last_minute: u64 = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|(s, _)| s + 60 > now)
            .map(|(_, n)| n)
            .sum();
        let usual = u64::from(self.settings.pow_usual_per_minute.max(1));
        let mut extra = 0u8;
        while extra < self.settings.pow_max_extra_bits && last_minute > usual << extra {
            extra += 1;
        }
        base.saturating_add(extra).min(40)
    }

    /// A fresh challenge.
    pub fn challenge(&self, now: u64) -> Challenge {
        let difficulty = self.difficulty(now);
        let expires_at = now + CHALLENGE_LIFETIME_SECS;
        let mut bytes = Vec::with_capacity(CHALLENGE_LEN);
        bytes.push(CHALLENGE_VERSION);
        bytes.push(difficulty);
        bytes.extend_from_slice(&expires_at.to_be_bytes());
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).expect("the OS random source works");
        bytes.extend_from_slice(&random);
        let mac = self.mac(&bytes);
        bytes.extend_from_slice(&mac);
        Challenge {
            challenge: URL_SAFE_NO_PAD.encode(&bytes),
            difficulty,
            expires_at,
        }
    }

    fn mac(&self, bytes: &[u8]) -> [u8; 16] {
        let mut mac = <Hmac<Sha256>>::new_from_slice(&self.mac_key).expect("any key length");
        mac.update(b"cluebox/v1 challenge\0");
        mac.update(bytes);
        let full = mac.finalize().into_bytes();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        out
    }

    /// Checks the proof of work of a submission with idempotency key `key` and marks it used.
    pub fn check_pow(&self, pow: Option<&Pow>, key: &str, now: u64) -> Result<(), ApiError> {
        if self.settings.pow_bits == 0 {
            return Ok(());
        }
        let refuse = |why: &str| {
            Err(ApiError::PowRequired(format!(
                "{why}: fetch GET /api/v1/challenge and send its solution as `pow`"
            )))
        };
        let Some(pow) = pow else {
            return refuse("this request needs a proof of work");
        };
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(pow.challenge.as_bytes()) else {
            return refuse("the challenge is not one of this server's");
        };
        if bytes.len() != CHALLENGE_LEN || bytes[0] != CHALLENGE_VERSION {
            return refuse("the challenge is not one of this server's");
        }
        let (body, mac) = bytes.split_at(CHALLENGE_LEN - 16);
        if !bool::from(self.mac(body).as_slice().ct_eq(mac)) {
            return refuse("the challenge is not one of this server's");
        }
        let difficulty = bytes[1];
        let expires_at = u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes"));
        if expires_at < now {
            return refuse("the challenge has expired");
        }
        if difficulty < self.settings.pow_bits {
            return refuse("the challenge is easier than this server asks");
        }
        if !cluebox_protocol::pow::check(&bytes, pow.nonce, difficulty) {
            return refuse("the proof of work does not solve the challenge");
        }
        let random: [u8; 16] = bytes[10..26].try_into().expect("16 bytes");
        let mut used = self
            .used
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if used.len() > 100_000 {
            used.retain(|_, (until, _)| *until >= now);
        }
        match used.get(&random) {
            Some((_, by)) if by != key => refuse("this challenge was already used"),
            Some(_) => Ok(()),
            None => {
                used.insert(random, (expires_at, key.to_owned()));
                Ok(())
            }
        }
    }

    /// The per-client limit for `kind`; `Err(429)` with the wait when it is reached.
    pub fn admit(&self, client: Option<IpAddr>, kind: Kind) -> Result<(), ApiError> {
        let Some(ip) = client else {
            return Ok(());
        };
        self.rotate_if_old();
        let clients = self
            .clients
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = clients.key.hash_one(ip);
        let limiter = match kind {
            Kind::Submission => &clients.submissions,
            Kind::Lookup => &clients.lookups,
            Kind::Upload => &clients.uploads,
        };
        limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            ApiError::RateLimited(wait.as_secs().max(1))
        })
    }

    /// A new day: a new hash key and fresh limiters (so no keyed hash lives longer than a day).
    fn rotate_if_old(&self) {
        let old = self
            .clients
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .made
            .elapsed()
            > Duration::from_secs(DAY);
        if old {
            *self
                .clients
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Clients::new(&self.settings);
        }
    }

    /// Forgets idle per-client state (call now and then).
    pub fn tidy(&self) {
        let clients = self
            .clients
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        clients.submissions.retain_recent();
        clients.lookups.retain_recent();
        clients.uploads.retain_recent();
    }

    /// Takes `len` bytes of a submission out of the byte-rate ceiling, the daily quota and the
    /// free-space floor, or says why not.
    pub fn take_bytes(&self, len: usize, now: u64) -> Result<(), ApiError> {
        if self.low_space.load(Ordering::Relaxed) {
            return Err(ApiError::InsufficientStorage);
        }
        if let Some(limiter) = &self.bytes {
            let kib = NonZeroU32::new(u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX))
                .unwrap_or(NonZeroU32::MIN);
            match limiter.check_n(kib) {
                Ok(Ok(())) => {}
                _ => return Err(ApiError::Overloaded(1)),
            }
        }
        let today = cluebox_protocol::wire::day_of(now);
        if self.quota_day.swap(today, Ordering::Relaxed) != today {
            self.quota_bytes.store(0, Ordering::Relaxed);
        }
        let stored = self.quota_bytes.fetch_add(len as u64, Ordering::Relaxed) + len as u64;
        if stored > self.settings.daily_storage_bytes {
            self.quota_bytes.fetch_sub(len as u64, Ordering::Relaxed);
            return Err(ApiError::Overloaded(today + DAY - now));
        }
        Ok(())
    }

    /// After a submission of `len` bytes taken with [`Flood::take_bytes`] was written (or not):
    /// a new one counts towards the difficulty; for a repeat or a failure the bytes are given
    /// back. Passes the outcome through.
    pub fn settle<T>(
        &self,
        len: usize,
        written: Result<crate::store::Written, T>,
        now: u64,
    ) -> Result<crate::store::Written, T> {
        match &written {
            Ok(crate::store::Written::Created) => self.accepted(now),
            _ => self.give_back(len),
        }
        written
    }

    /// Gives back bytes taken for a submission that was not stored (a conflict, a repeat).
    pub fn give_back(&self, len: usize) {
        let _ = self
            .quota_bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some(b.saturating_sub(len as u64))
            });
    }

    /// Counts an accepted submission for the difficulty.
    pub fn accepted(&self, now: u64) {
        let mut recent = self
            .recent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match recent.back_mut() {
            Some((s, n)) if *s == now => *n += 1,
            _ => recent.push_back((now, 1)),
        }
        while recent.front().is_some_and(|(s, _)| s + 60 <= now) {
            recent.pop_front();
        }
    }

    /// Checks free space under `dir` against the floor; logs when that changes.
    pub fn check_space(&self, dir: &std::path::Path) {
        let Some(free) = free_bytes(dir) else {
            return;
        };
        let low = free < self.settings.min_free_bytes;
        let was = self.low_space.swap(low, Ordering::Relaxed);
        if low && !was {
            tracing::error!(
                free_mib = free / (1024 * 1024),
                floor_mib = self.settings.min_free_bytes / (1024 * 1024),
                "STORAGE LOW: new reports and follow-ups are refused (507) until space is freed; \
                 lookups and the desk go on"
            );
        } else if !low && was {
            tracing::warn!(
                free_mib = free / (1024 * 1024),
                "storage is above the floor again: accepting reports"
            );
        }
    }

    /// Whether the free-space floor is reached.
    pub fn low_space(&self) -> bool {
        self.low_space.load(Ordering::Relaxed)
    }
}

/// Free bytes for an unprivileged writer on the file system holding `dir`.
pub fn free_bytes(dir: &std::path::Path) -> Option<u64> {
    let stat = rustix::fs::statvfs(dir).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Runs [`Flood::check_space`] every second and [`Flood::tidy`] every minute.
pub async fn watch(flood: std::sync::Arc<Flood>, dir: PathBuf) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut n = 0u64;
    loop {
        tick.tick().await;
        let (flood2, dir2) = (std::sync::Arc::clone(&flood), dir.clone());
        let _ = tokio::task::spawn_blocking(move || flood2.check_space(&dir2)).await;
        n += 1;
        if n.is_multiple_of(60) {
            flood.tidy();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flood(pow_bits: u8) -> Flood {
        Flood::new(
            FloodSettings {
                pow_bits,
                ..FloodSettings::default()
            },
            0,
            0,
        )
    }

    fn solve(c: &Challenge) -> Pow {
        let bytes = URL_SAFE_NO_PAD.decode(&c.challenge).unwrap();
        Pow {
            challenge: c.challenge.clone(),
            nonce: cluebox_protocol::pow::solve(&bytes, c.difficulty, 0, u64::MAX).unwrap(),
        }
    }

    #[test]
    fn challenges_are_single_use_except_for_a_retry() {
        let f = flood(8);
        let now = 1_000_000;
        let c = f.challenge(now);
        assert_eq!(c.difficulty, 8);
        let pow = solve(&c);
        f.check_pow(Some(&pow), "key-1", now).unwrap();
        f.check_pow(Some(&pow), "key-1", now).unwrap();
        assert!(matches!(
            f.check_pow(Some(&pow), "key-2", now),
            Err(ApiError::PowRequired(_))
        ));
        assert!(f.check_pow(None, "key-3", now).is_err());
        let fresh = f.challenge(now);
        let bytes = URL_SAFE_NO_PAD.decode(&fresh.challenge).unwrap();
        let not_a_solution = (0..)
            .find(|&n| !cluebox_protocol::pow::check(&bytes, n, fresh.difficulty))
            .unwrap();
        let wrong = Pow {
            challenge: fresh.challenge.clone(),
            nonce: not_a_solution,
        };
        assert!(f.check_pow(Some(&wrong), "key-4", now).is_err());
        let mut tampered = bytes.clone();
        tampered[1] = 0; // claims difficulty 0
        let forged = Pow {
            challenge: URL_SAFE_NO_PAD.encode(&tampered),
            nonce: 0,
        };
        assert!(f.check_pow(Some(&forged), "key-5", now).is_err());
        let later = f.challenge(now);
        assert!(
            f.check_pow(
                Some(&solve(&later)),
                "key-6",
                now + CHALLENGE_LIFETIME_SECS + 1
            )
            .is_err(),
            "expired"
        );
        // Another server's challenge (another MAC key) is refused.
        let other = flood(8).challenge(now);
        assert!(f.check_pow(Some(&solve(&other)), "key-7", now).is_err());
        // Difficulty 0: no work asked.
        flood(0).check_pow(None, "k", now).unwrap();
    }

    #[test]
    fn difficulty_rises_with_the_rate() {
        let f = flood(10);
        let now = 5_000;
        assert_eq!(f.difficulty(now), 10);
        for _ in 0..(f.settings.pow_usual_per_minute * 8 + 1) {
            f.accepted(now);
        }
        assert_eq!(
            f.difficulty(now),
            14,
            "8x the usual rate: 3 doublings, plus one"
        );
        assert_eq!(f.difficulty(now + 61), 10, "a minute later");
    }

    #[test]
    fn the_daily_quota_and_the_space_floor() {
        let f = Flood::new(
            FloodSettings {
                daily_storage_bytes: 100_000,
                max_submission_bytes_per_sec: 0,
                ..FloodSettings::default()
            },
            60_000,
            0,
        );
        let now = 10;
        f.take_bytes(30_000, now).unwrap();
        assert!(matches!(
            f.take_bytes(30_000, now),
            Err(ApiError::Overloaded(secs)) if secs == DAY - 10
        ));
        f.give_back(30_000);
        f.take_bytes(30_000, now).unwrap();
        // A new day starts from zero.
        f.take_bytes(90_000, DAY + 5).unwrap();
        f.low_space.store(true, Ordering::Relaxed);
        assert!(matches!(
            f.take_bytes(1, DAY + 5),
            Err(ApiError::InsufficientStorage)
        ));
    }

    #[test]
    fn per_client_limits() {
        let f = Flood::new(
            FloodSettings {
                submissions_per_client_per_minute: 3,
                ..FloodSettings::default()
            },
            0,
            0,
        );
        let a: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..3 {
            f.admit(Some(a), Kind::Submission).unwrap();
        }
        assert!(matches!(
            f.admit(Some(a), Kind::Submission),
            Err(ApiError::RateLimited(_))
        ));
        f.admit(Some([127, 0, 0, 3].into()), Kind::Submission)
            .unwrap();
        f.admit(Some(a), Kind::Lookup).unwrap();
        f.admit(None, Kind::Submission).unwrap();
    }
}
