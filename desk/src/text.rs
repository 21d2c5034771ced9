//! Reporter text made safe for a staff terminal and a spreadsheet.
//!
//! Everything in a report is written by someone outside. Printed raw, an escape sequence in it
//! can drive the staff member's terminal (write their clipboard with OSC 52, clear the screen,
//! recolour or hide lines), and bidirectional overrides can make text read differently from
//! what it is. [`line()`] and [`block()`] show every such character visibly as `\u{..}` instead.
//! [`csv()`] writes CSV with the `csv` crate and neutralises cells a spreadsheet would run as a
//! formula.
//!
//! Every command that prints reporter text goes through here; nothing else prints it.

use std::borrow::Cow;

/// Characters never printed as they are: C0 controls, DEL, C1 controls, and the Unicode
/// direction and line controls.
fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}')
}

fn escape(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unsafe(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_unsafe(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// For one line of output: every control character, newlines and tabs included, shown
/// visibly.
pub fn line(text: &str) -> Cow<'_, str> {
    escape(text, |_| false)
}

/// For a paragraph: newlines and tabs kept (a report's description has several lines), every
/// other control character shown visibly. Each continuation line is indented, so reporter
/// text cannot pose as a heading of the desk's own output.
pub fn block(text: &str) -> String {
    escape(text, |c| c == '\n' || c == '\t')
        .replace("\r\n", "\n")
        .replace('\n', "\n    ")
}

/// One CSV cell that a spreadsheet will not run: a cell starting with `=`, `+`, `-`, `@`, a tab
/// or a carriage return gets a leading `'` (OWASP's advice on CSV injection).
pub fn cell(text: &str) -> Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{text}"))
    } else {
        Cow::Borrowed(text)
    }
}

/// CSV text from rows, every cell through [`cell`], quoted where needed (the `csv` crate).
pub fn csv<'a>(rows: impl IntoIterator<Item = Vec<Cow<'a, str>>>) -> anyhow::Result<String> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row.iter().map(|c| cell(c).into_owned()))?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_are_shown_not_run() {
        let attack = "ok\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J\u{1b}[31mred\u{9b}1m\u{202e}txt.exe";
        let shown = line(attack);
        assert!(!shown.chars().any(is_unsafe), "{shown}");
        assert_eq!(
            shown,
            "ok\\u{1b}]52;c;ZXZpbA==\\u{7}\\u{1b}[2J\\u{1b}[31mred\\u{9b}1m\\u{202e}txt.exe"
        );
        assert_eq!(line("a\nb"), "a\\u{a}b");
        assert_eq!(block("a\nb\u{1b}c"), "a\n    b\\u{1b}c");
        assert!(matches!(line("普通文字 plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn csv_quotes_and_neutralises_formulas() {
        let out = csv([vec![
            Cow::Borrowed("=HYPERLINK(\"http://x\",\"y\")"),
            Cow::Borrowed("line\nbreak, comma"),
            Cow::Borrowed("-1+2"),
            Cow::Borrowed("@SUM(A1)"),
            Cow::Borrowed("正常"),
        ]])
        .unwrap();
        assert_eq!(
            out,
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",\"line\nbreak, comma\",'-1+2,'@SUM(A1),正常\n"
        );
    }
}
