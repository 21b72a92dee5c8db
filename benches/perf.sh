#!/usr/bin/env bash
# The performance suite of issue 11: h2serve beside nghttpd (and h2o when
# installed) in one run, rounds alternating between servers, ratios printed.
#
#   benches/perf.sh [--quick] [SECTION...]
#
# Sections (default: all, in this order):
#   small     small responses under h2load, h2c and TLS, -c 10 -m 10 and
#             -c 100 -m 10: the static-file route (-d, GET /index.html, 12
#             bytes) and a service answering from memory (h2serve's built-in
#             GET /, the same 12 bytes) against the other servers' file
#   download  100 MiB download (-n 5 -c 1) with HTTP/2's default 64 KiB
#             windows (-w16 -W16) and with 1 GiB ones (-w30 -W30, which
#             h2load uses when not told otherwise)
#   idle      server RSS growth per idle connection (preface + SETTINGS,
#             then nothing), h2c and TLS, at 1,000 and 10,000 connections
#   callgrind user-space instructions per request (callgrind, 20,000 requests,
#             -c 10 -m 10), split into nghttp2 / wrapper / service / ...;
#             then per MiB of the 100 MiB download (1 against 3 downloads)
#   many      5,000 concurrent connections x 10 requests: all must succeed;
#             server RSS
#   workers   h2serve -n 1 against -n 2 (nghttpd's too), req/s
#
# --quick: one round, fewer requests, 1,000 idle connections only, a
# smaller callgrind run; under a minute of load. The full run is bounded to
# about ten minutes on two cores.
#
# Environment: ROUNDS (3), SMALL_REQUESTS (100000), BIG_REQUESTS (5),
# CALLGRIND_REQUESTS (20000), IDLE_COUNTS ("1000 10000"); H2SERVE=PATH
# measures that binary instead of building target/release/h2serve (to put
# two builds side by side); CALLGRIND_SERVERS ("h2serve-mem h2serve nghttpd"),
# CALLGRIND_DOWNLOAD_SERVERS ("h2serve nghttpd"); either set empty skips
# its half of the section;
# KEEP_PROFILES=DIR keeps the callgrind outputs there.
#
# On two or more CPUs, each server runs on CPU 0 and h2load on CPU 1
# (taskset), so that a server never shares its core with the client, as
# with a client on another machine. Pinned, both servers' throughput rose
# by about 5%; the spread between rounds, which comes from the VM, stayed
# about the same. PIN=0 turns pinning off. The workers section is never
# pinned (its -n 2 needs both cores), nor are servers under valgrind.
#
# Needs h2load and nghttpd (apt-get install nghttp2-client nghttp2-server),
# python3, openssl, valgrind for the callgrind section; h2o
# (apt-get install h2o) is measured when it is on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
sections=()
for arg in "$@"; do
  case $arg in
    --quick) quick=true ;;
    small|download|idle|callgrind|many|workers) sections+=("$arg") ;;
    *) echo "benches/perf.sh: unknown argument '$arg' (see the comment at the top)" >&2; exit 2 ;;
  esac
