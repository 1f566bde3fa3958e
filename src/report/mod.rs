//! Reporting: statistics over seeds, the `results.json` contract, CSV tables,
//! Markdown tables and charts (SVG + PNG).

pub mod chart;
pub mod markdown;
pub mod results;
pub mod stats;

pub use results::{
    FindingDef, FindingResult, MetricResult, Results, SeedOutput, Table, Verdict, VerdictRule, aggregate, read_results,
    write_atomic, write_results, write_tables,
};
pub use stats::{Summary, Support, summarize, summarize_with};
