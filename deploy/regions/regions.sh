#!/usr/bin/env bash
# regions.sh: an EdgeBase cluster across simulated regions on one Linux machine.
#
# One network namespace per node (eb-n1, eb-n2, ...), each with one TUN device whose other end
# is delay_hub.py, a userspace router running in its own namespace (eb-hub). Addresses are in
# one private /24 that exists only on these devices, plus one TUN device in the root namespace
# (eb-host, .254) so that tests and operators on the host can reach every node (with no delay).
# The hub delays each packet by half the configured round trip between the two regions, drops
# a share of them with --loss, and drops everything between partitioned nodes. (Why not
# `tc netem`: the kernel this runs on is built without sch_netem.) Needs root, iproute2,
# python3 and curl. See README.md beside this file.
set -euo pipefail

STATE_DIR="${EB_REGIONS_DIR:-/tmp/eb-regions}"
SUBNET="${EB_REGIONS_SUBNET:-10.250.77}"
HUB_NS="eb-hub"
HOST_LINK="eb-host"
HOST_ADDR="$SUBNET.254"
HTTP_PORT=8090
RAFT_PORT=9090
DEFAULT_NODES="n1:eu:voter,n2:us:voter,n3:eu:voter,n4:ap:learner,n5:us:learner"
SUPERUSER_EMAIL="${EB_SUPERUSER_EMAIL:-admin@regions.test}"
SUPERUSER_PASSWORD="${EB_SUPERUSER_PASSWORD:-regions-password-123}"
START_TIMEOUT_S="${EB_START_TIMEOUT_S:-90}"
STOP_TIMEOUT_S=10
MARKER=".eb-regions"
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# Same-region round trip, in microseconds (each direction gets half).
SAME_REGION_RTT_US=1000

# Node traffic never goes through a proxy, whatever the environment says.
export NO_PROXY="$SUBNET.0/24,${NO_PROXY:-}" no_proxy="$SUBNET.0/24,${no_proxy:-}"

die() {
    printf 'regions.sh: %s\n' "$*" >&2
    exit 1
}

note() {
    printf 'regions.sh: %s\n' "$*" >&2
}

usage() {
    cat <<EOF
usage: regions.sh COMMAND [ARGS]

  up [--nodes SPEC] [--loss PCT]  create namespaces, bridge, addresses and delays
                                  (SPEC: NAME:REGION:ROLE,... default $DEFAULT_NODES)
  start                           make certificates, start every node, wait for the cluster
  partition NODE|REGION           cut a node or a region off from every other node
  cut A B [--one-way]             drop packets between nodes/regions A and B (A to B only)
  loss PCT | delay US             node-to-node loss / extra one-way delay until heal
  heal                            undo every partition, cut, loss and delay
  kill NODE [SIGNAL]              signal a node (default KILL, waited for)
  pause NODE | resume NODE        SIGSTOP / SIGCONT
  restart NODE [--learner] [--join NODE]
                                  start a stopped node again (--join: as a new member)
  wipe NODE                       delete a stopped node's data dir
  down [--keep-logs]              stop every node, delete every eb- namespace and the state
  status                          namespaces, processes and the cluster as node 1 sees it
  exec NODE CMD...                run CMD inside NODE's namespace
  url NODE                        print NODE's HTTP base URL
  rtt REGION REGION               print the configured round trip in milliseconds
  nodes                           print the topology: NAME ID REGION ROLE ADDRESS
  leader                          print the leader's name, as node 1 sees it

State (certificates, data, logs, pids) lives in \$EB_REGIONS_DIR (now $STATE_DIR).
The binary is \$EDGEBASE_BIN, else \$CARGO_TARGET_DIR/debug/edgebase.
EOF
}

require_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces and TUN devices need it)"
}

