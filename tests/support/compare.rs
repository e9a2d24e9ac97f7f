//! Tallying native-versus-product comparisons and reporting them readably.

use super::text::{crlf_to_lf, line_diff};

/// Collects comparisons for one QEMU version and fails once, at the end, with
/// every mismatch listed.
pub struct Tally {
    version: String,
    total: usize,
    identical: usize,
    failures: Vec<String>,
}

impl Tally {
    pub fn new(version: &str) -> Tally {
        Tally {
            version: version.to_string(),
            total: 0,
            identical: 0,
            failures: Vec::new(),
        }
    }

    /// Compares `native` (QEMU's own text) with `product` after CR LF
    /// normalisation. `notes` (e.g. the product's stderr) go into the report.
    pub fn compare(&mut self, label: &str, native: &str, product: &str, notes: &str) -> bool {
        self.total += 1;
        let (native, product) = (crlf_to_lf(native), crlf_to_lf(product));
        if native == product {
            self.identical += 1;
            return true;
        }
        let mut report = format!("--- native QEMU {} / +++ qhmp: `{label}`\n", self.version);
        report.push_str(&line_diff(&native, &product));
        if !notes.is_empty() {
            report.push_str(notes.trim_end());
            report.push('\n');
        }
        self.failures.push(report);
        false
    }

    /// Records a comparison that could not be made (e.g. qhmp did not start).
    pub fn broken(&mut self, label: &str, why: &str) {
        self.total += 1;
        self.failures
            .push(format!("`{label}` on QEMU {}: {why}\n", self.version));
    }

    /// Prints "N of M … byte-identical on QEMU x.y" and panics on any mismatch.
    pub fn finish(self, what: &str) {
        if let Some(failures) = self.report(what) {
            panic!("{failures}");
        }
    }

    /// Prints "N of M … byte-identical on QEMU x.y"; the mismatches, if any.
    pub fn report(self, what: &str) -> Option<String> {
        eprintln!(
            "{} of {} {what} byte-identical on QEMU {}",
            self.identical, self.total, self.version
        );
        if self.failures.is_empty() {
            return None;
        }
        Some(format!(
            "{} of {} {what} differ on QEMU {}:\n\n{}",
            self.failures.len(),
            self.total,
            self.version,
            self.failures.join("\n")
        ))
    }
}

/// Reports every tally, then panics once with all mismatches.
pub fn finish_all(tallies: Vec<(Tally, &str)>) {
    let failures: Vec<String> = tallies
        .into_iter()
        .filter_map(|(tally, what)| tally.report(what))
        .collect();
    if !failures.is_empty() {
        panic!("{}", failures.join("\n\n"));
    }
}
