//! Text helpers for comparing monitor output: line-end normalisation, masking
//! values that legitimately differ between two QEMU instances, readable diffs.

/// QEMU's monitor emits CR LF; compare with plain LF.
pub fn crlf_to_lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// Replaces the digits that follow each occurrence of `prefix` by `*`
/// (e.g. `thread_id=` or `#block`), for values that differ per instance.
pub fn mask_number_after(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(prefix) {
        let after = pos + prefix.len();
        out.push_str(&rest[..after]);
        let tail = &rest[after..];
        let digits = tail.len()
            - tail
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-')
                .len();
        if digits > 0 {
            out.push('*');
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

/// A unified-style line diff of `expected` (native) against `actual`, with a
/// few lines of context; empty when equal. Large inputs are trimmed to the
/// differing middle so the output stays readable.
pub fn line_diff(expected: &str, actual: &str) -> String {
    if expected == actual {
        return String::new();
    }
    let a: Vec<&str> = expected.split_inclusive('\n').collect();
    let b: Vec<&str> = actual.split_inclusive('\n').collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (mid_a, mid_b) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out = String::new();
    let context_start = prefix.saturating_sub(3);
    out.push_str(&format!("@@ line {} @@\n", prefix + 1));
    for line in &a[context_start..prefix] {
        out.push_str(&show(' ', line));
    }
    const MAX_LCS_CELLS: usize = 4_000_000;
    if mid_a.len() * mid_b.len() <= MAX_LCS_CELLS {
        for (tag, line) in lcs_script(mid_a, mid_b) {
            out.push_str(&show(tag, line));
        }
    } else {
        mid_a
            .iter()
            .take(40)
            .for_each(|l| out.push_str(&show('-', l)));
        mid_b
            .iter()
            .take(40)
            .for_each(|l| out.push_str(&show('+', l)));
        out.push_str("(diff truncated)\n");
    }
    for line in a[a.len() - suffix..].iter().take(3) {
        out.push_str(&show(' ', line));
    }
    cap_lines(out, MAX_DIFF_LINES)
}

/// Longest diff shown per comparison; the rest is summarised.
const MAX_DIFF_LINES: usize = 120;

fn cap_lines(text: String, max: usize) -> String {
    let total = text.lines().count();
    if total <= max {
        return text;
    }
    let mut kept: String = text.split_inclusive('\n').take(max).collect();
    kept.push_str(&format!("... ({} more diff lines)\n", total - max));
    kept
}

/// One diff line; invisible differences (CR, trailing blanks, missing final
/// newline) are spelled out.
fn show(tag: char, line: &str) -> String {
    let body = line.strip_suffix('\n');
    let visible = body.unwrap_or(line).replace('\r', "\\r");
    let trail = if visible.ends_with(' ') || visible.ends_with('\t') {
        " [trailing blank]"
    } else {
        ""
    };
    let eol = if body.is_some() {
        ""
    } else {
        " (no newline at end)"
    };
    format!("{tag} {visible}{trail}{eol}\n")
}

/// Edit script between two line lists by longest common subsequence.
fn lcs_script<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(char, &'a str)> {
    let (n, m) = (a.len(), b.len());
    let mut table = vec![0u32; (n + 1) * (m + 1)];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            table[i * (m + 1) + j] = if a[i] == b[j] {
                table[(i + 1) * (m + 1) + j + 1] + 1
            } else {
                table[(i + 1) * (m + 1) + j].max(table[i * (m + 1) + j + 1])
            };
        }
    }
    let (mut i, mut j, mut script) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            script.push((' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < n && (j == m || table[(i + 1) * (m + 1) + j] >= table[i * (m + 1) + j + 1]) {
            script.push(('-', a[i]));
            i += 1;
        } else {
            script.push(('+', b[j]));
            j += 1;
        }
    }
    script
}
