//! Small helpers for validating a state read from a snapshot
//! (`Model::validate` and the validators of shared components).

/// Return `Err(format!(...))` from the enclosing function unless `cond`.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if $cond {
        } else {
            return Err(format!($($fmt)+));
        }
    };
}
pub(crate) use ensure;

/// `x` must be finite.
pub fn finite(what: impl std::fmt::Display, x: f64) -> Result<(), String> {
    if x.is_finite() { Ok(()) } else { Err(format!("{what} is {x}, not a finite number")) }
}

/// `x` must be finite and >= 0.
pub fn non_negative(what: impl std::fmt::Display, x: f64) -> Result<(), String> {
    if x.is_finite() && x >= 0.0 { Ok(()) } else { Err(format!("{what} is {x}, not a finite number >= 0")) }
}

/// Every value of `xs` must be finite.
pub fn all_finite<'a>(what: impl std::fmt::Display, xs: impl IntoIterator<Item = &'a f64>) -> Result<(), String> {
    match xs.into_iter().position(|x| !x.is_finite()) {
        Some(k) => Err(format!("{what}[{k}] is not a finite number")),
        None => Ok(()),
    }
}

/// `i` must index a collection of `n` items.
pub fn index(what: impl std::fmt::Display, i: impl Into<u64>, n: usize) -> Result<(), String> {
    let i = i.into();
    if i < n as u64 { Ok(()) } else { Err(format!("{what} {i} is out of range (there are {n})")) }
}

/// `ids` must be distinct indices below `n`; returns a membership mask.
pub fn distinct(
    what: impl std::fmt::Display,
    ids: impl IntoIterator<Item = u32>,
    n: usize,
) -> Result<Vec<bool>, String> {
    let mut seen = vec![false; n];
    for i in ids {
        let k = i as usize;
        if k >= n {
            return Err(format!("{what} {i} is out of range (there are {n})"));
        }
        if std::mem::replace(&mut seen[k], true) {
            return Err(format!("{what} {i} is listed twice"));
        }
    }
    Ok(seen)
}
