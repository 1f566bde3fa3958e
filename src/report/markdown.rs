//! GitHub-flavoured Markdown tables, padded so they also read well in a terminal.

use std::collections::BTreeMap;

use super::results::{FindingResult, MetricResult};

/// A Markdown table builder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MdTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    align_right: Vec<bool>,
}

impl MdTable {
    /// New table with the given column names (all columns left-aligned).
    pub fn new<I, S>(header: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let header: Vec<String> = header.into_iter().map(Into::into).collect();
        let align_right = vec![false; header.len()];
        MdTable { header, rows: Vec::new(), align_right }
    }

    /// Set which columns are right-aligned (missing entries = left).
    pub fn align_right(mut self, right: &[bool]) -> Self {
        for (i, r) in right.iter().enumerate().take(self.header.len()) {
            self.align_right[i] = *r;
        }
        self
    }

    /// Append a row; missing cells render empty, extra cells are dropped.
    pub fn row<I, S>(&mut self, cells: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True if there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Render as Markdown, one line per row, ending with a newline.
    /// `|` in cells is escaped and newlines become spaces.
    pub fn render(&self) -> String {
        let ncol = self.header.len();
        if ncol == 0 {
            return String::new();
        }
        let clean = |s: &str| s.replace('|', "\\|").replace(['\r', '\n'], " ");
        let header: Vec<String> = self.header.iter().map(|s| clean(s)).collect();
        let rows: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| (0..ncol).map(|i| r.get(i).map(|s| clean(s)).unwrap_or_default()).collect())
            .collect();
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = header.iter().map(|h| width(h).max(3)).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(width(c));
            }
        }
        let line = |cells: &[String]| {
            let mut out = String::from("|");
            for (i, c) in cells.iter().enumerate() {
                let pad = " ".repeat(widths[i] - width(c));
                if self.align_right[i] {
                    out.push_str(&format!(" {pad}{c} |"));
                } else {
                    out.push_str(&format!(" {c}{pad} |"));
                }
            }
            out.push('\n');
            out
        };
        let mut out = line(&header);
        out.push('|');
        for (i, w) in widths.iter().enumerate() {
            if self.align_right[i] {
                out.push_str(&format!(" {}: |", "-".repeat(w - 1)));
            } else {
                out.push_str(&format!(" {} |", "-".repeat(*w)));
            }
        }
        out.push('\n');
        for r in &rows {
            out.push_str(&line(r));
        }
        out
    }
}

/// Decimals giving about three significant digits for a number of this
/// magnitude (2 for 0 or non-finite, between 0 and 8).
pub fn auto_decimals(x: f64) -> usize {
    if !x.is_finite() || x == 0.0 {
        return 2;
    }
    let mag = x.abs().log10().floor() as i64;
    (2 - mag).clamp(0, 8) as usize
}

/// `mean [lo, hi]` with `decimals` decimals; just the mean if there is no
/// interval; `n/a` when the mean is undefined.
pub fn fmt_ci(m: &MetricResult, decimals: usize) -> String {
    match (m.mean, m.ci95) {
        (Some(mean), Some([lo, hi])) => {
            format!("{mean:.decimals$} [{lo:.decimals$}, {hi:.decimals$}]")
        }
        (Some(mean), None) => format!("{mean:.decimals$}"),
        _ => "n/a".to_string(),
    }
}

/// The `mean [lo, hi]` cell of metric `key`, `n/a` if it is not there.
pub fn metric_cell(metrics: &BTreeMap<String, MetricResult>, key: &str, decimals: usize) -> String {
    metrics.get(key).map(|m| fmt_ci(m, decimals)).unwrap_or_else(|| "n/a".into())
}