# Round trip between two regions in milliseconds. The matrix is symmetric.
rtt_ms() {
    local first=$1 second=$2
    if [[ $first == "$second" ]]; then
        echo $((SAME_REGION_RTT_US / 1000))
        return
    fi
    local pair
    if [[ $first < $second ]]; then pair="$first-$second"; else pair="$second-$first"; fi
    case "$pair" in
        eu-us) echo 80 ;;
        ap-eu) echo 150 ;;
        ap-us) echo 120 ;;
        *) die "no round trip configured between regions $first and $second (known: eu, us, ap)" ;;
    esac
}

# Round trip between two regions in microseconds.
rtt_us() {
    if [[ $1 == "$2" ]]; then
        echo "$SAME_REGION_RTT_US"
    else
        echo $(($(rtt_ms "$1" "$2") * 1000))
    fi
}

topology_file() { echo "$STATE_DIR/topology"; }

# Lines of the topology: NAME ID REGION ROLE ADDRESS.
topology() {
    [[ -f $(topology_file) ]] || die "no topology in $STATE_DIR: run 'regions.sh up' first"
    cat "$(topology_file)"
}

node_field() {
    local name=$1 field=$2
    local line
    line=$(topology | awk -v name="$name" '$1 == name')
    [[ -n $line ]] || die "unknown node $name (see 'regions.sh nodes')"
    awk -v field="$field" '{ print $field }' <<<"$line"
}

our_namespaces() {
    ip netns list 2>/dev/null | awk '{ print $1 }' | grep '^eb-' || true
}

edgebase_bin() {
    local bin="${EDGEBASE_BIN:-}"
    if [[ -z $bin ]]; then
        [[ -n ${CARGO_TARGET_DIR:-} ]] || die "set EDGEBASE_BIN or CARGO_TARGET_DIR"
        bin="$CARGO_TARGET_DIR/debug/edgebase"
    fi
    [[ -x $bin ]] || die "edgebase binary $bin is not an executable file"
    echo "$bin"
}

# ---------------------------------------------------------------------------------------- up

