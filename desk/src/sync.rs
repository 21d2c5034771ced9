//! Talking to the intake API: `pull` (new sealed items in) and `push` (public status changes and
//! sealed replies out).
//!
//! Both are safe to interrupt and rerun. `pull`'s cursor moves only after a page is stored *and*
//! acknowledged, and storing is idempotent, so a rerun repeats at most the last page. `push`
//! sends each queued change with its own idempotency key and marks it sent only after the API
//! answered, so a rerun repeats at most one, which the API recognises.

use cluebox_protocol::wire::{
    API_VERSION, AckRequest, AckResult, IdempotencyKey, InboxEntry, InboxPage, PostReply,
    PostStatus, Sealed,
};
use rusqlite::{Connection, params};

use crate::intake::{self, Counts};
use crate::remote::Remote;

/// Pulls until the API has nothing new.
pub async fn pull(
    conn: &mut Connection,
    remote: &Remote,
    token: &str,
    actor: &str,
) -> anyhow::Result<Counts> {
    let http = remote.http();
    let mut total = Counts::default();
    loop {
        let after: u64 = intake::meta(conn, "pull_cursor")?.map_or(Ok(0), |v| v.parse())?;
        let page: InboxPage = http
            .get(remote.url(&format!("/api/v1/desk/inbox?after={after}&limit=100")))
            .bearer_auth(token)
            .send()
            .await
            .map_err(connection_error)?
            .error_for_status()
            .map_err(|e| {
                anyhow::anyhow!("the API refused the inbox listing: {e} (check the desk token)")
            })?
            .json()
            .await?;
        if page.items.is_empty() {
            return Ok(total);
        }
        let mut entries = Vec::with_capacity(page.items.len());
        for item in &page.items {
            let entry: InboxEntry = http
                .get(remote.url(&format!("/api/v1/desk/inbox/{}", item.seq)))
                .bearer_auth(token)
                .send()
                .await
                .map_err(connection_error)?
                .error_for_status()?
                .json()
                .await?;
            entries.push(entry);
        }
        let counts = intake::store(conn, &entries, "pull", actor)?;
        // Evidence files before the acknowledgement: an acknowledged item is complete here.
        if let Some(dir) = crate::evidence::dir_of_conn(conn) {
            crate::evidence::fetch(conn, remote, token, &dir).await?;
        }
        total.new += counts.new;
        total.known += counts.known;
        let ack = AckRequest {
            v: API_VERSION,
            seqs: page.items.iter().map(|i| i.seq).collect(),
        };
        let _: AckResult = http
            .post(remote.url("/api/v1/desk/acks"))
            .bearer_auth(token)
            .json(&ack)
            .send()
            .await
            .map_err(connection_error)?
            .error_for_status()?
            .json()
            .await?;
        intake::set_meta(conn, "pull_cursor", &page.next_after.to_string())?;
    }
}

/// A failed connection, with its causes (a refused certificate or pin says so).
pub fn connection_error(e: reqwest::Error) -> anyhow::Error {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    anyhow::anyhow!("cannot reach the API: {text}")
}

/// Sends every queued status change and reply; returns how many were sent.
pub async fn push(conn: &Connection, remote: &Remote, token: &str) -> anyhow::Result<u64> {
    let http = remote.http();
    type Row = (
        i64,
        String,
        String,
        Option<String>,
        Option<Vec<u8>>,
        u64,
        String,
    );
    let queued: Vec<Row> = conn
        .prepare(
            "SELECT id, case_id, kind, status, sealed, at, idempotency_key FROM outbox
             WHERE pushed_at IS NULL ORDER BY id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<Result<_, _>>()?;
    let mut sent = 0;
    for (id, case_id, kind, status, sealed, at, key) in queued {
        let idempotency_key = IdempotencyKey::new(&key)
            .ok_or_else(|| anyhow::anyhow!("outbox entry {id} is damaged"))?;
        let request = match (kind.as_str(), status, sealed) {
            ("status", Some(status), Some(sealed)) => http
                .post(remote.url(&format!("/api/v1/desk/cases/{case_id}/events")))
                .json(&PostStatus {
                    v: API_VERSION,
                    status,
                    at,
                    sealed: Sealed(sealed),
                    idempotency_key,
                }),
            ("reply", _, Some(sealed)) => http
                .post(remote.url(&format!("/api/v1/desk/cases/{case_id}/replies")))
                .json(&PostReply {
                    v: API_VERSION,
                    sealed: Sealed(sealed),
                    idempotency_key,
                }),
            _ => anyhow::bail!("outbox entry {id} is damaged"),
        };
        let response = request
            .bearer_auth(token)
            .send()
            .await
            .map_err(connection_error)?;
        if !response.status().is_success() {
            let status = response.status();
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("the API refused {kind} for case {case_id}: {status} {body}");
        }
        conn.execute(
            "UPDATE outbox SET pushed_at = ?2 WHERE id = ?1",
            params![id, crate::now()],
        )?;
        sent += 1;
    }
    Ok(sent)
}
