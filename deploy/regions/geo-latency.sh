#!/usr/bin/env bash
# geo-latency.sh: what each consistency level costs at an edge learner, and what a write costs
# from each region, next to the round trips configured in regions.sh. A client standing next
# to each node is simulated by the host (it reaches every node with no delay).
#
#   deploy/regions/geo-latency.sh [--samples N] [--edge NODE]
#
# Uses a running harness (`regions.sh up && regions.sh start`); if none is up, it brings one
# up and takes it down again at the end.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REGIONS="$SCRIPT_DIR/regions.sh"
SAMPLES=10
EDGE=n4
SUPERUSER_EMAIL="${EB_SUPERUSER_EMAIL:-admin@regions.test}"
SUPERUSER_PASSWORD="${EB_SUPERUSER_PASSWORD:-regions-password-123}"
export NO_PROXY="*" no_proxy="*"

die() {
    printf 'geo-latency.sh: %s\n' "$*" >&2
    exit 1
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --samples) SAMPLES=${2:?}; shift 2 ;;
        --edge) EDGE=${2:?}; shift 2 ;;
        *) die "unknown argument $1" ;;
    esac
done
[[ $SAMPLES =~ ^[0-9]+$ && $SAMPLES -ge 1 && $SAMPLES -le 1000 ]] || die "--samples must be 1..1000"

if ! "$REGIONS" nodes >/dev/null 2>&1; then
    "$REGIONS" up >/dev/null
    trap '"$REGIONS" down >/dev/null 2>&1 || true' EXIT
    "$REGIONS" start >/dev/null
fi

url() { "$REGIONS" url "$1"; }
region_of() { "$REGIONS" nodes | awk -v n="$1" '$1 == n { print $3 }'; }
json_field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# One request; prints "SECONDS INDEX" (the X-Edgebase-Index of the answer). Fails on non-2xx.
timed() {
    local headers
    headers=$(mktemp)
    local seconds
    seconds=$(curl -sS -f --max-time 30 -o /dev/null -D "$headers" -w '%{time_total}' "$@")
    local index
    index=$(tr -d '\r' <"$headers" | awk -F': ' 'tolower($1) == "x-edgebase-index" { print $2 }')
    rm -f "$headers"
    echo "$seconds ${index:-0}"
}

# Median, min and max in milliseconds of the seconds on stdin.
summary() {
    sort -n | awk '{ v[NR] = $1 * 1000 } END {
        printf "%8.1f %8.1f %8.1f", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

token=$(curl -sS -f --max-time 10 -X POST "$(url n1)/api/collections/_superusers/auth-with-password" \
    -H 'content-type: application/json' \
    -d "{\"identity\":\"$SUPERUSER_EMAIL\",\"password\":\"$SUPERUSER_PASSWORD\"}" | json_field token)
collection="geo_$RANDOM$RANDOM"
curl -sS -f --max-time 10 -o /dev/null -X POST "$(url n1)/api/collections" \
    -H "Authorization: $token" -H 'content-type: application/json' \
    -d "{\"name\":\"$collection\",\"listRule\":\"\",\"viewRule\":\"\",\"createRule\":\"\",
         \"fields\":[{\"name\":\"title\",\"type\":\"text\"}]}"
records="/api/collections/$collection/records"
# Records' handlers look the collection up before the read barrier (see regions_smoke.rs),
# so wait until every node knows the collection.
for node in $("$REGIONS" nodes | awk '{ print $1 }'); do
    deadline=$((SECONDS + 30))
    until curl -sf --max-time 5 -o /dev/null "$(url "$node")$records"; do
        ((SECONDS < deadline)) || die "collection not visible at $node after 30s"
        sleep 0.1
    done
done

leader=$("$REGIONS" leader)
leader_region=$(region_of "$leader")
edge_region=$(region_of "$EDGE")
edge_url=$(url "$EDGE")
write_body='{"title":"geo"}'

echo "EdgeBase geo latency: $SAMPLES samples each, client next to the node it asks;"
echo "leader $leader ($leader_region); milliseconds."
echo
printf '%-44s %8s %8s %8s %10s\n' "operation" "median" "min" "max" "RTT"
edge_rtt=$("$REGIONS" rtt "$edge_region" "$leader_region")

run() {
    local label=$1 rtt=$2
    shift 2
    local i numbers
    numbers=$(for ((i = 0; i < SAMPLES; i++)); do "$@" | awk '{ print $1 }'; done | summary)
    # shellcheck disable=SC2086 # numbers is three words on purpose
    printf '%-44s %8s %8s %8s %7s ms\n' "$label" $numbers "$rtt"
}

read_local() { timed -H 'X-Edgebase-Consistency: local' "$edge_url$records"; }
read_strong() { timed -H 'X-Edgebase-Consistency: strong' "$edge_url$records"; }
read_session_caught_up() {
    local index
    index=$(curl -sS -f --max-time 10 -o /dev/null -D - "$edge_url/api/health" |
        tr -d '\r' | awk -F': ' 'tolower($1) == "x-edgebase-index" { print $2 }')
    timed -H "X-Edgebase-After: $index" "$edge_url$records"
}
read_session_after_eu_write() {
    local index
    index=$(timed -X POST -H 'content-type: application/json' -d "$write_body" \
        "$(url "$leader")$records" | awk '{ print $2 }')
    timed -H "X-Edgebase-After: $index" "$edge_url$records"
}
write_at() {
    timed -X POST -H 'content-type: application/json' -d "$write_body" "$(url "$1")$records"
}

run "read at $EDGE ($edge_region), local" "0" read_local
run "read at $EDGE, session, already applied" "0" read_session_caught_up
run "read at $EDGE, strong" "$edge_rtt" read_strong
run "read at $EDGE, session right after a leader write" "$edge_rtt" read_session_after_eu_write
while read -r name _ region role _; do
    run "write at $name ($region, $role)" "$("$REGIONS" rtt "$region" "$leader_region")" write_at "$name"
done < <("$REGIONS" nodes)
echo
echo "RTT: configured round trip from that node's region to the leader's ($leader_region)."
echo "Session right after a write: the write is timed separately; the read waits for the"
echo "entry and its commit to reach $EDGE."
