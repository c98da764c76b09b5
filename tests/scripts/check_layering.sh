#!/usr/bin/env bash
# The layering rule of docs/architecture.md, checked on a source tree: check_layering.sh [ROOT] (default: this
# repository). Every #include of a library's sources and headers that names rdp/<lib>/ must name the library itself
# or one on a lower level; no library includes CLI11 (<CLI/...>) or a command's header (apps/, *_command.hpp), and no
# library's CMake links CLI11. Each violation is printed as FILE:LINE: what it includes, and the forbidden edge.
# Exit status: 0 the tree keeps the rule, 1 a violation, 2 the tree is not one this script knows (a library missing,
# a file of none). The table below is the rule: a new library, or a new edge, is a change of this table and of
# docs/architecture.md together.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}

# The library directories, bottom up, with their level: a library may use those of a strictly lower level and itself,
# never a sibling of its own level (probe, sim and proxy never use each other), never one above.
libraries=(protocol common client capture probe sim proxy scenarios)
declare -A level=([protocol]=0 [common]=1 [client]=2 [capture]=2 [probe]=3 [sim]=3 [proxy]=3 [scenarios]=4)
# The rdp/<name>/ of an include, to the library directory that owns it (common/ holds three: rdp_net, rdp_crypto and
# rdp_yaml).
declare -A owner=([protocol]=protocol [net]=common [crypto]=common [yaml]=common [client]=client [capture]=capture
                  [probe]=probe [sim]=sim [proxy]=proxy [scenarios]=scenarios)

# common/'s libraries are siblings on level 1: each uses protocol only, never another one of common/. A header
# belongs to the library of its rdp/<name>/ directory. A source in common/src/ belongs to the library its name
# starts with (yaml_*.cpp to rdp_yaml, openssl_*.cpp to rdp_crypto), and every other source belongs to rdp_net, as
# common/CMakeLists.txt lists them.
common_part() {
  case $1 in
    common/include/rdp/*/*) local rest=${1#common/include/rdp/}; echo "${rest%%/*}" ;;
    common/src/yaml_*) echo yaml ;;
    common/src/openssl_*) echo crypto ;;
    *) echo net ;;
  esac
}

may_use() {  # the libraries $1 may use, for the message
  local lib=$1 out="" other
  for other in "${libraries[@]}"; do
    if [ "${level[$other]}" -lt "${level[$lib]}" ]; then out+="${out:+, }$other"; fi
  done
  printf '%s' "${out:-nothing of ours}"
}

violations=0
files=0
report() {
  echo "$1"
  violations=$((violations + 1))
}

for lib in "${libraries[@]}"; do
  if [ ! -d "$root/$lib" ]; then
    echo "check_layering: no $lib/ in $root (is this the repository's root?)" >&2
    exit 2
  fi
  sources=()
  while IFS= read -r -d '' file; do sources+=("$file"); done < <(find "$root/$lib" -type f \( -name '*.cpp' -o \
    -name '*.hpp' -o -name '*.h' -o -name '*.ipp' -o -name '*.cc' \) -print0)
  files=$((files + ${#sources[@]}))
  [ "${#sources[@]}" -gt 0 ] || continue
  # FILE:LINE:TEXT of every #include line (grep -H: the file's name even when there is one file).
  while IFS= read -r hit; do
    file=${hit%%:*}
    rest=${hit#*:}
    line_no=${rest%%:*}
    line=${rest#*:}
    rel=${file#"$root/"}
    [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*[\<\"]([^\>\"]+)[\>\"] ]] || continue
    path=${BASH_REMATCH[1]}
    if [[ $path == CLI/* || $path == */CLI/* ]]; then
      report "$rel:$line_no: includes <$path>: $lib -> CLI11 is forbidden (only apps/ parse command lines)"
      continue
    fi
    if [[ $path == apps/* || $path == */apps/* || $path == *_command.hpp ]]; then
      report "$rel:$line_no: includes \"$path\": $lib -> apps is forbidden (a library never includes a command)"
      continue
    fi
    [[ $path =~ (^|/)rdp/([A-Za-z0-9_]+)/ ]] || continue
    name=${BASH_REMATCH[2]}
    used=${owner[$name]:-}
    if [ -z "$used" ]; then
      report "$rel:$line_no: includes \"$path\": rdp/$name/ is no library of the table in tests/scripts/check_layering.sh"
      continue
    fi
    if [ "$used" = "$lib" ]; then
      if [ "$lib" = common ]; then
        part=$(common_part "$rel")
        if [ "$name" != "$part" ]; then
          report "$rel:$line_no: includes \"$path\": $part -> $name is forbidden (common/'s libraries are siblings; each may use: protocol)"
        fi
      fi
      continue
    fi
    if [ "${level[$used]}" -ge "${level[$lib]}" ]; then
      if [ "${level[$used]}" -eq "${level[$lib]}" ]; then why="a sibling"; else why="above it"; fi
      report "$rel:$line_no: includes \"$path\": $lib -> $used is forbidden ($used is $why; $lib may use: $(may_use "$lib"))"
    fi
  done < <(grep -HnE '^[[:space:]]*#[[:space:]]*include' "${sources[@]}" || true)

  # CLI11 in a library's CMake: a link, or a find_package that would let one link it.
  while IFS= read -r -d '' cmake_file; do
    while IFS=: read -r line_no text; do
      report "${cmake_file#"$root/"}:$line_no: $lib's CMake names CLI11 ($(echo "$text" | sed 's/^[[:space:]]*//')): only apps/ links CLI11"
    done < <(grep -n 'CLI11' "$cmake_file" | grep -v '^[0-9]*:[[:space:]]*#' || true)
  done < <(find "$root/$lib" -type f \( -name 'CMakeLists.txt' -o -name '*.cmake' \) -print0)
done

if [ "$files" -eq 0 ]; then
  echo "check_layering: no source file found under $root" >&2
  exit 2
fi
if [ "$violations" -gt 0 ]; then
  echo "check_layering: $violations forbidden edge(s) in $files files (docs/architecture.md)"
  exit 1
fi
echo "check_layering: $files files of ${#libraries[@]} libraries keep the layering rule"
