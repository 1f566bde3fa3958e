//! # omerta-sim
//!
//! A discrete-event, agent-based simulator of the Omerta compute market and
//! its trust system. The crate is layered; dependencies point one way:
//!
//! `cli -> models -> study/report -> market/ledger/trust/policy -> engine`
//!
//! A study (a folder under [`models`]) states itself once as a
//! [`study::StudyDef`] and is one row of [`models::REGISTRY`]; [`study`] and
//! [`report`] know no model (the command line passes the registry in).
//!
//! - [`engine`]: the model-agnostic discrete-event core (time, queue, random
//!   streams, `Simulation`, snapshots, progress, traces); its page has a
//!   minimal model and run.
//! - [`market`]: the price process, bids and the matching orders shared by
//!   the market studies.
//! - [`ledger`]: accounts with exact integer money, transfers with burns and
//!   trust inheritance, and the circular-flow detector.
//! - [`policy`]: observable network metrics and the automated monetary
//!   policy (its rules, phases and bounds).
//! - [`models`]: one module per study: a `Model`, its scenario and its report.
//! - [`study`]: scenario loading, many seeds in parallel, aggregation.
//! - [`report`]: statistics, `results.json`, Markdown, CSV and charts.
//! - [`trust`]: the trust engine and its trace replay.
//! - [`explore`]: the plans, designs and sensitivity indices of `explore`.

#![warn(missing_docs)]

pub mod cli;
pub mod engine;
pub mod explore;
pub mod ledger;
pub mod market;
pub mod models;
pub mod policy;
pub mod report;
pub mod study;
pub mod trust;
