#!/bin/bash
# edgebase-http-ok [HOST:PORT] [PATH]: exit 0 when `GET PATH` on HOST:PORT answers 200.
# Installed in the image as /usr/local/bin/edgebase-http-ok. The image carries no curl (one
# package fewer to keep patched); bash's /dev/tcp is enough for a probe of plain HTTP.
#   edgebase-http-ok                                  # 127.0.0.1:8090 /api/health
#   edgebase-http-ok 10.0.0.7:8090 /api/health/ready  # a peer: has a leader, caught up
set -u
address="${1:-127.0.0.1:8090}"
path="${2:-/api/health}"
host="${address%:*}"
port="${address##*:}"
# One bound on connect, send and read: a peer that is gone must not hang a start script.
# shellcheck disable=SC2016 # the inner script's variables are its own positional arguments
exec timeout 5 bash -c '
    exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n" "$3" "$1" >&3
    IFS=" " read -r _ status _ <&3 || exit 1
    [ "$status" = 200 ]
' http-ok "$host" "$port" "$path"
