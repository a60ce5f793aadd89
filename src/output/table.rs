//! The table format of `flux get`.
//!
//! Upstream prints with tablewriter v0.0.5 configured for kubectl-like
//! output: no borders, left alignment, a TAB after every cell, and
//! auto-formatted (upper-cased) headers. Reproducing its quirks exactly
//! matters because users and the goldens compare the bytes: the header's last
//! cell is followed by a space rather than a TAB, and row lines end in a TAB.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use unicode_width::UnicodeWidthStr;

/// Padding written after every cell (except the last header cell).
const CELL_SEPARATOR: &str = "\t";
/// Filler for the missing lines of a cell shorter than its row.
const EMPTY_LINE: &str = "  ";

static ANSI_ESCAPE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new("\x1b\\[(?:[0-9]{1,3}(?:;[0-9]{1,3})*)?[m|K]").expect("valid regex")
});

static LONG_HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)[a-f0-9]{40,128}(?-u:\b)").expect("valid regex"));

/// Render rows (and an optional header) the way `flux get` does.
pub fn render(header: Option<&[&str]>, rows: &[Vec<String>]) -> String {
    let header_lines: Vec<Vec<&str>> = header
        .unwrap_or_default()
        .iter()
        .map(|h| h.split('\n').collect())
        .collect();
    let row_lines: Vec<Vec<Vec<&str>>> = rows
        .iter()
        .map(|row| row.iter().map(|c| c.split('\n').collect()).collect())
        .collect();

    // Column widths come from the raw header text (before formatting) and
    // every line of every cell.
    let mut widths: BTreeMap<usize, usize> = BTreeMap::new();
    let cells = header_lines
        .iter()
        .enumerate()
        .chain(row_lines.iter().flat_map(|row| row.iter().enumerate()));
    for (col, lines) in cells {
        let w = lines.iter().map(|l| display_width(l)).max().unwrap_or(0);
        let entry = widths.entry(col).or_insert(0);
        *entry = (*entry).max(w);
    }
    let width = |col: usize| widths.get(&col).copied().unwrap_or(0);

    let mut out = String::new();
    if !header_lines.is_empty() {
        let columns = widths.len();
        let height = header_lines.iter().map(Vec::len).max().unwrap_or(0);
        for y in 0..height {
            for col in 0..columns {
                let raw = header_lines
                    .get(col)
                    .and_then(|lines| lines.get(y))
                    .copied()
                    .unwrap_or("");
                pad_right(&mut out, &format_header(raw), width(col));
                out.push_str(if col + 1 == columns {
                    " "
                } else {
                    CELL_SEPARATOR
                });
            }
            out.push('\n');
        }
    }
    for row in &row_lines {
        let height = row.iter().map(Vec::len).max().unwrap_or(0);
        for y in 0..height {
            for (col, lines) in row.iter().enumerate() {
                let line = lines.get(y).copied().unwrap_or(EMPTY_LINE);
                pad_right(&mut out, line, width(col));
                out.push_str(CELL_SEPARATOR);
            }
            out.push('\n');
        }
    }
    out
}

