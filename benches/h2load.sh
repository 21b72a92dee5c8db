#!/usr/bin/env bash
# Side-by-side benchmark: h2serve against nghttpd, one thread each, cleartext
# HTTP/2, under h2load; rounds alternate between the two servers.
#
#   benches/h2load.sh [ROUNDS]      (default 3)
#
# Prints requests/s for each round, the median ratio h2serve/nghttpd for a
# small response, then the same for a 100 MiB download (throughput).
# Needs h2load and nghttpd (apt-get install nghttp2-client nghttp2-server).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-3}
small_requests=${SMALL_REQUESTS:-200000}
big_requests=${BIG_REQUESTS:-5}
for tool in h2load nghttpd; do
  command -v "$tool" >/dev/null || { echo "benches/h2load.sh: $tool is not on PATH" >&2; exit 1; }
done

cargo build --release --quiet --bin h2serve
h2serve=target/release/h2serve

docroot=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$docroot"' EXIT
printf 'hello world\n' > "$docroot/index.html"
head -c $((100 * 1024 * 1024)) /dev/urandom > "$docroot/big.bin"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  exit 1
}

# Starts server $1 (h2serve|nghttpd) on a fresh port; prints the port.
# "h2serve" serves the same files as nghttpd (-d); "h2serve-builtin" its
# built-in site, whose GET / answers the same 12 bytes as index.html.
start() {
  local port
  port=$(free_port)
  case $1 in
    h2serve-builtin) RUST_LOG=warn "$h2serve" --no-tls -n 1 -q --addr 127.0.0.1:"$port" >/dev/null 2>&1 & ;;
    h2serve) RUST_LOG=warn "$h2serve" --no-tls -n 1 -q --addr 127.0.0.1:"$port" -d "$docroot" >/dev/null 2>&1 & ;;
    nghttpd) nghttpd --no-tls -n 1 -d "$docroot" "$port" >/dev/null 2>&1 & ;;
  esac
  echo "$! $port"
}

# Runs h2load against a server and prints one number: req/s or MB/s.
measure() {
  local server=$1 path=$2 requests=$3 field=$4 clients=$5 streams=$6
  read -r pid port < <(start "$server")
  wait_port "$port"
  local out
  out=$(h2load -n "$requests" -c "$clients" -m "$streams" -t 1 "http://127.0.0.1:$port$path")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  if ! grep -q " 0 failed, 0 errored" <<<"$out"; then
    echo "$server: h2load reported failures:" >&2
    echo "$out" >&2
    exit 1
  fi
  # "finished in 1.23s, 162000.00 req/s, 5.2MB/s": req/s as it is, the
  # throughput in MB/s whatever unit h2load chose.
  grep '^finished in' <<<"$out" | awk -v f="$field" -F', ' '{
    v = $f; sub(/ req\/s$/, "", v)
    if (v ~ /GB\/s$/) { sub(/GB\/s$/, "", v); v *= 1024 }
    else if (v ~ /MB\/s$/) { sub(/MB\/s$/, "", v) }
    else if (v ~ /KB\/s$/) { sub(/KB\/s$/, "", v); v /= 1024 }
    else if (v ~ /B\/s$/) { sub(/B\/s$/, "", v); v /= 1048576 }
    printf "%.2f\n", v }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

bench() {
  local label=$1 path=$2 requests=$3 field=$4 unit=$5 clients=$6 streams=$7
  local ours_server=${8:-h2serve} ours_path=${9:-$2}
  local ours=() theirs=() ratios=()
  echo "== $label: h2load -n $requests -c $clients -m $streams -t 1, $rounds rounds, alternating"
  for round in $(seq "$rounds"); do
    local a b
    a=$(measure "$ours_server" "$ours_path" "$requests" "$field" "$clients" "$streams")
    b=$(measure nghttpd "$path" "$requests" "$field" "$clients" "$streams")
    ours+=("$a"); theirs+=("$b")
    ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')")
    printf 'round %d: h2serve %s %s, nghttpd %s %s, ratio %s\n' "$round" "$a" "$unit" "$b" "$unit" "${ratios[-1]}"
  done
  printf 'median: h2serve %s %s, nghttpd %s %s, ratio h2serve/nghttpd %s\n' \
    "$(printf '%s\n' "${ours[@]}" | median)" "$unit" \
    "$(printf '%s\n' "${theirs[@]}" | median)" "$unit" \
    "$(printf '%s\n' "${ratios[@]}" | median)"
}

bench "small response, both serving the file (GET /index.html, 12 bytes)" /index.html "$small_requests" 2 req/s 10 10
bench "small response, h2serve's built-in GET / (the same 12 bytes, no file system) against nghttpd's file" \
  /index.html "$small_requests" 2 req/s 10 10 h2serve-builtin /
bench "100 MiB download (GET /big.bin, one stream at a time)" /big.bin "$big_requests" 3 MB/s 1 1
