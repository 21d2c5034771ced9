//! `cluebox export`: writes inbox entries to a bundle file for an air-gapped desk, which imports
//! it with `cluebox-desk import` (no network between the two).
//!
//! The bundle holds exactly what `GET /api/v1/desk/inbox/{seq}` would give: sealed bytes and
//! their metadata, nothing readable.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use cluebox_protocol::wire::Bundle;

use crate::store::{Since, Store};

/// Parses `--since`: an inbox position (`42`) or a date (`2026-11-01`, UTC midnight).
pub fn parse_since(text: &str) -> anyhow::Result<Since> {
    if let Ok(seq) = text.parse::<u64>() {
        return Ok(Since::Seq(seq));
    }
    let date = parse_date(text).ok_or_else(|| {
        anyhow::anyhow!("--since takes an inbox position (42) or a date (2026-11-01), not {text:?}")
    })?;
    let at = date.midnight().assume_utc().unix_timestamp();
    Ok(Since::Time(u64::try_from(at).unwrap_or(0)))
}

fn parse_date(text: &str) -> Option<time::Date> {
    let mut parts = text.split('-');
    let (y, m, d) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse::<u8>().ok()?,
        parts.next()?.parse().ok()?,
    );
    if parts.next().is_some() {
        return None;
    }
    time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

/// Writes the bundle to `out` (atomically: a temporary file, fsync, rename). Returns the number
/// of entries.
pub async fn export(
    store: &dyn Store,
    profile: &str,
    since: Since,
    out: &Path,
) -> anyhow::Result<usize> {
    let entries = store.export(since).await?;
    let count = entries.len();
    let bundle = Bundle {
        bundle_version: 1,
        profile: profile.to_owned(),
        exported_at: crate::routes::now(),
        entries,
    };
    let tmp = out.with_extension("partial");
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
    serde_json::to_writer(&mut file, &bundle)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, out)?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("42").unwrap(), Since::Seq(42));
        assert_eq!(parse_since("1970-01-02").unwrap(), Since::Time(86_400));
        assert_eq!(
            parse_since("2026-11-23").unwrap(),
            Since::Time(1_795_392_000)
        );
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2026-13-01").is_err());
    }
}