/// Shorten every 40–128 character lower-case hex run (commit SHAs, digests)
/// to its first 8 characters.
pub fn shorten_hex(s: &str) -> String {
    LONG_HEX
        .replace_all(s, |caps: &regex::Captures<'_>| caps[0][..8].to_string())
        .into_owned()
}

/// Terminal width, East-Asian aware, with colour escapes not counted.
fn display_width(s: &str) -> usize {
    ANSI_ESCAPE.replace_all(s, "").width()
}

fn pad_right(out: &mut String, s: &str, width: usize) {
    out.push_str(s);
    for _ in display_width(s)..width {
        out.push(' ');
    }
}

/// tablewriter's header auto-format: `_` and most `.` become spaces, the
/// result is trimmed and upper-cased.
fn format_header(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    // A dot survives only when each neighbour (if any) is a digit or space,
    // so numbers like `1.5` keep their point.
    let numeric_or_space = |c: char| c.is_ascii_digit() || c == ' ';
    let replaced: String = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            '_' => ' ',
            '.' => {
                let prev_bad = i > 0 && !numeric_or_space(chars[i - 1]);
                let next_bad = chars.get(i + 1).is_some_and(|&n| !numeric_or_space(n));
                if prev_bad || next_bad { ' ' } else { '.' }
            }
            other => other,
        })
        .collect();
    let trimmed = replaced.trim();
    // An all-blank header line keeps one space so multi-line headers stay aligned.
    if trimmed.is_empty() && !raw.is_empty() {
        return " ".to_string();
    }
    trimmed.to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::shared_dir;

    fn golden(name: &str) -> Option<String> {
        let path = shared_dir()
            .join("conformance/flux2-testdata/get")
            .join(name);
        std::fs::read_to_string(path).ok()
    }

    const GIT_HEADER: &[&str] = &["Name", "Revision", "Suspended", "Ready", "Message"];
    const FULL_REVISION: &str = "main@sha1:696f056df216eea4f9401adbee0ff744d4df390f";

    /// A `get sources git` row built from the fixture's fields.
    fn git_row(name: &str, revision: &str, ready: &str, message: &str) -> Vec<String> {
        vec![
            name.to_string(),
            shorten_hex(revision),
            "False".to_string(),
            ready.to_string(),
            shorten_hex(message),
        ]
    }

    fn fetched(name: &str) -> Vec<String> {
        let message = format!("Fetched revision: {FULL_REVISION}");
        git_row(name, FULL_REVISION, "True", &message)
    }

    fn failed() -> Vec<String> {
        git_row(
            "gr-failed",
            "",
            "False",
            "failed to checkout and determine revision",
        )
    }

    fn assert_golden(name: &str, rows: &[Vec<String>]) {
        let want = golden(name).unwrap_or_else(|| {
            panic!("golden {name} not found: set FLUX_SHARED_DIR to the shared/ directory")
        });
        assert_eq!(render(Some(GIT_HEADER), rows), want, "{name}");
    }

    #[test]
    fn matches_get_goldens() {
        let all = [
            fetched("podinfo"),
            fetched("podinfo-shard1"),
            fetched("podinfo-shard2"),
        ];
        assert_golden("get.golden", &all);
        assert_golden("get_label_one.golden", &all[1..2]);
        assert_golden("get_label_two.golden", &all[..1]);
        assert_golden("get_status_ready_true.golden", &[fetched("gr-ready")]);
        assert_golden("get_status_ready_false.golden", &[failed()]);
        let unknown = git_row("gr-unknown", "", "Unknown", "reconciliation in progress");
        assert_golden("get_status_ready_not_true.golden", &[failed(), unknown]);
    }

    #[test]
    fn layout_rules() {
        let rows = vec![vec!["a".to_string(), "bb".to_string()]];
        assert_eq!(render(Some(&["x", "yyy"]), &rows), "X\tYYY \na\tbb \t\n");
        assert_eq!(render(None, &rows), "a\tbb\t\n");
        assert_eq!(render(None, &[]), "");
        // Header only: one line.
        assert_eq!(render(Some(&["Name"]), &[]), "NAME \n");
    }

    #[test]
    fn multi_line_cells() {
        let rows = vec![vec!["one\ntwo".to_string(), "x".to_string()]];
        let out = render(Some(&["Name", "V"]), &rows);
        assert_eq!(out, "NAME\tV \none \tx\t\ntwo \t  \t\n");
    }

    #[test]
    fn widths_ignore_ansi_and_count_wide_chars() {
        let rows = vec![
            vec!["\x1b[31mred\x1b[0m".to_string(), "z".to_string()],
            vec!["日本".to_string(), "z".to_string()],
        ];
        let out = render(None, &rows);
        assert_eq!(out, "\x1b[31mred\x1b[0m \tz\t\n日本\tz\t\n");
    }

    #[test]
    fn header_formatting() {
        assert_eq!(format_header("Last scan"), "LAST SCAN");
        assert_eq!(format_header("last_scan"), "LAST SCAN");
        assert_eq!(format_header("a.b"), "A B");
        assert_eq!(format_header("v1.5"), "V1.5");
        assert_eq!(format_header("a.1"), "A 1");
        assert_eq!(format_header("1.5"), "1.5");
        assert_eq!(format_header(" x "), "X");
        assert_eq!(format_header("_"), " ");
        assert_eq!(format_header(""), "");
        // Width comes from the raw header, so trimming leaves padding.
        let rows = vec![vec!["a".to_string(), "b".to_string()]];
        assert_eq!(render(Some(&["_x_", "y"]), &rows), "X  \tY \na  \tb\t\n");
        // Rows wider than the header get blank header cells.
        let wide = vec![vec!["a".to_string(), "b".to_string(), "cc".to_string()]];
        assert_eq!(render(Some(&["n", "m"]), &wide), "N\tM\t   \na\tb\tcc\t\n");
    }

    #[test]
    fn hex_shortening() {
        assert_eq!(shorten_hex(FULL_REVISION), "main@sha1:696f056d");
        let digest = format!("6.3.5@sha256:{}", "6c959c51ccbb".repeat(5) + "1871");
        assert_eq!(shorten_hex(&digest), "6.3.5@sha256:6c959c51");
        let msg = format!("stored artifact for digest '{digest}'");
        assert_eq!(
            shorten_hex(&msg),
            "stored artifact for digest '6.3.5@sha256:6c959c51'"
        );
        assert_eq!(shorten_hex(""), "");
        // Too short, upper-case, glued to other word characters, or too long: kept.
        let short = "a".repeat(39);
        assert_eq!(shorten_hex(&short), short);
        let upper = "A".repeat(40);
        assert_eq!(shorten_hex(&upper), upper);
        let glued = format!("x{}", "a".repeat(40));
        assert_eq!(shorten_hex(&glued), glued);
        let long = "b".repeat(129);
        assert_eq!(shorten_hex(&long), long);
        assert_eq!(shorten_hex(&"c".repeat(128)), "cccccccc");
    }
}
