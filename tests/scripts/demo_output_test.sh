#!/usr/bin/env bash
# scripts/demo.sh shows a new user progress lines and the demo's result, not the installer's and compiler's output:
# run it in a scratch copy of the tree where install-deps.sh, cmake and rdpsim are stand-ins that write 400 lines of
# chatter (and, for the build, a compiler warning), then check what reached the terminal and what reached the log.
# A failing step must still show its tail.
set -euo pipefail
source_dir=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/tree/scripts" "$scratch/bin" "$scratch/tree/build/release/sim"
cp "$source_dir/scripts/demo.sh" "$scratch/tree/scripts/"
cat >"$scratch/tree/scripts/install-deps.sh" <<'STUB'
#!/usr/bin/env bash
for i in $(seq 1 200); do echo "Selecting previously unselected package libfoo$i."; done
STUB
cat >"$scratch/bin/cmake" <<'STUB'
#!/usr/bin/env bash
if [ "${1:-}" = "--build" ]; then
  for i in $(seq 1 100); do echo "[$i/100] Building CXX object x$i.o"; done
  echo "x.cpp:1:2: warning: writing 1 byte into a region of size 0 [-Wstringop-overflow=]"
  [ -n "${DEMO_TEST_FAIL_BUILD:-}" ] && { echo "x.cpp:3:4: error: the build broke"; exit 1; }
fi
for i in $(seq 1 50); do echo "-- configuring $i"; done
exit 0
STUB
cat >"$scratch/tree/build/release/sim/rdpsim" <<'STUB'
#!/usr/bin/env bash
echo "rdpsim demo: THE RESULT"
STUB
chmod +x "$scratch/tree/scripts/"*.sh "$scratch/bin/cmake" "$scratch/tree/build/release/sim/rdpsim"

out=$(PATH="$scratch/bin:$PATH" "$scratch/tree/scripts/demo.sh" 2>&1)
lines=$(printf '%s\n' "$out" | wc -l)
fail() { echo "FAIL: $*"; echo "--- output ---"; printf '%s\n' "$out"; exit 1; }
[ "$lines" -le 8 ] || fail "demo.sh printed $lines lines (at most 8 expected: the steps and the result)"
printf '%s\n' "$out" | grep -q 'rdpsim demo: THE RESULT' || fail "the demo's result is missing"
printf '%s\n' "$out" | grep -q 'warning:' && fail "a compiler warning reached the terminal"
printf '%s\n' "$out" | grep -q 'Selecting previously' && fail "the installer's output reached the terminal"
grep -q 'Selecting previously' "$scratch/tree/build/demo.log" || fail "the installer's output is not in build/demo.log"
grep -q 'Building CXX' "$scratch/tree/build/demo.log" || fail "the build's output is not in build/demo.log"

set +e
out=$(PATH="$scratch/bin:$PATH" DEMO_TEST_FAIL_BUILD=1 "$scratch/tree/scripts/demo.sh" 2>&1)
status=$?
set -e
[ "$status" -ne 0 ] || fail "a failed build exited 0"
printf '%s\n' "$out" | grep -q 'error: the build broke' || fail "a failed build did not show the error"
printf '%s\n' "$out" | grep -q 'THE RESULT' && fail "the demo ran after a failed build"
echo "demo.sh: $lines lines on success; a failed step shows its log tail"
