//! Seeded randomness for tests: the seed is printed so a failure can be replayed.

use rand::rngs::StdRng;
use rand::SeedableRng;

/// The variable that fixes the seed of every test's random choices.
pub const SEED_VARIABLE: &str = "EDGEBASE_TEST_SEED";

/// A random generator seeded from `$EDGEBASE_TEST_SEED` or from entropy; prints the seed.
pub fn seeded_rng(test_name: &str) -> StdRng {
    let seed = std::env::var(SEED_VARIABLE)
        .ok()
        .and_then(|value| value.trim().parse::<u64>().ok())
        .unwrap_or_else(rand::random);
    eprintln!("[{test_name}] random seed {seed} (replay with {SEED_VARIABLE}={seed})");
    StdRng::seed_from_u64(seed)
}
