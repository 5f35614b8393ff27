#!/usr/bin/env bash
# Runs deploy/kubernetes/'s start script for three "pods" on this machine, with the real
# binary, and moves pods to new IPs the way Kubernetes does when it recreates them:
#   1. three pods start in parallel, pod 0 founds the cluster, pods 1 and 2 join it;
#   2. pod 1 comes back at a new IP with its volume and is reached again by its name;
#   3. with pod 0 stopped, pods 1 and 2 elect a leader between them (by name, at new IPs);
#   4. pod 0 comes back at a new IP with an empty volume and joins through a serving peer.
#   EDGEBASE_BIN=path/to/edgebase tests/deploy/rehearse-kubernetes.sh
# What stands in for Kubernetes: each pod's environment is the StatefulSet's, expanded as
# the kubelet does; cluster DNS is a private /etc/hosts (a mount namespace of this script's
# own), with each pod's name and the headless Service's name on its IP line, so forward,
# reverse and Service lookups answer as CoreDNS would; the pods share this machine's network,
# so each listens on its own loopback IP instead of 0.0.0.0. Needs `unshare --mount` (root,
# or user namespaces). Not run by check.sh: it takes a minute or two.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${EDGEBASE_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/edgebase-target}/debug/edgebase}"
[ -x "$bin" ] || { echo "rehearsal: no edgebase binary at $bin (set EDGEBASE_BIN)" >&2; exit 1; }

if [ "${EDGEBASE_REHEARSAL_INSIDE:-}" != 1 ]; then
    hosts="$(mktemp)"
    trap 'rm -f "$hosts"' EXIT
    flags=(--mount)
    [ "$(id -u)" -eq 0 ] || flags+=(--map-root-user)
    # The bind mount of /etc/hosts exists only in the new mount namespace.
    # shellcheck disable=SC2016 # the inner script's variables are its own
    EDGEBASE_REHEARSAL_INSIDE=1 EDGEBASE_REHEARSAL_HOSTS="$hosts" EDGEBASE_BIN="$bin" \
        unshare "${flags[@]}" bash -c 'mount --bind "$EDGEBASE_REHEARSAL_HOSTS" /etc/hosts && exec "$0"' \
        "$0"
    exit
fi

work="$(mktemp -d)"
declare -A pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "${failed:-1}" = 0 ]; then rm -rf "$work"; else echo "rehearsal: logs kept in $work" >&2; fi
}
trap cleanup EXIT

namespace=default
# Pod IPs: loopback addresses in a /24 of 127/8 picked at random, so that two rehearsals at
# once (or anything on 127.0.0.1) do not meet.
net="127.$((RANDOM % 200 + 30)).$((RANDOM % 250 + 1))"
email=admin@example.com
password=a-long-password-for-the-rehearsal

# The start script and each pod's environment, from the manifests.
python3 - "$repo/deploy/kubernetes" "$work" <<'EOF'
import sys
from pathlib import Path

import yaml

folder, work = Path(sys.argv[1]), Path(sys.argv[2])
for path in sorted(folder.glob("*.yaml")):
    for document in yaml.safe_load_all(path.read_text()):
        if document["kind"] == "ConfigMap":
            for key, script in document["data"].items():
                (work / key).write_text(script)
        if document["kind"] == "StatefulSet":
            container = document["spec"]["template"]["spec"]["containers"][0]
            # Each variable once per line, `$(NAME)` references kept for the shell to fill.
            lines = []
            for var in container["env"]:
                if "value" in var:
                    lines.append(f"{var['name']}={var['value']}")
                else:
                    field = var["valueFrom"]["fieldRef"]["fieldPath"]
                    lines.append(f"{var['name']}=@{field}")
            (work / "env").write_text("\n".join(lines) + "\n")
            (work / "set-name").write_text(document["metadata"]["name"])
EOF
set_name="$(cat "$work/set-name")"
[ -s "$work/start.sh" ] || { echo "rehearsal: no start.sh in the ConfigMap" >&2; exit 1; }

quiet() { # COMMAND...: its output only if it fails
    local out
    out="$("$@" 2>&1)" || { echo "$out" >&2; return 1; }
}

# Certificates as the README makes them, in the Secret's layout.
mkdir -p "$work/secret" "$work/bin"
quiet "$bin" certs ca --out "$work/ca"
for id in 1 2 3; do
    quiet "$bin" certs node --ca "$work/ca" --node-id "$id" --out "$work/node$id"
    cp "$work/node$id/node.crt" "$work/secret/node-$id.crt"
    cp "$work/node$id/node.key" "$work/secret/node-$id.key"
done
cp "$work/ca/ca.crt" "$work/secret/ca.crt"
ln -s "$bin" "$work/bin/edgebase"
ln -s "$repo/deploy/http-ok.sh" "$work/bin/edgebase-http-ok"

declare -A ips=()
peers_domain=""
write_hosts() { # cluster DNS: every pod that has an IP, under its name and the Service's
    local ordinal
    {
        echo "127.0.0.1 localhost"
        for ordinal in "${!ips[@]}"; do
            echo "${ips[$ordinal]} $set_name-$ordinal.$peers_domain $peers_domain"
        done
    } >/etc/hosts # in place: /etc/hosts is a bind mount of a file
}

