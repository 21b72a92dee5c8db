#!/usr/bin/env bash
# Side-by-side benchmark of the clients: `h2fetch -n -m N` against
# `nghttp -n -m N`, the same URL on the same nghttpd (one thread,
# cleartext HTTP/2); rounds alternate between the two clients.
#
#   benches/client.sh [ROUNDS]      (default 5; REQUESTS=20000)
#
# For each round prints the wall time (measured around the run) and the
# peak RSS of each client (GNU time's "Maximum resident set size"), then the median ratios h2fetch/nghttp: below 1.0 is h2fetch
# ahead. Needs nghttp, nghttpd (apt-get install nghttp2-client
# nghttp2-server) and GNU time (/usr/bin/time, package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-5}
requests=${REQUESTS:-20000}
for tool in nghttp nghttpd; do
  command -v "$tool" >/dev/null || { echo "benches/client.sh: $tool is not on PATH" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "benches/client.sh: /usr/bin/time (GNU time) is missing" >&2; exit 1; }

cargo build --release --quiet --bin h2fetch
h2fetch=target/release/h2fetch
rps=$(cargo bench --quiet --bench client_rps --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "client_rps" and m.get("executable"):
        print(m["executable"])')

docroot=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$docroot"' EXIT
printf 'hello world\n' > "$docroot/index.html"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
nghttpd --no-tls -n 1 -d "$docroot" "$port" >/dev/null 2>&1 &
for _ in $(seq 100); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.1
done
url="http://127.0.0.1:$port/index.html"

# Runs one client; prints "SECONDS KILOBYTES".
measure() {
  local report start end
  report=$(mktemp)
  start=$(date +%s%N)
  if ! /usr/bin/time -v -o "$report" "$@" -n -m "$requests" "$url" >/dev/null 2>"$report.err"; then
    echo "benches/client.sh: $1 failed:" >&2
    cat "$report.err" >&2
    exit 1
  fi
  end=$(date +%s%N)
  # The wall time measured here (GNU time's is in hundredths).
  awk -F': ' -v ns=$((end - start)) '
    /Maximum resident set size/ { kb = $2 }
    END { printf "%.3f %d\n", ns / 1e9, kb }' "$report"
  rm -f "$report" "$report.err"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

time_ratios=()
rss_ratios=()
echo "$requests requests of $url per run"
printf '%-6s %12s %12s %14s %14s\n' round "h2fetch s" "nghttp s" "h2fetch KiB" "nghttp KiB"
for round in $(seq "$rounds"); do
  read -r ours_s ours_kb < <(measure "$h2fetch")
  read -r theirs_s theirs_kb < <(measure nghttp)
  printf '%-6s %12s %12s %14s %14s\n' "$round" "$ours_s" "$theirs_s" "$ours_kb" "$theirs_kb"
  time_ratios+=("$(awk -v a="$ours_s" -v b="$theirs_s" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')")
  rss_ratios+=("$(awk -v a="$ours_kb" -v b="$theirs_kb" 'BEGIN { printf "%.3f", a / b }')")
done
echo "median time ratio h2fetch/nghttp: $(printf '%s\n' "${time_ratios[@]}" | median)"
echo "median peak RSS ratio h2fetch/nghttp: $(printf '%s\n' "${rss_ratios[@]}" | median)"
echo
"$rps" "$url" "${RPS_REQUESTS:-50000}" 100 "$rounds"
