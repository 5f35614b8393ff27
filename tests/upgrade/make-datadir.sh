#!/usr/bin/env bash
# Write the data dir the upgrade test opens: run an `edgebase` binary of an earlier release,
# fill it through the HTTP API, stop it cleanly, and pack its data dir with the records it
# held (what the test expects to find).
#
#   tests/upgrade/make-datadir.sh EDGEBASE_BINARY OUT_DIR
#
# OUT_DIR gets `datadir.tar.gz` and `expected.json`. The committed ones were written by the
# release build of commit 57ef5ea (before records were grouped per entry and index entries
# kept creation sequences); see tests/upgrade/README.md.
set -euo pipefail
bin=${1:?edgebase binary}
out=${2:?output directory}
mkdir -p "$out"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
url=http://127.0.0.1:$port
"$bin" serve --dir "$work/data" --http 127.0.0.1:$port >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
    curl -fs "$url/api/health" >/dev/null 2>&1 && break
    sleep 0.1
done
"$bin" superuser upsert upgrade@example.com upgradepass123 --dir "$work/data" >/dev/null
token=$(curl -fs -X POST "$url/api/collections/_superusers/auth-with-password" \
    -H 'content-type: application/json' \
    -d '{"identity":"upgrade@example.com","password":"upgradepass123"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
call() { curl -fs -X "$1" "$url$2" -H "authorization: $token" -H 'content-type: application/json' ${3:+-d "$3"}; }
call POST /api/collections '{"name":"notes","type":"base","listRule":"","viewRule":"",
  "fields":[{"name":"title","type":"text"},{"name":"n","type":"number"},
            {"name":"tag","type":"select","values":["red","green","blue"],"maxSelect":1},
            {"name":"done","type":"bool"}],
  "indexes":["CREATE UNIQUE INDEX idx_notes_title ON notes (title)",
             "CREATE INDEX idx_notes_n ON notes (n)",
             "CREATE INDEX idx_notes_tag_n ON notes (tag, n)"]}' >/dev/null
call POST /api/collections '{"name":"members","type":"auth","listRule":"","viewRule":""}' >/dev/null
tags=(red green blue)
for i in $(seq 1 300); do
    call POST /api/collections/notes/records \
        "{\"id\":\"note$(printf %011d "$i")\",\"title\":\"title $i\",\"n\":$((i % 50)),\"tag\":\"${tags[$((i % 3))]}\",\"done\":$([ $((i % 2)) = 0 ] && echo true || echo false)}" >/dev/null
done
for i in $(seq 1 20); do
    call PATCH "/api/collections/notes/records/note$(printf %011d "$i")" "{\"title\":\"renamed $i\",\"n\":$((100 + i))}" >/dev/null
done
for i in $(seq 281 290); do
    call DELETE "/api/collections/notes/records/note$(printf %011d "$i")" >/dev/null
done
for i in $(seq 1 5); do
    call POST /api/collections/members/records \
        "{\"email\":\"member$i@example.com\",\"password\":\"memberpass$i\",\"passwordConfirm\":\"memberpass$i\"}" >/dev/null
done
call GET '/api/collections/notes/records?perPage=500&sort=id&fields=id,title,n,tag,done' |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["items"], indent=1))' >"$out/expected.json"
kill -TERM "$pid"
wait "$pid" || true
tar -C "$work" -czf "$out/datadir.tar.gz" data
"$bin" --version >"$out/written-by.txt"
echo "wrote $out/datadir.tar.gz ($(du -h "$out/datadir.tar.gz" | cut -f1)) and $out/expected.json"
