#!/usr/bin/env bash
# The README's second command, and exactly what CI runs (.ci/run): install what is missing, build with warnings as
# errors, run the whole test suite (unit, loopback, interop, fuzz-regression), then each libFuzzer target for a
# short budget.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

cmake --preset ci
cmake --build --preset ci
ctest --preset ci -j 2

# Fuzzing: clang builds protocol/ with libFuzzer + ASan + UBSan. New inputs go to a scratch directory; the
# checked-in corpus is only read.
fuzz_seconds="${RDP_FUZZ_SECONDS:-20}"
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for fuzzer in build/fuzz/tests/fuzz/*_fuzz; do
  name=$(basename "$fuzzer" _fuzz)
  mkdir -p "$scratch/$name"
  echo "fuzz: $name for ${fuzz_seconds}s"
  "$fuzzer" -max_total_time="$fuzz_seconds" -artifact_prefix="$scratch/" -print_final_stats=1 \
    "$scratch/$name" "tests/fuzz/corpus/$name" 2>&1 | grep -E '^(stat::number_of_executed_units|Done|==.*ERROR)' || true
  if ls "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* >/dev/null 2>&1; then
    mkdir -p build/fuzz-artifacts && cp "$scratch"/crash-* "$scratch"/leak-* "$scratch"/timeout-* build/fuzz-artifacts/ 2>/dev/null || true
    echo "fuzz: $name found a failing input (copied to build/fuzz-artifacts/)" >&2
    exit 1
  fi
done
echo "fuzz: all targets ran clean"
