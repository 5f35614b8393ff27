#!/usr/bin/env bash
# Starts one EdgeBase node from this checkout: installs what the build needs when it is
# missing (deploy/build-deps.sh), then `cargo run --release -- serve` with the arguments given
# (`deploy/serve.sh --help` lists them). Runs from the repository root, so the default data
# dir is eb_data/ there; CARGO_TARGET_DIR moves the build as for cargo.
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/build-deps.sh

# The number is the release build measured for bench/RESULTS.md on this project's 2-core machines.
if [ ! -x "${CARGO_TARGET_DIR:-target}/release/edgebase" ]; then
    echo "serve: first release build: it compiles RocksDB's C++ and takes about 12 minutes on 2 cores" >&2
fi
exec cargo run --release -- serve "$@"
