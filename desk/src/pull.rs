//! `pull`: fetch new sealed items from the intake API, store them, then acknowledge them.
//!
//! Safe to interrupt and rerun: the cursor moves only after the page is stored *and*
//! acknowledged, and storing is idempotent, so a rerun repeats at most the last page.

use cluebox_protocol::wire::{API_VERSION, AckRequest, AckResult, InboxEntry, InboxPage};
use rusqlite::Connection;

use crate::intake::{self, Counts};

/// Pulls until the API has nothing new.
pub async fn pull(
    conn: &mut Connection,
    server: &str,
    token: &str,
    actor: &str,
) -> anyhow::Result<Counts> {
    let http = reqwest::Client::new();
    let server = server.trim_end_matches('/');
    let mut total = Counts::default();
    loop {
        let after: u64 = intake::meta(conn, "pull_cursor")?.map_or(Ok(0), |v| v.parse())?;
        let page: InboxPage = http
            .get(format!(
                "{server}/api/v1/desk/inbox?after={after}&limit=100"
            ))
            .bearer_auth(token)
            .send()
            .await?
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
                .get(format!("{server}/api/v1/desk/inbox/{}", item.seq))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            entries.push(entry);
        }
        let counts = intake::store(conn, &entries, "pull", actor)?;
        total.new += counts.new;
        total.known += counts.known;
        let ack = AckRequest {
            v: API_VERSION,
            seqs: page.items.iter().map(|i| i.seq).collect(),
        };
        let _: AckResult = http
            .post(format!("{server}/api/v1/desk/acks"))
            .bearer_auth(token)
            .json(&ack)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        intake::set_meta(conn, "pull_cursor", &page.next_after.to_string())?;
    }
}
