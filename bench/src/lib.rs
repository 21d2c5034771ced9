//! What the benchmark commands share: writing their figures into `docs/BENCHMARKS.md`.

/// Replaces the block between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` in the Markdown
/// file at `path` with `block` (which carries the markers itself), or appends it if absent.
pub fn write_block(path: &std::path::Path, name: &str, block: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (start, end) = (
        format!("<!-- bench:{name} -->"),
        format!("<!-- /bench:{name} -->"),
    );
    let new = match (text.find(&start), text.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{}{}", &text[..a], block, &text[b + end.len()..]),
        _ => format!("{text}\n{block}\n"),
    };
    std::fs::write(path, new)?;
    Ok(())
}
