//! Validation of a economic value model read from a snapshot (`Model::validate`,
//! `StudyModel::fresh_run`).

use super::super::config::resolve;
use super::EconomicMarket;
use crate::engine::Audit;
use crate::engine::Model;
use crate::engine::check::ensure;
use crate::study::run::{Run, RunMeta, same_bytes, stored_scenario};

/// A new run of `meta` for `m` to be validated against (see
/// `StudyModel::fresh_run`).
pub(crate) fn fresh_run(m: &EconomicMarket, meta: &RunMeta) -> Result<Run<EconomicMarket>, String> {
    let scenario = stored_scenario(meta)?;
    let params = resolve(&scenario).map_err(|e| format!("the scenario stored in the snapshot: {e}"))?;
    ensure!(same_bytes(&params, &m.params), "the model's parameters are not those of the scenario stored beside it");
    Ok(Run::new(meta.clone(), EconomicMarket::new(params)))
}

pub(crate) fn validate(m: &EconomicMarket, audit: &Audit<'_, EconomicMarket>) -> Result<(), String> {
    let _ = audit;
    m.check_invariants()
}
