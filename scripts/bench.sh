#!/usr/bin/env bash
# `make bench`: every benchmark of BENCHMARKS.md, each figure printed beside
# its budget. Expects a release build (`cargo leptos build --release
# --precompress`) and the signal_load, signal_fuzz, abuse and forward_load
# examples (`cargo build --release --example signal_load … --features ssr`);
# the Makefile makes both.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

section() { printf '\n=== %s ===\n' "$*"; }

work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A release server of the benchmark's own on $1, settings from $work/bench.toml.
start_server() {
  MOIM_CONFIG="$work/bench.toml" ./target/release/moim --addr "127.0.0.1:$1" --data-dir "$work/data" \
    >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -fso /dev/null "http://127.0.0.1:$1/" && return
    sleep 0.1
  done
  echo "server did not start" >&2
  exit 1
}
stop_server() {
  kill "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

section "1 and 2. Call setup against the floor, and room-page weight"
node end2end/bench/call.mjs

section "Rejoin after a server restart"
node end2end/bench/restart.mjs

section "3. Signaling capacity: 10,000 connections in rooms of 4"
# Long idle timeouts: the generator only pings by relaying.
# Every generated connection comes from 127.0.0.1: the per-address caps
# are raised past the benchmark's own count.
cat >"$work/bench.toml" <<'TOML'
address = "127.0.0.1:3300"
idle_timeout_secs = 600
join_timeout_secs = 60
connections_per_address = 20000
sockets_per_address = 20000
rooms_per_address_hour = 100000
TOML
ulimit -n 20000
start_server 3300
./target/release/examples/signal_load --url ws://127.0.0.1:3300/ws --connections 10000 --room-size 4 \
  --rate 10000,50000 --seconds 10 --server-pid "$server_pid"
stop_server

section "4. Page serving: the room page under wrk"
start_server 3301
room=$(curl -fsS -o /dev/null -w '%{redirect_url}' -X POST http://127.0.0.1:3301/new)
# Two loads: 64 connections (queueing: by Little's law a mean under 5 ms
# needs over 12,800 requests/s), and 16, where the latency is the server's.
for conns in 64 16; do
  wrk -t2 -c$conns -d10s --latency -H 'Accept-Encoding: br, gzip' "$room" | tee "$work/wrk.txt"
  rps=$(awk '/^Requests\/sec/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  echo "room page, $conns connections: $rps requests/s, p99 $p99 (budget: >= 10,000 requests/s, p99 <= 5 ms)"
done
stop_server

section "Abuse: attackers of each kind against one server, a call beside them"
# The shipped limits; attackers come from many loopback addresses (the
# generator binds 127.0.x.y), so per-address limits work as on the internet.
cat >"$work/bench.toml" <<TOML
address = "127.0.0.1:3303"
[recordings]
dir = "$work/recordings"
total_quota_mb = 4000
TOML
ulimit -n 20000
start_server 3303
./target/release/examples/abuse --server 127.0.0.1:3303 --server-pid "$server_pid" --addresses 40 --seconds 10
stop_server

section "Loopback fuzz: 1,000,000 random and mutated frames"
# Rate limits out of the way, so every frame reaches the decoder and the rooms.
cat >"$work/bench.toml" <<'TOML'
rate_per_sec = 100000000
rate_burst = 100000000
rooms_per_address_hour = 100000
TOML
start_server 3302
./target/release/examples/signal_fuzz --url ws://127.0.0.1:3302/ws --frames "${FUZZ_FRAMES:-1000000}"
panics=$(grep -c panicked "$work/server.log" || true)
alive=$(kill -0 "$server_pid" 2>/dev/null && echo "still running" || echo "GONE")
echo "server: $panics panics, $alive (budget: 0 panics, still serving)"
stop_server

section "5. Mesh quality: 4 people at 360p"
node end2end/bench/mesh.mjs

section "6. Six people forwarded against six in a mesh, and the sixth joiner's setup"
node end2end/bench/forward.mjs

section "7. Forwarded rooms: synthetic participants in one room (examples/forward_load.rs)"
# Every room of two or more is forwarded, and a room holds up to 128.
# Each run gets a server of its own, so memory per participant starts
# from an empty server. Three publishers speak (their packets' audio level
# says so, as browsers write it), the others' microphones send silence.
# Rooms above 25 give each receiver 24 slots of each kind (a screen shows
# no more tiles than that, and the generator decrypts all it receives on
# the same two cores), and loss counts what they carry.
cat >"$work/bench.toml" <<'TOML'
address = "127.0.0.1:3310"
room_capacity = 128
idle_timeout_secs = 600
join_timeout_secs = 60
[forward]
mesh_max = 1
TOML
forward_run() {
  local people=$1
  shift
  local slots=()
  [ "$people" -gt 25 ] && slots=(--max-slots 24)
  start_server 3310
  ./target/release/examples/forward_load --url ws://127.0.0.1:3310/ws --server-pid "$server_pid" \
    --seconds "${FORWARD_SECONDS:-10}" --people "$people" "${slots[@]}" "$@" | tee "$work/forward.txt"
  stop_server
}
for people in 20 50 100; do
  printf '\n--- %s people, all publishing, 3 speaking ---\n' "$people"
  forward_run "$people" --speakers 3
done
printf '\n--- a lecture: 100 people, 2 publishing ---\n'
forward_run 100 --publishers 2
# The most people, all publishing, whose loss stays under 1%: stepping up
# until a size loses more.
best=0
for people in 10 15 20 25 30 40 50; do
  printf '\n--- %s people, all publishing, 3 speaking (search) ---\n' "$people"
  forward_run "$people" --speakers 3
  loss=$(awk '/^LOSS/ {sub("%", "", $2); print $2}' "$work/forward.txt")
  if awk -v l="$loss" 'BEGIN {exit !(l < 1)}'; then best=$people; else break; fi
done
echo "forwarded room: at most $best people all publishing with loss under 1%"