parse_nodes() {
    local spec=$1 entry name region role seen_names="" voters=0
    local -a entries
    IFS=',' read -r -a entries <<<"$spec"
    [[ ${#entries[@]} -gt 0 ]] || die "empty --nodes"
    for entry in "${entries[@]}"; do
        IFS=':' read -r name region role <<<"$entry"
        [[ $name =~ ^n([0-9]{1,3})$ ]] || die "node name '$name' must be n<id> (e.g. n1)"
        local id=${BASH_REMATCH[1]}
        ((id >= 1 && id <= 200)) || die "node id $id out of range 1..200"
        [[ $region =~ ^[a-z][a-z0-9-]{0,15}$ ]] || die "bad region '$region' for $name"
        [[ $role == voter || $role == learner ]] || die "role of $name must be voter or learner"
        [[ " $seen_names " != *" $name "* ]] || die "node $name listed twice"
        seen_names="$seen_names $name"
        if [[ $role == voter ]]; then voters=$((voters + 1)); fi
        echo "$name $id $region $role $SUBNET.$id"
    done
    [[ $voters -gt 0 ]] || die "at least one voter is needed"
    local first_role=${entries[0]##*:}
    [[ $first_role == voter ]] || die "the first node initialises the cluster and must be a voter"
}

check_subnet_free() {
    if ip -4 addr show | grep -q "inet $SUBNET\."; then
        die "$SUBNET.0/24 is already used on this host; set EB_REGIONS_SUBNET (e.g. 10.250.78)"
    fi
    if [[ -n $(ip -4 route show "$SUBNET.0/24") ]]; then
        die "$SUBNET.0/24 is already routed on this host; set EB_REGIONS_SUBNET"
    fi
}

# The hub's files: which TUN devices carry which address, one-way delays, loss.
write_hub_config() {
    local loss=$1 hub_dir="$STATE_DIR/hub"
    mkdir -p "$hub_dir"
    echo "$loss" >"$hub_dir/loss"
    echo "# generation 0" >"$hub_dir/blocked"
    {
        echo "$HOST_LINK $HOST_ADDR"
        topology | awk '{ print "ebt-" $1, $5 }'
    } >"$hub_dir/devices"
    local from_region from_addr to_region to_addr
    while read -r from_region from_addr; do
        while read -r to_region to_addr; do
            [[ $from_addr == "$to_addr" ]] && continue
            echo "$from_addr $to_addr $(($(rtt_us "$from_region" "$to_region") / 2))"
        done < <(topology | awk '{ print $3, $5 }')
    done < <(topology | awk '{ print $3, $5 }') >"$hub_dir/delays"
}

cmd_up() {
    local spec=$DEFAULT_NODES loss=0
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --nodes) spec=${2:?--nodes needs a value}; shift 2 ;;
            --loss) loss=${2:?--loss needs a value}; shift 2 ;;
            *) die "up: unknown argument $1" ;;
        esac
    done
    [[ $loss =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--loss must be a percentage, e.g. 1 or 0.5"
    require_root
    command -v python3 >/dev/null || die "python3 is needed for the delay hub"
    [[ -c /dev/net/tun ]] || die "/dev/net/tun is missing (the kernel needs CONFIG_TUN)"
    local nodes
    nodes=$(parse_nodes "$spec")
    # Regions must all be in the matrix before anything is created.
    local regions first second
    regions=$(awk '{ print $3 }' <<<"$nodes" | sort -u)
    for first in $regions; do for second in $regions; do rtt_ms "$first" "$second" >/dev/null; done; done

    if [[ -n $(our_namespaces) || -d $STATE_DIR ]]; then
        note "removing leftovers of an earlier run"
        cmd_down
    fi
    check_subnet_free
    mkdir -p "$STATE_DIR"
    touch "$STATE_DIR/$MARKER"
    echo "$nodes" >"$(topology_file)"
    write_hub_config "$loss"

    # The hub runs in its own namespace (so `down` finds it like any node) and creates every
    # TUN device there; each device is then moved into its node's namespace, the host's into
    # this script's own (root) namespace. A TUN device keeps working for the hub after the move.
    local hub_dir="$STATE_DIR/hub" seed_args=()
    if [[ -n ${EB_REGIONS_SEED:-} ]]; then seed_args=(--seed "$EB_REGIONS_SEED"); fi
    ip netns add "$HUB_NS"
    ip -n "$HUB_NS" link set lo up
    ip netns exec "$HUB_NS" python3 "$SCRIPT_DIR/delay_hub.py" --dir "$hub_dir" "${seed_args[@]}" \
        </dev/null >>"$hub_dir/hub.log" 2>&1 &
    echo $! >"$hub_dir/pid"
    local deadline=$((SECONDS + 10))
    until [[ -f $hub_dir/ready ]]; do
        kill -0 "$(<"$hub_dir/pid")" 2>/dev/null || { cat "$hub_dir/hub.log" >&2; die "the delay hub exited"; }
        ((SECONDS < deadline)) || die "the delay hub is not ready after 10s"
        sleep 0.1
    done

    ip -n "$HUB_NS" link set "$HOST_LINK" netns $$
    ip addr add "$HOST_ADDR/24" dev "$HOST_LINK"
    ip link set "$HOST_LINK" up

    local name id region role addr
    while read -r name id region role addr; do
        ip netns add "eb-$name"
        ip -n "eb-$name" link set lo up
        ip -n "$HUB_NS" link set "ebt-$name" netns "eb-$name"
        ip -n "eb-$name" addr add "$addr/24" dev "ebt-$name"
        ip -n "eb-$name" link set "ebt-$name" up
    done < <(topology)
    note "up: $(wc -l <"$(topology_file)") nodes on $SUBNET.0/24 (host at $HOST_ADDR), loss ${loss}%"
    topology
}

# ------------------------------------------------------------------------------------- start

http_url() {
    local addr
    addr=$(node_field "$1" 5)
    echo "http://$addr:$HTTP_PORT"
}

healthy() {
    curl -fsS --noproxy '*' --max-time 2 -o /dev/null "$1/api/health" 2>/dev/null
}

alive() {
    local pid_file="$STATE_DIR/nodes/$1/pid"
    [[ -f $pid_file ]] && kill -0 "$(<"$pid_file")" 2>/dev/null
}

fail_node() {
    local name=$1 why=$2
    note "$name: $why; last lines of its log:"
    tail -n 40 "$STATE_DIR/nodes/$name/node.log" >&2 || true
    exit 1
}

cluster_table() {
    local bin=$1 url=$2
    EDGEBASE_SUPERUSER_EMAIL="$SUPERUSER_EMAIL" EDGEBASE_SUPERUSER_PASSWORD="$SUPERUSER_PASSWORD" \
        timeout 10 "$bin" cluster status --node "$url"
}

# Wait until the cluster, as node `first` sees it, lists `name` (id) with `role` and reachable.
wait_member() {
    local bin=$1 first=$2 name=$3 id=$4 role=$5
    local deadline=$((SECONDS + START_TIMEOUT_S)) table
    while :; do
        alive "$name" || fail_node "$name" "exited while joining"
        if table=$(cluster_table "$bin" "$(http_url "$first")" 2>/dev/null) &&
            awk -v id="$id" -v role="$role" \
                '$1 == id && $3 == role && $0 ~ / yes / { found = 1 } END { exit !found }' \
                <<<"$table"; then
            return 0
        fi
        ((SECONDS < deadline)) || fail_node "$name" "not a reachable $role after ${START_TIMEOUT_S}s"
        sleep 0.5
    done
}

# Start node `name` in its namespace with the cluster's arguments (`--join JOIN_ADDR` when
# JOIN_ADDR is set, `--learner` too when ROLE is learner), then wait until it answers health.
launch_node() {
    local bin=$1 name=$2 role=$3 join_addr=$4
    local id region addr
    id=$(node_field "$name" 2)
    region=$(node_field "$name" 3)
    addr=$(node_field "$name" 5)
    local dir="$STATE_DIR/nodes/$name" certs="$STATE_DIR/certs"
    mkdir -p "$dir"
    local -a args=(serve --dir "$dir/data" --http "$addr:$HTTP_PORT" --raft "$addr:$RAFT_PORT"
        --certs "$certs/$name" --region "$region" --node-id "$id")
    if [[ -n $join_addr ]]; then
        args+=(--join "$join_addr:$RAFT_PORT")
        if [[ $role == learner ]]; then args+=(--learner); fi
    fi
    args+=(${EB_NODE_ARGS:-})
    # `ip netns exec` execs the binary, so $! is the node's own pid.
    ip netns exec "eb-$name" "$bin" "${args[@]}" </dev/null >>"$dir/node.log" 2>&1 &
    echo $! >"$dir/pid"
    local deadline=$((SECONDS + START_TIMEOUT_S))
    until healthy "http://$addr:$HTTP_PORT"; do
        alive "$name" || fail_node "$name" "exited during start"
        ((SECONDS < deadline)) || fail_node "$name" "not healthy after ${START_TIMEOUT_S}s"
        sleep 0.2
    done
}

cmd_start() {
    require_root
    local bin
    bin=$(edgebase_bin)
    [[ -n $(ip netns list | awk '$1 == "eb-hub"') ]] || die "no namespaces: run 'regions.sh up' first"
    local name id region role addr
    while read -r name id region role addr; do
        if alive "$name"; then die "$name is already running (pid $(<"$STATE_DIR/nodes/$name/pid"))"; fi
    done < <(topology)

    local certs="$STATE_DIR/certs"
    mkdir -p "$certs"
    [[ -f $certs/ca/ca.crt ]] || "$bin" certs ca --out "$certs/ca" 2>/dev/null
    while read -r name id region role addr; do
        [[ -f $certs/$name/node.crt ]] ||
            "$bin" certs node --ca "$certs/ca" --node-id "$id" --host "$addr" --out "$certs/$name" 2>/dev/null
    done < <(topology)

    local first first_addr
    first=$(topology | awk 'NR == 1 { print $1 }')
    first_addr=$(node_field "$first" 5)
    while read -r name id region role addr; do
        local join=""
        if [[ $name != "$first" ]]; then join=$first_addr; fi
        launch_node "$bin" "$name" "$role" "$join"
        local dir="$STATE_DIR/nodes/$name"
        if [[ $name == "$first" ]]; then
            ip netns exec "eb-$name" timeout 60 "$bin" superuser upsert \
                "$SUPERUSER_EMAIL" "$SUPERUSER_PASSWORD" --dir "$dir/data" 2>>"$dir/node.log"
        fi
        wait_member "$bin" "$first" "$name" "$id" "$role"
        note "$name ($region, $role) is up at http://$addr:$HTTP_PORT"
    done < <(topology)
    cluster_table "$bin" "$(http_url "$first")"
}

# ----------------------------------------------------------------------- partition and heal

cmd_partition() {
    local target=${1:?partition needs a NODE or REGION}
    require_root
    local -a inside=() outside=()
    local name id region role addr
    while read -r name id region role addr; do
        if [[ $name == "$target" || $region == "$target" ]]; then
            inside+=("$addr")
        else
            outside+=("$addr")
        fi
    done < <(topology)
    [[ ${#inside[@]} -gt 0 ]] || die "no node or region named $target"
    [[ ${#outside[@]} -gt 0 ]] || die "$target is every node; nothing to cut it off from"
    local a b
    {
        grep -v '^#' "$STATE_DIR/hub/blocked" || true
        for a in "${inside[@]}"; do
            for b in "${outside[@]}"; do echo "$a $b"; done
        done
    } | write_blocked
    echo "$target" >>"$STATE_DIR/partitions"
    note "partitioned $target (the host can still reach every node)"
}

cmd_heal() {
    require_root
    [[ -f $STATE_DIR/hub/blocked ]] || die "not up"
    write_blocked </dev/null
    rm -f "$STATE_DIR/partitions"
    note "healed"
}

# Replace the hub's blocked pairs with the lines on stdin, under a new generation number, and
# wait (bounded) until the hub says it routes by them.
write_blocked() {
    local hub_dir="$STATE_DIR/hub" generation
    generation=$(($(cat "$hub_dir/blocked.applied" 2>/dev/null || echo 0) + 1))
    {
        echo "# generation $generation"
        cat
    } >"$hub_dir/blocked.tmp"
    mv "$hub_dir/blocked.tmp" "$hub_dir/blocked"
    local deadline=$((SECONDS + 5))
    until [[ $(cat "$hub_dir/blocked.applied" 2>/dev/null) == "$generation" ]]; do
        ((SECONDS < deadline)) || die "the delay hub did not take the new partitions within 5s"
        sleep 0.05
    done
}

# ----------------------------------------------------------- faults for the nemesis suite

# Addresses of a node or of every node of a region.
addresses_of() {
    local target=$1 found=0 name id region role addr
    while read -r name id region role addr; do
        if [[ $name == "$target" || $region == "$target" ]]; then
            echo "$addr"
            found=1
        fi
    done < <(topology)
    ((found)) || die "no node or region named $target"
}

cmd_cut() {
    local from=${1:?cut needs two NODEs or REGIONs} to=${2:?cut needs two NODEs or REGIONs}
    local separator=" "
    if [[ ${3:-} == --one-way ]]; then separator=" > "; elif [[ -n ${3:-} ]]; then die "cut: unknown argument $3"; fi
    require_root
    local a b
    {
        grep -v '^#' "$STATE_DIR/hub/blocked" || true
        for a in $(addresses_of "$from"); do
            for b in $(addresses_of "$to"); do
                [[ $a == "$b" ]] || echo "$a$separator$b"
            done
        done
    } | write_blocked
    echo "$from${separator}$to" >>"$STATE_DIR/partitions"
    note "cut $from${separator/ > / -> }$to"
}

# `loss PCT` / `delay US`: set (replace) one network-wide fault line until `heal`.
set_network_fault() {
    local kind=$1 value=$2
    require_root
    {
        grep -v -e '^#' -e "^$kind " "$STATE_DIR/hub/blocked" || true
        echo "$kind $value"
    } | write_blocked
    echo "$kind $value" >>"$STATE_DIR/partitions"
    note "$kind $value until heal"
}

cmd_signal() {
    local name=${1:?needs a NODE} signal=${2:-KILL}
    require_root
    node_field "$name" 1 >/dev/null
    alive "$name" || die "$name is not running"
    kill -s "$signal" "$(<"$STATE_DIR/nodes/$name/pid")"
    if [[ $signal == KILL ]]; then
        local deadline=$((SECONDS + 10))
        while alive "$name"; do
            ((SECONDS < deadline)) || die "$name still runs 10s after SIGKILL"
            sleep 0.05
        done
    fi
    note "$name: SIG$signal"
}

cmd_restart() {
    local name=${1:?restart needs a NODE}
    shift
    local role="" join_node=""
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --learner) role=learner; shift ;;
            --join) join_node=${2:?--join needs a NODE}; shift 2 ;;
            *) die "restart: unknown argument $1" ;;
        esac
    done
    require_root
    alive "$name" && die "$name is running (pid $(<"$STATE_DIR/nodes/$name/pid"))"
    # As `start` does: every node but the first names the first (ignored once it is a member).
    local first join_addr=""
    first=$(topology | awk 'NR == 1 { print $1 }')
    if [[ -z $join_node && $name != "$first" ]]; then join_node=$first; fi
    if [[ -n $join_node ]]; then join_addr=$(node_field "$join_node" 5); fi
    if [[ -z $role ]]; then role=$(node_field "$name" 4); fi
    launch_node "$(edgebase_bin)" "$name" "$role" "$join_addr"
    note "$name restarted"
}

cmd_wipe() {
    local name=${1:?wipe needs a NODE}
    require_root
    node_field "$name" 1 >/dev/null
    alive "$name" && die "$name is running; stop it before wiping its data"
    rm -rf "$STATE_DIR/nodes/$name/data"
    note "$name: data wiped"
}

# -------------------------------------------------------------------------------------- down

# Processes to stop: those in our namespaces, and recorded node pids still running our
# binary on our state dir (a node can outlive its namespace's name after a half-done down).
our_pids() {
    local ns pid_file pid
    for ns in $(our_namespaces); do
        ip netns pids "$ns" 2>/dev/null || true
    done
    for pid_file in "$STATE_DIR"/nodes/*/pid; do
        [[ -f $pid_file ]] || continue
        pid=$(<"$pid_file")
        [[ $pid =~ ^[0-9]+$ ]] || continue
        if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$STATE_DIR/nodes/"; then
            echo "$pid"
        fi
    done
}

cmd_down() {
    local keep_logs=0
    if [[ ${1:-} == --keep-logs ]]; then keep_logs=1; fi
    require_root
    local -a pids
    mapfile -t pids < <(our_pids | sort -u)
    if [[ ${#pids[@]} -gt 0 ]]; then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        local deadline=$((SECONDS + STOP_TIMEOUT_S)) pid
        while ((SECONDS < deadline)); do
            local running=0
            for pid in "${pids[@]}"; do
                if kill -0 "$pid" 2>/dev/null; then running=1; fi
            done
            ((running)) || break
            sleep 0.2
        done
        kill -KILL "${pids[@]}" 2>/dev/null || true
    fi
    local ns
    for ns in $(our_namespaces); do
        ip netns del "$ns" 2>/dev/null || note "could not delete namespace $ns"
    done
    # Deleting eb-hub deletes the host link's peer and so the link; this covers a half-done up.
    if ip link show "$HOST_LINK" >/dev/null 2>&1; then ip link del "$HOST_LINK"; fi
    if [[ -d $STATE_DIR ]]; then
        if [[ -f $STATE_DIR/$MARKER ]]; then
            if ((keep_logs)); then
                rm -rf "$STATE_DIR/certs" "$STATE_DIR"/nodes/*/data "$STATE_DIR"/nodes/*/pid \
                    "${STATE_DIR:?}/$MARKER" "$(topology_file)"
            else
                rm -rf "$STATE_DIR"
            fi
        else
            note "left $STATE_DIR alone: it was not made by regions.sh"
        fi
    fi
    [[ -z $(our_namespaces) ]] || die "eb- namespaces remain: $(our_namespaces | tr '\n' ' ')"
    note "down"
}

# ------------------------------------------------------------------------------------ status

cmd_status() {
    echo "namespaces: $(our_namespaces | tr '\n' ' ')"
    [[ -f $(topology_file) ]] || { echo "no topology (not up)"; return 0; }
    local partitions="none"
    if [[ -s $STATE_DIR/partitions ]]; then partitions=$(tr '\n' ' ' <"$STATE_DIR/partitions"); fi
    echo "loss: $(<"$STATE_DIR/hub/loss")%  partitions: $partitions"
    printf '%-5s %-4s %-8s %-8s %-16s %s\n' NAME ID REGION ROLE ADDRESS PROCESS
    local name id region role addr state
    while read -r name id region role addr; do
        state="stopped"
        if alive "$name"; then state="pid $(<"$STATE_DIR/nodes/$name/pid")"; fi
        printf '%-5s %-4s %-8s %-8s %-16s %s\n' "$name" "$id" "$region" "$role" "$addr" "$state"
    done < <(topology)
    local bin first
    bin=$(edgebase_bin)
    first=$(topology | awk 'NR == 1 { print $1 }')
    cluster_table "$bin" "$(http_url "$first")" || note "cluster status from $first failed"
}

cmd_leader() {
    local bin first id
    bin=$(edgebase_bin)
    first=$(topology | awk 'NR == 1 { print $1 }')
    id=$(cluster_table "$bin" "$(http_url "$first")" | awk '$4 == "*" { print $1 }')
    [[ -n $id ]] || die "no leader as $first sees the cluster"
    topology | awk -v id="$id" '$2 == id { print $1 }'
}

main() {
    local command=${1:-}
    [[ -n $command ]] || { usage; exit 2; }
    shift
    case "$command" in
        up) cmd_up "$@" ;;
        start) cmd_start "$@" ;;
        partition) cmd_partition "$@" ;;
        heal) cmd_heal "$@" ;;
        cut) cmd_cut "$@" ;;
        loss) set_network_fault loss "${1:?loss needs a percentage}" ;;
        delay) set_network_fault delay "${1:?delay needs microseconds}" ;;
        kill) cmd_signal "$@" ;;
        pause) cmd_signal "${1:?pause needs a NODE}" STOP ;;
        resume) cmd_signal "${1:?resume needs a NODE}" CONT ;;
        restart) cmd_restart "$@" ;;
        wipe) cmd_wipe "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status "$@" ;;
        exec)
            local name=${1:?exec needs a NODE}
            shift
            [[ $# -gt 0 ]] || die "exec needs a command"
            node_field "$name" 1 >/dev/null
            exec ip netns exec "eb-$name" "$@"
            ;;
        url) http_url "${1:?url needs a NODE}" ;;
        rtt) rtt_ms "${1:?rtt needs two regions}" "${2:?rtt needs two regions}" ;;
        nodes) topology ;;
        leader) cmd_leader ;;
        -h | --help | help) usage ;;
        *) usage >&2; die "unknown command $command" ;;
    esac
}

main "$@"
