#!/usr/bin/env bash
# The long fuzzing run: every property-based fuzz target with many more cases than CI's
# default 256, then the state machine's model test over many seeds.
#
#   tests/fuzz.sh [CASES] [MODEL_SEEDS]     (defaults: 50000 cases, 200 seeds)
#
# A failure prints the minimal failing input (proptest shrinks it) and, for the model test,
# the seed (replay with EDGEBASE_TEST_SEED=...). Keep each crash as a regression case.
set -euo pipefail
cd "$(dirname "$0")/.."
cases=${1:-50000}
model_seeds=${2:-200}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/edgebase-target}"
export PROPTEST_CASES=$cases
targets=(fuzz_filter fuzz_frames fuzz_snapshot fuzz_tokens fuzz_multipart)
args=()
for target in "${targets[@]}"; do args+=(--test "$target"); done
echo "=== ${targets[*]} with $cases cases each"
cargo test --locked --workspace "${args[@]}" -- --test-threads=1
echo "=== the state machine against its model, $model_seeds seeds"
cargo test --locked --workspace --test model --no-run
for seed in $(seq 1 "$model_seeds"); do
    EDGEBASE_TEST_SEED=$seed cargo test --locked --workspace --test model -q -- --test-threads=1 >/dev/null ||
        { echo "model test failed with EDGEBASE_TEST_SEED=$seed"; exit 1; }
done
echo "fuzzing passed: $cases cases per target, $model_seeds model seeds"