start_pod() { # ORDINAL IP: the pod's container starts, with the StatefulSet's environment
    local ordinal="$1" ip="$2" pod="$set_name-$1" name value field
    local dir="$work/$pod"
    mkdir -p "$dir/data" "$dir/certs"
    local -a env=("PATH=$work/bin:$PATH")
    declare -A vars=()
    while IFS='=' read -r name value; do
        case "$value" in
            @metadata.name) value="$pod" ;;
            @metadata.namespace) value="$namespace" ;;
            @status.podIP) value="$ip" ;;
            @*) echo "rehearsal: unknown field $value" >&2; exit 1 ;;
        esac
        # $(NAME) of a variable defined above, as the kubelet expands it.
        while [[ "$value" =~ \$\(([A-Za-z_][A-Za-z0-9_]*)\) ]]; do
            field="${BASH_REMATCH[1]}"
            [ -n "${vars[$field]+set}" ] || break
            value="${value//"\$($field)"/${vars[$field]}}"
        done
        vars[$name]="$value"
        env+=("$name=$value")
    done <"$work/env"
    peers_domain="${vars[PEERS_DOMAIN]}"
    ips[$ordinal]="$ip"
    write_hosts
    # The pod's paths, and its own IP for 0.0.0.0: the pods share this machine's network.
    sed -e "s#/etc/edgebase/secret#$work/secret#g" -e "s#/run/edgebase/certs#$dir/certs#g" \
        -e "s#/var/lib/edgebase#$dir/data#g" -e "s#0\.0\.0\.0:#$ip:#g" \
        "$work/start.sh" >"$dir/start.sh"
    env -i "${env[@]}" bash "$dir/start.sh" >>"$dir/log" 2>&1 &
    pids[$ordinal]=$!
    echo "  $pod started at $ip"
}

stop_pod() { # ORDINAL: SIGTERM, as Kubernetes stops a pod; its DNS records go
    local ordinal="$1"
    kill -TERM "${pids[$ordinal]}"
    wait "${pids[$ordinal]}" || true
    unset "pids[$ordinal]" "ips[$ordinal]"
    write_hosts
    echo "  $set_name-$ordinal stopped"
}

wait_ready() { # ORDINAL...: /api/health/ready answers 200 (a leader, caught up)
    local ordinal deadline=$((SECONDS + 240))
    for ordinal in "$@"; do
        until "$work/bin/edgebase-http-ok" "${ips[$ordinal]}:8090" /api/health/ready 2>/dev/null; do
            if [ $SECONDS -ge $deadline ]; then
                echo "FAIL $set_name-$ordinal is not ready; its log ends:" >&2
                tail -20 "$work/$set_name-$ordinal/log" >&2
                exit 1
            fi
            if ! kill -0 "${pids[$ordinal]}" 2>/dev/null; then
                echo "FAIL $set_name-$ordinal exited; its log ends:" >&2
                tail -20 "$work/$set_name-$ordinal/log" >&2
                exit 1
            fi
            sleep 1
        done
        echo "  $set_name-$ordinal ready at ${ips[$ordinal]}"
    done
}

status() { # ORDINAL: `edgebase cluster status` asked of that pod
    "$bin" cluster status --node "http://${ips[$1]}:8090" --email "$email" --password "$password"
}

expect() { # WHAT TEXT PATTERN
    if grep -qE -- "$3" <<<"$2"; then
        echo "ok   $1"
    else
        echo "FAIL $1: no /$3/ in:" >&2
        echo "$2" >&2
        exit 1
    fi
}

echo "--- 1. three pods start at once"
for ordinal in 0 1 2; do start_pod "$ordinal" "$net.$((11 + ordinal))"; done
wait_ready 0 1 2
quiet "$bin" superuser upsert "$email" "$password" --dir "$work/$set_name-0/data"
out="$(status 0)"
for ordinal in 0 1 2; do
    expect "$set_name-$ordinal is a member known by its name" "$out" \
        "$set_name-$ordinal\.$peers_domain:8091"
done
expect "pod 0 started the cluster" "$(cat "$work/$set_name-0/log")" "no join"
expect "pod 1 joined by a name" "$(cat "$work/$set_name-1/log")" "--join $set_name-[0-9]\.$peers_domain:8091"

echo "--- 2. pod 1 is recreated at a new IP, with its volume"
stop_pod 1
start_pod 1 "$net.22"
wait_ready 1 0 2
expect "pod 1 did not join again (it has state)" "$(cat "$work/$set_name-1/log")" \
    "node 2 as .*no join"
expect "node 2 (pod 1) is reachable by its name at the new IP" "$(status 0)" \
    "^2 .* yes +$set_name-1\.$peers_domain:8091"

echo "--- 3. pod 0 stops: pods 1 and 2 elect a leader by name"
stop_pod 0
stop_pod 2
start_pod 2 "$net.23"
wait_ready 1 2
out="$(status 1)"
expect "a leader among pods 1 and 2 (nodes 2 and 3), both at new IPs" "$out" \
    "^[23] +[^ ]+ +voter +\*"
expect "node 1 (pod 0, stopped) is unreachable" "$out" "^1 .* no +$set_name-0\."

echo "--- 4. pod 0 comes back at a new IP with an empty volume"
rm -rf "${work:?}/$set_name-0/data"
start_pod 0 "$net.21"
wait_ready 0 1 2
expect "pod 0 joined a serving peer by its name" "$(cat "$work/$set_name-0/log")" \
    "--join $set_name-[12]\.$peers_domain:8091"
out="$(status 0)"
for ordinal in 0 1 2; do
    expect "$set_name-$ordinal is still known by its name" "$out" \
        "$set_name-$ordinal\.$peers_domain:8091"
done
echo "$out"
failed=0
echo "rehearsal: passed"
