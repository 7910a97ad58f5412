#!/usr/bin/env bash
# Benchmark of the in-place upgrade of a large format-1 vault (issue 16; docs/BENCHMARKS.md,
# "sixth part"). This version cannot write a format-1 vault, so the version before per-user
# keys (76bd4f8) writes one: built in a worktree of its own, it creates a vault and seeds it with
# COUNT demo applications; then this version's release `desk` signs in on it (which upgrades
# it in place) and verifies the audit chain, under GNU time.
#
#   scripts/bench-format1-upgrade.sh [COUNT]     (default 100000; needs python3 and /usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-100000}"
old_rev=76bd4f8
work="$(mktemp -d)"
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/old" "$old_rev" >/dev/null
(cd "$work/old" && CARGO_TARGET_DIR="$work/old-target" cargo build --release -p desk --locked -q)
cargo build --release -p desk --locked -q
export BOARDING_DESK_DEVICE_DIR="$work/devices"
mkdir -p "$work/vault"
python3 - "$work/old-target/release/desk" "$work/vault" "$count" "$PWD/target/release/desk" <<'PY'
import base64, hashlib, hmac, struct, subprocess, sys, time
old, vault, count, new = sys.argv[1:5]
password = "correct horse battery 42"

def code(secret, step):
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(time.time()) // 30 + step), hashlib.sha1).digest()
    at = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[at:at + 4])[0] & 0x7FFFFFFF) % 1000000)

def run(args, stdin="", timed=False):
    cmd = (["/usr/bin/time", "-v"] if timed else []) + args
    out = subprocess.run(cmd, input=stdin, text=True, capture_output=True)
    if out.returncode != 0:
        sys.exit(f"{args[0]} {args[3:]} failed: {out.stderr[-500:]}")
    return out

init = subprocess.Popen([old, "--data-dir", vault, "init", "--username", "admin"], text=True,
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
init.stdin.write(password + "\n"); init.stdin.flush()
secret = None
while secret is None:
    line = init.stdout.readline()
    if not line:
        sys.exit("init ended early: " + init.stderr.read())
    if line.startswith("authenticator secret: "):
        secret = line.split(": ", 1)[1].strip()
init.stdin.write(code(secret, 0) + "\n"); init.stdin.close()
if init.wait() != 0:
    sys.exit("init failed: " + init.stderr.read())
run([old, "--data-dir", vault, "--user", "admin", "--code", code(secret, 1), "unlock"], password + "\n")
started = time.time()
run([old, "--data-dir", vault, "demo", "seed", "--count", count, "--seed", "7"])
print(f"format-1 vault of {count} applications written in {time.time() - started:.1f} s")
run([old, "--data-dir", vault, "lock"])
# The old build's sign-ins used this step and the next: wait for a code past them.
time.sleep(31)
out = run([new, "--data-dir", vault, "--json", "--user", "admin", "--code", code(secret, 1),
           "audit", "verify"], password + "\n", timed=True)
print("upgrade + verify:", out.stdout.replace("\n", " "))
for line in out.stderr.splitlines():
    if "Elapsed" in line or "Maximum resident" in line or "User time" in line:
        print(line.strip())
PY
