#!/usr/bin/env bash
# Side-by-side benchmark of the clients: `h2fetch -n -m N` against
# `nghttp -n -m N`, the same URL on the same nghttpd (one thread,
# cleartext HTTP/2); rounds alternate between the two clients, after one
# warm-up run of each.
#
#   benches/client.sh [ROUNDS]      (default 11; REQUESTS=20000)
#
# For each round prints, for each client, the wall time (measured around
# the run), the CPU time it used (user + system, from wait4's rusage, to
# the microsecond) and its peak RSS; then the medians and the ratios
# h2fetch/nghttp of the medians: below 1.0 is h2fetch ahead. The machine
# is shared, and the server runs beside the client: the CPU time is the
# steadier figure, the wall time follows whichever of client and server is
# the bottleneck.
#
# Then benches/client_rps.rs: the library client against the `h2` crate's
# client on the same server (RPS_REQUESTS=50000, 100 in flight, ROUNDS
# rounds), requests per second and CPU time per request.
#
# Needs nghttp and nghttpd (apt-get install nghttp2-client
# nghttp2-server) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-11}
requests=${REQUESTS:-20000}
for tool in nghttp nghttpd python3; do
  command -v "$tool" >/dev/null || { echo "benches/client.sh: $tool is not on PATH" >&2; exit 1; }
done

flock /tmp/cargo.lock cargo build --release --quiet --bin h2fetch
h2fetch=$PWD/target/release/h2fetch
rps=$(flock /tmp/cargo.lock cargo bench --quiet --bench client_rps --no-run --message-format=json 2>/dev/null |
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

python3 - "$rounds" "$requests" "$url" "$h2fetch" "$(command -v nghttp)" <<'EOF'
import os, statistics, subprocess, sys, time

rounds, requests, url = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
clients = {"h2fetch": sys.argv[4], "nghttp": sys.argv[5]}

def measure(program):
    """(wall s, user s, sys s, peak RSS KiB) of one run."""
    start = time.perf_counter()
    child = subprocess.Popen([program, "-n", "-m", str(requests), url],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    err = child.stderr.read().decode(errors="replace")
    child.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0 or err.strip():
        sys.exit(f"benches/client.sh: {program} failed: {err.strip()}")
    return wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss

for program in clients.values():
    measure(program)  # warm-up
runs = {name: [] for name in clients}
print(f"{requests} requests of {url} per run; CPU = user + system")
print(f"{'round':<6}" + "".join(f"{n + ' ' + c:>17}" for n in clients for c in ("wall s", "CPU s", "KiB")))
for r in range(1, rounds + 1):
    row = []
    for name, program in clients.items():
        wall, user, sys_, rss = measure(program)
        runs[name].append((wall, user, sys_, rss))
        row += [f"{wall:.3f}", f"{user + sys_:.3f}", str(rss)]
    print(f"{r:<6}" + "".join(f"{v:>17}" for v in row))

def med(name, f):
    return statistics.median(f(run) for run in runs[name])

figures = {
    "wall time": lambda r: r[0],
    "CPU time": lambda r: r[1] + r[2],
    "user time": lambda r: r[1],
    "system time": lambda r: r[2],
    "peak RSS": lambda r: r[3],
}
for label, f in figures.items():
    ours, theirs = med("h2fetch", f), med("nghttp", f)
    unit = "KiB" if label == "peak RSS" else "s"
    fmt = (lambda v: f"{v:.0f}") if unit == "KiB" else (lambda v: f"{v:.4f}")
    ratio = ours / theirs if theirs else float("inf")
    print(f"median {label:<12} h2fetch {fmt(ours):>9} {unit}, nghttp {fmt(theirs):>9} {unit}; "
          f"ratio h2fetch/nghttp {ratio:.3f}")
EOF
echo
"$rps" "$url" "${RPS_REQUESTS:-50000}" 100 "$rounds"
