//! Keeping the office current without anyone running `pull`: the scheduled pull, open and push
//! against the intake API, and the server-sent events (`/events`) that tell every open page
//! how many new reports its reader has, so the title and the list update by themselves.
//!
//! The events carry a number and nothing else. A stream re-checks its session before each
//! number without marking it used, so an open tab does not keep a session alive past its idle
//! time, and a signed-out or disabled account's stream ends.

use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use rusqlite::Connection;

use super::session::{self, Signed};
use super::{Shared, WebError};
use crate::remote::Remote;
use crate::{intake, sync};

/// Who the scheduled pull is in the audit log.
pub const ACTOR: &str = "desk.schedule";

/// What the scheduled pull needs.
pub struct Pulling {
    /// The intake API.
    pub remote: Remote,
    /// The desk bearer token.
    pub token: String,
    /// How long between two pulls.
    pub every: Duration,
    /// The desk database (the pull has its own connection, so pages never wait on the network).
    pub db: PathBuf,
}

/// Starts pulling in the background, on a thread of its own with its own database connection
/// (so pages never wait on the network): every `every`, new items are pulled, opened and
/// counted, queued status letters and replies pushed, and open pages told. A failure (the API
/// down, a network cut) is reported to the terminal and tried again next time.
pub fn start(desk: Shared, pulling: Pulling) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut conn = crate::db::open(&pulling.db)?;
    Ok(std::thread::Builder::new()
        .name("cluebox-desk-pull".into())
        .spawn(move || {
            runtime.block_on(async {
                loop {
                    match cycle(&desk, &mut conn, &pulling).await {
                        Ok(opened) if opened > 0 => desk.changed(),
                        Ok(_) => {}
                        Err(e) => super::report(&format!("scheduled pull: {e:#}")),
                    }
                    tokio::time::sleep(pulling.every).await;
                }
            });
        })?)
}

/// One pull, open and push; the number of reports and follow-ups opened.
async fn cycle(desk: &Shared, conn: &mut Connection, p: &Pulling) -> anyhow::Result<u64> {
    sync::pull(conn, &p.remote, &p.token, ACTOR).await?;
    let opened = intake::open_pending(conn, &desk.keys, ACTOR)?.new;
    sync::push(conn, &p.remote, &p.token).await?;
    Ok(opened)
}

/// `/events`: the reader's count of new reports now, and again whenever the cases change.
pub(super) async fn events(
    State(desk): State<Shared>,
    who: Signed,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, WebError> {
    let token = session::cookie(&headers, session::COOKIE).unwrap_or_default();
    let changes = desk.changes.subscribe();
    let state = (desk, who, token, changes, true);
    let counts = stream::unfold(state, |(desk, who, token, mut changes, first)| async move {
        if !first && changes.changed().await.is_err() {
            return None;
        }
        let (check, staff) = (token.clone(), who.staff.clone());
        let now = crate::now() as i64;
        let count = desk
            .run(move |conn, _| {
                Ok(session::find(conn, &check, now, false)?
                    .map(|_| super::handlers::new_count(conn, &staff)))
            })
            .await
            .ok()
            .flatten()?;
        let event = Event::default().event("count").data(count.to_string());
        Some((Ok(event), (desk, who, token, changes, false)))
    });
    Ok(Sse::new(counts).keep_alive(KeepAlive::default()))
}

/// `/desk.js`: follows `/events`.
pub(super) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("desk.js"),
    )
        .into_response()
}
