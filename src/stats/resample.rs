//! The seeded stream of indices the bootstrap resamples with, the same on every platform.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Uniform indices from ChaCha8 (`rand_chacha`), keyed by the seed alone.
///
/// The 32-byte ChaCha key is the seed's 8 little-endian bytes followed by 24 zero bytes, stream
/// 0, so the indices depend on the ChaCha8 algorithm and the seed, never on `rand`'s sampling
/// code or the platform. Each index takes one 64-bit output: Lemire's multiply-and-shift with
/// rejection, so every index is exactly equally likely.
pub(crate) struct IndexStream {
    rng: ChaCha8Rng,
}

impl IndexStream {
    pub(crate) fn new(seed: u64) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        IndexStream {
            rng: ChaCha8Rng::from_seed(key),
        }
    }

    /// A uniform index in `0..len`; `len` must be positive.
    pub(crate) fn next_index(&mut self, len: usize) -> usize {
        debug_assert!(len > 0);
        let range = len as u64;
        // Outputs whose low product half falls below 2^64 mod range would make the small
        // indices more likely; they are drawn again.
        let threshold = range.wrapping_neg() % range;
        loop {
            let product = u128::from(self.rng.next_u64()) * u128::from(range);
            if (product as u64) >= threshold {
                return (product >> 64) as usize;
            }
        }
    }
}
