#!/usr/bin/env bash
# Measures the bench servers of bench_server.ts with wrk (keep-alive and
# 16-deep pipelined, bench/wrk/pipeline.lua): req/s and the server's CPU
# microseconds per request (utime+stime of /proc/PID/stat over the run).
#   serve/testdata/bench.sh [seconds] [rounds] [variants...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-5}"; rounds="${2:-3}"; shift 2 || true
variants=("${@:-hono-serve hono-deno fetch-serve fetch-deno native}")
read -r -a variants <<< "${variants[*]}"
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq 1 "$rounds"); do
  for v in "${variants[@]}"; do
    log=$(mktemp)
    deno run -A serve/testdata/bench_server.ts "$v" 0 > "$log" 2>&1 &
    pid=$!
    for _ in $(seq 1 100); do grep -q "listening on" "$log" && break; sleep 0.1; done
    port=$(sed -nE 's#.*127\.0\.0\.1:([0-9]+)/.*#\1#p' "$log" | head -1)
    wrk -t1 -c50 -d1s "http://127.0.0.1:$port/" > /dev/null
    for mode in keepalive pipelined; do
      script=(); [ "$mode" = pipelined ] && script=(-s bench/wrk/pipeline.lua)
      c0=$(cpu "$pid")
      out=$(wrk -t1 -c50 -d"${secs}s" "${script[@]}" "http://127.0.0.1:$port/")
      c1=$(cpu "$pid")
      reqs=$(echo "$out" | sed -nE 's/^ *([0-9]+) requests in.*/\1/p')
      rps=$(echo "$out" | sed -nE 's/^Requests\/sec: *([0-9.]+).*/\1/p')
      us=$(awk -v a="$c0" -v b="$c1" -v t="$tck" -v n="$reqs" 'BEGIN { printf "%.2f", (b - a) / t * 1e6 / n }')
      echo "round=$round variant=$v mode=$mode req_s=$rps cpu_us_per_req=$us"
    done
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -f "$log"
  done
done