/// Share as a percentage: whole numbers without decimals, else one decimal.
pub fn fmt_percent(share: f64) -> String {
    let p = share * 100.0;
    if !p.is_finite() {
        "n/a".to_string()
    } else if (p - p.round()).abs() < 1e-9 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Table of findings: finding, claim, held in (%), verdict.
pub fn findings_table(findings: &[FindingResult]) -> String {
    let mut t = MdTable::new(["finding", "claim", "held in", "verdict"]).align_right(&[false, false, true, false]);
    for f in findings {
        t.row([f.id.clone(), f.claim.clone(), fmt_percent(f.held_in.unwrap_or(f64::NAN)), f.verdict.to_string()]);
    }
    t.render()
}

/// Table of metrics: metric, mean [95 % CI], n. With `keys`, only those
/// metrics in that order (a key without a result shows `n/a`, n = 0);
/// otherwise all metrics in key order. Decimals are chosen per metric by
/// [`auto_decimals`] on the largest of |mean|, |lo|, |hi|.
pub fn metrics_table(metrics: &BTreeMap<String, MetricResult>, keys: Option<&[&str]>) -> String {
    let mut t = MdTable::new(["metric", "mean [95% CI]", "n"]).align_right(&[false, false, true]);
    let mut add = |key: &str, m: Option<&MetricResult>| match m {
        Some(m) => {
            let [lo, hi] = m.ci95.unwrap_or([0.0, 0.0]);
            let scale = m.mean.unwrap_or(0.0).abs().max(lo.abs()).max(hi.abs());
            t.row([key.to_string(), fmt_ci(m, auto_decimals(scale)), m.n.to_string()]);
        }
        None => {
            t.row([key, "n/a", "0"]);
        }
    };
    match keys {
        Some(keys) => {
            for k in keys {
                add(k, metrics.get(*k));
            }
        }
        None => {
            for (k, m) in metrics {
                add(k, Some(m));
            }
        }
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::results::Verdict;

    fn metric(mean: Option<f64>, ci: Option<[f64; 2]>, n: usize) -> MetricResult {
        MetricResult { mean, ci95: ci, n, values: vec![] }
    }

    #[test]
    fn table_padding_and_alignment() {
        let mut t = MdTable::new(["name", "v"]).align_right(&[false, true]);
        t.row(["alpha", "1.5"]).row(["b|c", "22"]).row(["short"]);
        let out = t.render();
        let expected = "\
| name  |   v |
| ----- | --: |
| alpha | 1.5 |
| b\\|c  |  22 |
| short |     |
";
        assert_eq!(out, expected);
        let lens: Vec<usize> = out.lines().map(|l| l.chars().count()).collect();
        assert!(lens.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(t.len(), 3);
        assert_eq!(MdTable::new(Vec::<String>::new()).render(), "");
    }

    #[test]
    fn ci_formatting() {
        let m = metric(Some(0.0712), Some([0.065, 0.0774]), 10);
        assert_eq!(fmt_ci(&m, 4), "0.0712 [0.0650, 0.0774]");
        assert_eq!(fmt_ci(&metric(Some(2.0), None, 1), 1), "2.0");
        assert_eq!(fmt_ci(&metric(None, None, 0), 3), "n/a");
        assert_eq!(auto_decimals(0.0712), 4);
        assert_eq!(auto_decimals(12.3), 1);
        assert_eq!(auto_decimals(12345.0), 0);
        assert_eq!(auto_decimals(0.0), 2);
    }

    #[test]
    fn findings_and_metrics_tables() {
        let f = vec![
            FindingResult { id: "F1".into(), claim: "c one".into(), held_in: Some(0.9), verdict: Verdict::Holds },
            FindingResult { id: "F2".into(), claim: "c two".into(), held_in: Some(2.0 / 3.0), verdict: Verdict::Mixed },
            FindingResult { id: "F3".into(), claim: "c 3".into(), held_in: None, verdict: Verdict::NotApplicable },
        ];
        let out = findings_table(&f);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[4].contains("|     n/a | n/a "), "{out}");
        assert!(lines[0].starts_with("| finding | claim | held in | verdict |"));
        assert!(lines[2].contains("|     90% | holds"), "{out}");
        assert!(lines[3].contains("66.7%") && lines[3].contains("mixed"));

        let mut ms = BTreeMap::new();
        ms.insert("b".to_string(), metric(Some(0.0712), Some([0.065, 0.0774]), 10));
        ms.insert("a".to_string(), metric(None, None, 0));
        let all = metrics_table(&ms, None);
        let lines: Vec<&str> = all.lines().collect();
        assert!(lines[2].starts_with("| a ") && lines[2].contains("n/a"));
        assert!(lines[3].contains("0.0712 [0.0650, 0.0774]") && lines[3].ends_with(" 10 |"));
        let some = metrics_table(&ms, Some(&["b", "zzz"]));
        let lines: Vec<&str> = some.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].starts_with("| b "));
        assert!(lines[3].starts_with("| zzz") && lines[3].contains("n/a"));
    }
}
