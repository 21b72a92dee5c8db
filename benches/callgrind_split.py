#!/usr/bin/env python3
"""Instructions per request from two callgrind profiles of one server, split
by where they go.

    callgrind_split.py [--per=UNIT] SMALL.out N_SMALL BIG.out N_BIG [TOP]

SMALL and BIG are callgrind outputs of the same server serving N_SMALL and
N_BIG requests (same h2load shape); with --per=UNIT, N_SMALL and N_BIG
count UNITs instead (--per=MiB for downloads). Start-up and shut-down
cancel out: the figures are (BIG - SMALL) / (N_BIG - N_SMALL), self cost
per function, grouped into: nghttp2 (the C library), shim (csrc/), wrapper
(this crate's src/ outside the service), service (the handler: h2serve's
built-in site and the file service), http crates (http, bytes, ...),
runtime (tokio, libev), allocator, libc (memcpy & co.), TLS (libssl,
libcrypto), std and other. Prints a table and the TOP most costly
functions.
"""
import collections
import re
import sys


def parse(path):
    """Self Ir per (object, file, function)."""
    names = {"ob": {}, "fl": {}, "fn": {}}
    cost = collections.Counter()
    ob = fl = fn = ""
    skip_next = False
    npos = 1
    ref = re.compile(r"^\((\d+)\)(?: (.*))?$")

    def resolve(kind, text):
        m = ref.match(text)
        if not m:
            return text
        if m.group(2) is not None:
            names[kind][m.group(1)] = m.group(2)
            return m.group(2)
        return names[kind].get(m.group(1), "?")

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            c = line[0]
            if c.isdigit() or c in "+-*":
                if skip_next:
                    skip_next = False
                    continue
                parts = line.split()
                if len(parts) > npos:
                    cost[(ob, fl, fn)] += int(parts[npos])
                continue
            key, _, val = line.partition("=")
            if key == "ob":
                ob = resolve("ob", val)
            elif key == "fl":
                fl = resolve("fl", val)
            elif key in ("fi", "fe"):
                resolve("fl", val)
            elif key == "fn":
                fn = resolve("fn", val)
            elif key in ("cob", "cfi", "cfl", "cfn"):
                resolve({"cob": "ob", "cfi": "fl", "cfl": "fl", "cfn": "fn"}[key], val)
            elif key == "calls":
                skip_next = True
            elif line.startswith("positions:"):
                npos = len(line.split()) - 1
    return cost


def category(ob, fl, fn):
    obl, fll = ob.lower(), fl.lower()
    if "csrc/shim" in fll or fn.startswith("h2shim_"):
        return "shim"
    if "libnghttp2" in obl or "nghttp2/lib/" in fll or "libnghttp2-sys" in fll \
            or (fn.startswith(("nghttp2_", "sfparse_", "sf_")) and "::" not in fn):
        return "nghttp2"
    if "libssl" in obl or "libcrypto" in obl or "/openssl" in fll:
        return "TLS"
    if "mimalloc" in fll or fn.startswith(("mi_", "_mi_")) or fn in (
            "malloc", "free", "calloc", "realloc", "_int_malloc", "_int_free",
            "cfree", "malloc_consolidate", "_int_realloc", "unlink_chunk",
            "tcache_init", "__libc_malloc", "__libc_free", "__libc_calloc",
            "_int_free_merge_chunk", "_int_free_create_chunk",
            "_int_free_maybe_consolidate", "operator new(unsigned long)",
            "operator delete(void*, unsigned long)", "operator delete(void*)"):
        return "allocator"
    own = fll.endswith(".rs") and "/.cargo/" not in fll and "/rustc/" not in fll \
        and (fll.startswith("src/") or "/src/" in fll)
    if (own and ("src/bin/" in fll or "src/server/files.rs" in fll)) or "h2serve::" in fn \
            or obl.endswith("/nghttpd"):
        return "service"
    if own:
        return "wrapper"
    if "/tokio-" in fll or "libev" in obl or "/mio-" in fll:
        return "runtime"
    if re.search(r"/(http|http-body|http-body-util|bytes|httpdate|tower-service)-\d", fll):
        return "http crates"
    if "libc.so" in obl or "libc-" in obl:
        return "libc"
    if "/rustc/" in fll or "libstdc++" in obl:
        return "std"
    return "other"


def main():
    args = sys.argv[1:]
    unit = "request"
    if args and args[0].startswith("--per="):
        unit = args.pop(0)[len("--per="):]
    if len(args) not in (4, 5):
        raise SystemExit(__doc__)
    small, n_small = parse(args[0]), int(args[1])
    big, n_big = parse(args[2]), int(args[3])
    top = int(args[4]) if len(args) == 5 else 12
    n = n_big - n_small
    diff = collections.Counter(big)
    diff.subtract(small)
    total = sum(diff.values())
    cats = collections.Counter()
    for (ob, fl, fn), v in diff.items():
        cats[category(ob, fl, fn)] += v
    print(f"  instructions per {unit}: {total / n:,.0f}")
    for cat, v in cats.most_common():
        if abs(v) / n >= 1:
            print(f"    {cat:<12} {v / n:>9,.0f}  {100 * v / total:5.1f}%")
    print(f"  top {top} functions (self, per {unit}):")
    for (ob, fl, fn), v in diff.most_common(top):
        print(f"    {v / n:>8,.0f}  {category(ob, fl, fn):<11} {fn[:110]}")


if __name__ == "__main__":
    main()
