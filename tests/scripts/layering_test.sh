#!/usr/bin/env bash
# The layering rule (docs/architecture.md), checked by check_layering.sh: the real tree must keep it, and a copy of
# the libraries with one forbidden edge planted at a time must fail, naming the file, the line and the edge. A check
# that only ever passed has not been tested.
set -euo pipefail
source_dir=$1
checker="$(dirname "$0")/check_layering.sh"
fail() {
  echo "FAIL: $*"
  [ -n "${out:-}" ] && { echo "--- checker output ---"; printf '%s\n' "$out"; }
  exit 1
}

# ---- The real tree ----------------------------------------------------------------------------------------------------
set +e
out=$(bash "$checker" "$source_dir" 2>&1)
status=$?
set -e
[ "$status" -eq 0 ] || fail "the tree breaks the layering rule (exit $status)"
printf '%s\n' "$out"

# ---- Wrong on purpose: each planted edge must fail with its file:line and the edge ---------------------------------------
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
libraries=(protocol common client capture probe sim proxy scenarios)
fresh_copy() {
  rm -rf "$scratch/tree"
  mkdir -p "$scratch/tree"
  for lib in "${libraries[@]}"; do cp -R "$source_dir/$lib" "$scratch/tree/$lib"; done
}

# expect_violation FILE CONTENT EXPECTED...: writes CONTENT as FILE (appended when FILE exists) in a fresh copy; the
# checker must exit 1 and print each EXPECTED text.
expect_violation() {
  local file=$1 content=$2
  shift 2
  fresh_copy
  mkdir -p "$(dirname "$scratch/tree/$file")"
  printf '%s\n' "$content" >>"$scratch/tree/$file"
  set +e
  out=$(bash "$checker" "$scratch/tree" 2>&1)
  status=$?
  set -e
  [ "$status" -eq 1 ] || fail "planted in $file: exit $status, expected 1"
  local expected
  for expected in "$@"; do
    printf '%s\n' "$out" | grep -qF -- "$expected" || fail "planted in $file: the output does not say '$expected'"
  done
  echo "caught: $(printf '%s\n' "$out" | head -1)"
}

# Each case's line number is the planted line's: a new file's line 2, or the appended last line of an existing one.
last_line() { echo $(($(wc -l <"$source_dir/$1") + 1)); }

# A library reaching up: the simulator using the scenario runner (what the rdpsim command's files did in sim/src/).
expect_violation sim/src/planted_up.cpp $'// planted\n#include "rdp/scenarios/runner.hpp"' \
  'sim/src/planted_up.cpp:2:' 'sim -> scenarios is forbidden'
# Siblings: the probe using the simulator, in a public header.
expect_violation probe/include/rdp/probe/planted_sibling.hpp $'#pragma once\n#include <rdp/sim/server.hpp>' \
  'probe/include/rdp/probe/planted_sibling.hpp:2:' 'probe -> sim is forbidden (sim is a sibling'
# The bottom layer stays pure: protocol/ using common/'s Asio helpers, appended to an existing source.
expect_violation protocol/src/tpkt.cpp '#include "rdp/net/asio.hpp"' \
  "protocol/src/tpkt.cpp:$(last_line protocol/src/tpkt.cpp):" 'protocol -> common is forbidden'
# CLI11 in a library.
expect_violation proxy/src/planted_cli.cpp $'// planted\n#include <CLI/CLI.hpp>' \
  'proxy/src/planted_cli.cpp:2:' 'proxy -> CLI11 is forbidden'
# A command's header in a library.
expect_violation scenarios/src/planted_app.cpp $'// planted\n#include "serve_command.hpp"' \
  'scenarios/src/planted_app.cpp:2:' 'scenarios -> apps is forbidden'
# A namespace the table does not know: a new library must be placed in the table first.
expect_violation client/src/planted_unknown.cpp $'// planted\n#include "rdp/gateway/tunnel.hpp"' \
  'client/src/planted_unknown.cpp:2:' 'rdp/gateway/ is no library of the table'
# Siblings inside common/: the YAML reader using rdp_net (it may use protocol only), appended to an existing source.
expect_violation common/src/yaml_reader.cpp '#include "rdp/net/local_file.hpp"' \
  "common/src/yaml_reader.cpp:$(last_line common/src/yaml_reader.cpp):" 'yaml -> net is forbidden'
# A library target linking CLI11.
expect_violation probe/CMakeLists.txt 'target_link_libraries(rdp_probe PUBLIC CLI11::CLI11)' \
  "probe/CMakeLists.txt:$(last_line probe/CMakeLists.txt):" "probe's CMake names CLI11"

# A downward edge stays allowed: scenarios/ using the probe, in a copy that otherwise passes.
fresh_copy
printf '// planted\n#include "rdp/probe/scanner.hpp"\n' >"$scratch/tree/scenarios/src/planted_down.cpp"
out=$(bash "$checker" "$scratch/tree" 2>&1) || fail "a downward edge (scenarios -> probe) was refused"

# A tree that is not this repository's is an error, not a pass.
rm -rf "$scratch/tree/sim"
set +e
out=$(bash "$checker" "$scratch/tree" 2>&1)
status=$?
set -e
[ "$status" -eq 2 ] || fail "a tree without sim/ exited $status, expected 2"
echo "layering: the tree keeps the rule; 8 planted violations and a missing library were caught"
