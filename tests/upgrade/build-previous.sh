#!/usr/bin/env bash
# Build the previous release's `edgebase` once, for the mixed-version rolling upgrade test
# (tests/tests/rolling_upgrade.rs), and print where it is.
#
#   tests/upgrade/build-previous.sh
#
# The release is the commit named in tests/upgrade/previous-release. It is checked out into a
# temporary worktree and built (debug, like the binary under test) with its own target dir
# under ~/.cache/edgebase-previous, so it never touches this checkout's build. The binary is
# kept at ~/.cache/edgebase-previous/<commit>/edgebase; later runs only print that path.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(tr -d '[:space:]' <"$repo/tests/upgrade/previous-release")
cache=${EDGEBASE_PREVIOUS_CACHE:-$HOME/.cache/edgebase-previous}
out="$cache/$commit/edgebase"
if [ -x "$out" ]; then
    echo "$out"
    exit 0
fi
if ! git -C "$repo" cat-file -e "$commit^{commit}" 2>/dev/null; then
    echo "build-previous: commit $commit (tests/upgrade/previous-release) is not in this clone's history;" >&2
    echo "build-previous: fetch it (git fetch --unshallow) or build that release and put it at $out" >&2
    exit 1
fi
mkdir -p "$cache/$commit"
work=$(mktemp -d "$cache/worktree.XXXXXX")
cleanup() {
    git -C "$repo" worktree remove --force "$work" >/dev/null 2>&1 || rm -rf "$work"
    git -C "$repo" worktree prune >/dev/null 2>&1 || true
}
trap cleanup EXIT
echo "build-previous: building edgebase at $commit (first time only; cached at $out)" >&2
git -C "$repo" worktree add --detach "$work" "$commit" >/dev/null 2>&1
CARGO_TARGET_DIR="$cache/target" cargo build --locked --quiet --manifest-path "$work/Cargo.toml" \
    -p edgebase-node --bin edgebase >&2
cp "$cache/target/debug/edgebase" "$out.partial"
mv "$out.partial" "$out"
echo "$out"
