#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on its embedded default —
# rdpsim on a free loopback port, probed by rdpprobe, a drop reproduced with a real client.
#
# A new user should see what is happening and the result, not 400 lines of apt and compiler output: each step prints
# one line, the build a progress counter, and everything else goes to build/demo.log (shown when a step fails).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
log=build/demo.log
: >"$log"

step() { printf 'demo: %s\n' "$*"; }
fail() {
  printf '\ndemo: %s failed; the last lines of %s:\n' "$1" "$log" >&2
  tail -n 40 "$log" >&2
  exit 1
}

step "checking the Debian packages it needs (installs what is missing; output in $log)"
scripts/install-deps.sh >>"$log" 2>&1 || fail "installing the dependencies"

step "configuring the release build"
cmake --preset release >>"$log" 2>&1 || fail "configuring"

step "building rdpsim and rdpprobe (a first build takes several minutes on two cores)"
# Ninja's "[done/total]" lines become one counter on a terminal; the full output stays in the log.
if [ -t 1 ]; then
  cmake --build --preset release --target rdpsim rdpprobe 2>&1 | tee -a "$log" |
    awk '/^\[[0-9]+\/[0-9]+\]/ { printf "\r      %s", $1; fflush() } END { if (NR) printf "\n" }' ||
    fail "building"
else
  cmake --build --preset release --target rdpsim rdpprobe >>"$log" 2>&1 || fail "building"
fi

step "running rdpsim demo"
exec build/release/sim/rdpsim demo
