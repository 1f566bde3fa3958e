//! Named, seeded random streams.
//!
//! Every random process of a model draws from its own PCG stream, seeded from
//! the run's master seed and the stream's name (and, optionally, an extra
//! index such as a round number). Adding a process therefore never shifts the
//! numbers another process sees. The streams are part of the simulation state
//! and so of every snapshot.

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

/// The generator every stream uses.
pub type StreamRng = Pcg64Mcg;

/// Index of a stream in a model's list of stream names.
pub type StreamId = usize;

/// SplitMix64 finaliser: a bijective 64-bit mixer.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a over bytes: a stable (not per-process) string hash.
#[inline]
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The seed of stream `name` (with an extra index) under master seed `master`.
pub fn derive_seed(master: u64, name: &str, index: u64) -> u64 {
    mix64(mix64(master) ^ mix64(fnv1a(name.as_bytes())) ^ mix64(index.wrapping_add(0x5151)))
}

/// A generator for stream `name` under `master`, with an extra index.
pub fn stream(master: u64, name: &str, index: u64) -> StreamRng {
    StreamRng::seed_from_u64(derive_seed(master, name, index))
}

/// The streams of one run, indexed by [`StreamId`].
///
/// ```
/// use omerta_sim::engine::RngStreams;
/// use rand::RngExt;
///
/// let mut a = RngStreams::new(7, &["price", "bids"]);
/// let mut b = RngStreams::new(7, &["bids", "price"]);
/// // A stream's numbers depend on the master seed and its name, not on its
/// // position in the list.
/// let x: u64 = a.get(0).random();
/// assert_eq!(b.get(1).random::<u64>(), x);
/// assert_ne!(RngStreams::new(8, &["price"]).get(0).random::<u64>(), x);
/// // Reseeding with an index replays (index 0) or gives other numbers.
/// a.reseed(0, 0);
/// assert_eq!(a.get(0).random::<u64>(), x);
/// a.reseed(0, 1);
/// assert_ne!(a.get(0).random::<u64>(), x);
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RngStreams {
    master: u64,
    names: Vec<String>,
    streams: Vec<StreamRng>,
}

impl RngStreams {
    /// One stream per name, seeded from `master` with index 0.
    pub fn new(master: u64, names: &[&str]) -> Self {
        RngStreams {
            master,
            names: names.iter().map(|s| s.to_string()).collect(),
            streams: names.iter().map(|n| stream(master, n, 0)).collect(),
        }
    }

    /// The run's master seed.
    pub fn master(&self) -> u64 {
        self.master
    }

    /// The generator of stream `id`.
    #[inline]
    pub fn get(&mut self, id: StreamId) -> &mut StreamRng {
        &mut self.streams[id]
    }

    /// Reseed stream `id` from the master seed, its name and `index` (e.g. to
    /// give every iteration of a study its own numbers).
    pub fn reseed(&mut self, id: StreamId, index: u64) {
        self.streams[id] = stream(self.master, &self.names[id], index);
    }

    /// Reseed every stream with `index`.
    pub fn reseed_all(&mut self, index: u64) {
        for id in 0..self.streams.len() {
            self.reseed(id, index);
        }
    }

    /// Stream names, in id order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Check streams read from a snapshot: one generator per name, the names
    /// those of the model (`names`), the master seed `master`.
    pub fn validate(&self, names: &[&str], master: u64) -> Result<(), String> {
        if self.streams.len() != self.names.len() || self.names.len() != names.len() {
            return Err(format!(
                "{} random streams with {} names; the model has {} streams",
                self.streams.len(),
                self.names.len(),
                names.len()
            ));
        }
        if let Some((have, want)) = self.names.iter().zip(names).find(|(a, b)| a.as_str() != **b) {
            return Err(format!("random stream `{have}` where the model has `{want}`"));
        }
        if self.master != master {
            return Err(format!("random streams of master seed {} in a run of seed {master}", self.master));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_named_and_independent() {
        let mut a = RngStreams::new(7, &["price", "bids"]);
        let mut b = RngStreams::new(7, &["bids", "price"]);
        let x: u64 = a.get(0).random();
        let y: u64 = b.get(1).random();
        assert_eq!(x, y, "a stream depends on its name, not its position");
        let z: u64 = b.get(0).random();
        assert_ne!(x, z);
        let mut c = RngStreams::new(8, &["price"]);
        let w: u64 = c.get(0).random();
        assert_ne!(x, w);
    }

    #[test]
    fn reseed_with_index() {
        let mut a = RngStreams::new(1, &["s"]);
        let first: u64 = a.get(0).random();
        a.reseed(0, 0);
        assert_eq!(first, a.get(0).random::<u64>());
        a.reseed(0, 1);
        assert_ne!(first, a.get(0).random::<u64>());
    }
}