done
[ ${#sections[@]} -gt 0 ] || sections=(small download idle callgrind many workers)

if $quick; then
  rounds=${ROUNDS:-1}; small_requests=${SMALL_REQUESTS:-20000}
  big_requests=${BIG_REQUESTS:-2}; cg_requests=${CALLGRIND_REQUESTS:-4000}
  idle_counts=${IDLE_COUNTS:-1000}
else
  rounds=${ROUNDS:-3}; small_requests=${SMALL_REQUESTS:-100000}
  big_requests=${BIG_REQUESTS:-5}; cg_requests=${CALLGRIND_REQUESTS:-20000}
  idle_counts=${IDLE_COUNTS:-1000 10000}
fi

for tool in h2load nghttpd python3 openssl; do
  command -v "$tool" >/dev/null || { echo "benches/perf.sh: $tool is not on PATH" >&2; exit 1; }
done
# Pinning (see the header): server_pin for the servers, client_pin for
# h2load; empty when off or impossible.
server_pin=() client_pin=()
if [ "${PIN:-1}" != 0 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_pin=(taskset -c 0) client_pin=(taskset -c 1)
fi
have_h2o=false
command -v h2o >/dev/null && have_h2o=true
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ -n "${H2SERVE:-}" ]; then
  h2serve=$(realpath "$H2SERVE")
else
  flock /tmp/cargo.lock cargo build --release --quiet --bin h2serve
  h2serve=$PWD/target/release/h2serve
fi

work=$(mktemp -d)
chmod 755 "$work"
cleanup() {
  local pids
  pids=$(jobs -p)
  [ -z "$pids" ] || kill $pids 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
docroot=$work/htdocs
mkdir -p "$docroot"
chmod 755 "$docroot"
printf 'hello world\n' > "$docroot/index.html"
head -c $((100 * 1024 * 1024)) /dev/urandom > "$docroot/big.bin"
chmod 644 "$docroot"/*
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
chmod 644 "$work"/*.pem

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {
  local tries=${2:-100}
  for _ in $(seq "$tries"); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "server on port $1 did not start" >&2
  exit 1
}

h2o_conf() { # PORT MODE -> config file path
  local conf=$work/h2o-$1.conf
  {
    echo "num-threads: 1"
    echo "max-connections: 20000"
    echo "user: $(id -un)"
    echo "pid-file: $work/h2o-$1.pid"
    echo "error-log: $work/h2o-error.log"
    echo "listen:"
    echo "  host: 127.0.0.1"
    echo "  port: $1"
    if [ "$2" = tls ]; then
      echo "  ssl:"
      echo "    certificate-file: $work/cert.pem"
      echo "    key-file: $work/key.pem"
    fi
    echo "hosts:"
    echo "  default:"
    echo "    paths:"
    echo "      /:"
    echo "        file.dir: $docroot"
  } > "$conf"
  echo "$conf"
}

# start SERVER MODE [WORKERS] [WRAPPER...]: starts SERVER (h2serve,
# h2serve-mem, nghttpd, h2o) in MODE (h2c, tls) on a fresh port; sets $pid
# and $port. "h2serve-mem" is h2serve's built-in site (GET / from memory).
start() {
  local server=$1 mode=$2 workers=${3:-1}
  shift 3 || shift $#
  # No wrapper given: pinned (the workers section gives `env`).
  [ $# -gt 0 ] || set -- "${server_pin[@]}"
  port=$(free_port)
  local tls=(--no-tls) ngtls=(--no-tls)
  if [ "$mode" = tls ]; then
    tls=(--cert "$work/cert.pem" --key "$work/key.pem"); ngtls=()
  fi
  case $server in
    h2serve) RUST_LOG=warn "$@" "$h2serve" "${tls[@]}" -n "$workers" -q --addr 127.0.0.1:"$port" -d "$docroot" >/dev/null 2>&1 & ;;
    h2serve-mem) RUST_LOG=warn "$@" "$h2serve" "${tls[@]}" -n "$workers" -q --addr 127.0.0.1:"$port" >/dev/null 2>&1 & ;;
    nghttpd)
      if [ "$mode" = tls ]; then
        "$@" nghttpd -n "$workers" -d "$docroot" "$port" "$work/key.pem" "$work/cert.pem" >/dev/null 2>&1 &
      else
        "$@" nghttpd "${ngtls[@]}" -n "$workers" -d "$docroot" "$port" >/dev/null 2>&1 &
      fi ;;
    h2o) "$@" h2o -c "$(h2o_conf "$port" "$mode")" >/dev/null 2>&1 & ;;
  esac
  pid=$!
}

stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

path_of() { # SERVER SMALLPATH
  if [ "$1" = h2serve-mem ]; then echo /; else echo "$2"; fi
}

url_of() { # MODE PORT PATH
  if [ "$1" = tls ]; then echo "https://127.0.0.1:$2$3"; else echo "http://127.0.0.1:$2$3"; fi
}

# h2load output -> one number: req/s (field 2) or MB/s (field 3).
number() {
  grep '^finished in' | awk -v f="$1" -F', ' '{
    v = $f; sub(/ req\/s$/, "", v)
    if (v ~ /GB\/s$/) { sub(/GB\/s$/, "", v); v *= 1024 }
    else if (v ~ /MB\/s$/) { sub(/MB\/s$/, "", v) }
    else if (v ~ /KB\/s$/) { sub(/KB\/s$/, "", v); v /= 1024 }
    else if (v ~ /B\/s$/) { sub(/B\/s$/, "", v); v /= 1048576 }
    printf "%.2f\n", v }'
}

# measure SERVER MODE PATH FIELD H2LOAD-ARGS...: one figure.
measure() {
  local server=$1 mode=$2 path=$3 field=$4
  shift 4
  start "$server" "$mode"
  wait_port "$port"
  local out
  out=$("${client_pin[@]}" h2load "$@" "$(url_of "$mode" "$port" "$(path_of "$server" "$path")")" 2>&1) || true
  stop
  if ! grep -q " 0 failed, 0 errored" <<<"$out"; then
    echo "$server: h2load reported failures:" >&2
    echo "$out" | tail -8 >&2
    echo 0
    return
  fi
  number "$field" <<<"$out"
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# bench LABEL MODE PATH FIELD UNIT SERVERS -- H2LOAD-ARGS...: alternating
# rounds, medians, and each server's ratio to nghttpd.
bench() {
  local label=$1 mode=$2 path=$3 field=$4 unit=$5
  shift 5
  local servers=()
  while [ "$1" != -- ]; do servers+=("$1"); shift; done
  shift
  echo "== $label [$mode] h2load $*"
  declare -A got=()
  local round s v
  for round in $(seq "$rounds"); do
    local line="  round $round:"
    for s in "${servers[@]}"; do
      v=$(measure "$s" "$mode" "$path" "$field" "$@")
      got[$s]+="$v "
      line+=" $s $v"
    done
    echo "$line"
  done
  local ng
  ng=$(printf '%s\n' ${got[nghttpd]} | median)
  for s in "${servers[@]}"; do
    v=$(printf '%s\n' ${got[$s]} | median)
    printf '  median %-12s %12s %s  ratio to nghttpd %s\n' "$s" "$v" "$unit" \
      "$(awk -v a="$v" -v b="$ng" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }')"
  done
  # The spread: the first server against nghttpd within each round.
  printf '  %s / nghttpd by round:' "${servers[0]}"
  paste -d' ' <(printf '%s\n' ${got[${servers[0]}]}) <(printf '%s\n' ${got[nghttpd]}) \
    | awk '{ if ($2 > 0) printf " %.3f", $1 / $2; else printf " -" } END { print "" }'
}

others=(nghttpd)
$have_h2o && others+=(h2o)

section_small() {
  local mode c
  for mode in h2c tls; do
    for c in 10 100; do
      bench "small file (GET /index.html, 12 bytes)" "$mode" /index.html 2 req/s \
        h2serve "${others[@]}" -- -n "$small_requests" -c "$c" -m 10 -t 1
      bench "service from memory (h2serve GET /, 12 bytes; the others serve the file)" "$mode" /index.html 2 req/s \
        h2serve-mem "${others[@]}" -- -n "$small_requests" -c "$c" -m 10 -t 1
    done
  done
}

section_download() {
  # h2load's own default is -w30 -W30 (1 GiB windows); HTTP/2's default
  # window, 64 KiB, has to be asked for with -w16 -W16.
  bench "100 MiB download, HTTP/2's default 64 KiB windows (-w16 -W16)" h2c /big.bin 3 MB/s \
    h2serve "${others[@]}" -- -n "$big_requests" -c 1 -m 1 -t 1 -w 16 -W 16
  bench "100 MiB download, 1 GiB client windows (-w30 -W30, h2load's default)" h2c /big.bin 3 MB/s \
    h2serve "${others[@]}" -- -n "$big_requests" -c 1 -m 1 -t 1 -w 30 -W 30
}

section_idle() {
  local n s mode flag what
  for mode in h2c tls; do
    flag=; [ "$mode" = tls ] && flag=--tls
    if [ "$mode" = tls ]; then what="TLS handshake, preface"; else what=preface; fi
    echo "== RSS growth per idle $mode connection ($what + SETTINGS + ACK, then idle)"
    for n in $idle_counts; do
      for s in h2serve nghttpd "${others[@]:1}"; do
        start "$s" "$mode"
        wait_port "$port"
        printf '  %-8s %s\n' "$s" "$(python3 benches/idle_conns.py "$port" "$n" "$pid" $flag)"
        stop
      done
    done
  done
}

# Runs SERVER under callgrind for one h2load run of N requests for PATH
# (h2load's other arguments follow): the profile is $work/cg-NAME-N.out,
# copied to KEEP_PROFILES when set.
callgrind_run() { # SERVER NAME N PATH H2LOAD-ARGS...
  local s=$1 name=$2 n=$3 path=$4
  shift 4
  start "$s" h2c 1 valgrind --tool=callgrind --callgrind-out-file="$work/cg-$name-$n.out"
  wait_port "$port" 300
  h2load -n "$n" "$@" -t 1 "$(url_of h2c "$port" "$path")" \
    | grep -q " 0 failed, 0 errored" || echo "  $s: h2load reported failures under callgrind" >&2
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  [ -z "${KEEP_PROFILES:-}" ] || { mkdir -p "$KEEP_PROFILES"; cp "$work/cg-$name-$n.out" "$KEEP_PROFILES"/; }
}

section_callgrind() {
  command -v valgrind >/dev/null || { echo "== callgrind: valgrind not on PATH, skipped"; return; }
  local small=$((cg_requests / 10)) big=$((cg_requests + cg_requests / 10)) s n
  echo "== user-space instructions per request (callgrind; ($big - $small requests) / $cg_requests; h2load -c 10 -m 10)"
  for s in ${CALLGRIND_SERVERS-h2serve-mem h2serve nghttpd}; do
    for n in $small $big; do
      callgrind_run "$s" "$s" "$n" "$(path_of "$s" /index.html)" -c 10 -m 10
    done
    echo "  $s:"
    python3 benches/callgrind_split.py "$work/cg-$s-$small.out" "$small" "$work/cg-$s-$big.out" "$big" 10
  done
  echo "== user-space instructions per MiB downloaded (callgrind; (3 - 1 downloads of 100 MiB) / 200 MiB; h2load -c 1 -m 1)"
  for s in ${CALLGRIND_DOWNLOAD_SERVERS-h2serve nghttpd}; do
    for n in 1 3; do
      callgrind_run "$s" "dl-$s" "$n" /big.bin -c 1 -m 1
    done
    echo "  $s:"
    python3 benches/callgrind_split.py --per=MiB "$work/cg-dl-$s-1.out" 100 "$work/cg-dl-$s-3.out" 300 10
  done
}

section_many() {
  local s
  echo "== 5,000 concurrent connections x 10 requests (h2load -c 5000 -n 50000 -m 10 -t 1)"
  for s in h2serve nghttpd "${others[@]:1}"; do
    start "$s" h2c
    wait_port "$port"
    local before out
    before=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
    out=$("${client_pin[@]}" h2load -c 5000 -n 50000 -m 10 -t 1 "$(url_of h2c "$port" /index.html)" 2>&1) || true
    local hwm
    hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
    stop
    printf '  %-8s %s; %s req/s; server RSS at start %s KiB, peak %s KiB\n' "$s" \
      "$(grep '^requests:' <<<"$out" | sed 's/^requests: //')" \
      "$(number 2 <<<"$out")" "$before" "$hwm"
  done
}

section_workers() {
  local s w round out
  echo "== event loops: -n 1 against -n 2 (h2c, h2load -n $small_requests -c 100 -m 10 -t 2; $rounds alternating rounds, medians)"
  declare -A got=()
  for round in $(seq "$rounds"); do
    for w in 1 2; do
      for s in h2serve-mem nghttpd; do
        start "$s" h2c "$w" env
        wait_port "$port"
        out=$(h2load -n "$small_requests" -c 100 -m 10 -t 2 "$(url_of h2c "$port" "$(path_of "$s" /index.html)")" 2>&1) || true
        stop
        got[$s-$w]+="$(number 2 <<<"$out") "
      done
    done
  done
  declare -A med=()
  for s in h2serve-mem nghttpd; do
    for w in 1 2; do med[$s-$w]=$(printf '%s\n' ${got[$s-$w]} | median); done
    printf '  %-12s -n 1 %s req/s; -n 2 %s req/s\n' "$s:" "${med[$s-1]}" "${med[$s-2]}"
  done
  printf '  ratio to nghttpd: -n 1 %s; -n 2 %s\n' \
    "$(awk -v a="${med[h2serve-mem-1]}" -v b="${med[nghttpd-1]}" 'BEGIN { printf "%.3f", a / b }')" \
    "$(awk -v a="${med[h2serve-mem-2]}" -v b="${med[nghttpd-2]}" 'BEGIN { printf "%.3f", a / b }')"
}

echo "# benches/perf.sh $* ($(git rev-parse --short HEAD 2>/dev/null || echo ?), $(date -u +%FT%TZ), $(nproc) cores)"
echo "# nghttpd $(nghttpd --version | awk '{ print $NF }')$($have_h2o && echo ", h2o $(h2o --version | awk 'NR == 1 { print $3 }')")"
for section in "${sections[@]}"; do
  "section_$section"
done
