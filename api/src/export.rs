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
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        anyhow::bail!("--since takes an inbox position (42) or a date (2026-11-01), not {text:?}");
    };
    let (y, m, d): (i64, u32, u32) = (y.parse()?, m.parse()?, d.parse()?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        anyhow::bail!("{text:?} is not a valid date");
    }
    Ok(Since::Time(days_from_civil(y, m, d) as u64 * 86_400))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
