#!/usr/bin/env bash
# Installs what building EdgeBase needs on Debian when it is missing, and only then: clang and
# libclang-dev (the rocksdb crate's bindgen loads libclang), plus any Debian packages named as
# arguments (tests/run-all.sh passes the test tools, so one apt-get run installs both). Then
# checks that cargo is there. With everything present it only looks, and is fast.
#
#   deploy/build-deps.sh [EXTRA_DEBIAN_PACKAGE...]
#   EDGEBASE_BUILD_DEPS_DRY_RUN=1 deploy/build-deps.sh   # print the apt-get commands, run none
set -euo pipefail

fail() { printf 'build-deps: %s\n' "$*" >&2; exit 1; }

packages=(clang libclang-dev "$@")

if command -v dpkg-query >/dev/null 2>&1; then
    missing=()
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        sudo=()
        if [ "$(id -u)" -ne 0 ]; then
            command -v sudo >/dev/null 2>&1 \
                || fail "missing ${missing[*]}; not root and no sudo: install them as root with apt-get"
            sudo=(sudo)
        fi
        update=("${sudo[@]}" apt-get update -qq)
        install=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}")
        echo "build-deps: installing ${missing[*]}" >&2
        if [ "${EDGEBASE_BUILD_DEPS_DRY_RUN:-0}" = 1 ]; then
            echo "build-deps: dry run, would run: ${update[*]}" >&2
            echo "build-deps: dry run, would run: ${install[*]}" >&2
        else
            "${update[@]}" || fail "apt-get update failed (network or apt sources?)"
            "${install[@]}" || fail "apt-get install ${missing[*]} failed"
        fi
    fi
else
    # Not Debian: nothing to install with; the build itself says if libclang is missing.
    echo "build-deps: no dpkg-query, not checking ${packages[*]}; install clang and libclang yourself" >&2
fi

command -v cargo >/dev/null 2>&1 || fail "cargo not found: install Rust with rustup \
(curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh), then run '. \"\$HOME/.cargo/env\"'"
