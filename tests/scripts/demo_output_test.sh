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

# ---- What `rdpsim demo` itself prints (issue 25, "What a person reads") ----------------------------------------------
# The built rdpsim: the second argument, else the one of the build ctest runs in (its tests/ directory is the working
# directory). The text must fit 100 columns, name DPU reasons (rn-provider-initiated, not "DPU reason 1"), end each
# story with symptom / evidence / cause / fix — the evidence quoting what this run's timeline showed — and print
# nothing twice. Each rule is then shown to fail on a copy of the output broken on purpose.
rdpsim=${2:-$PWD/../sim/rdpsim}
if [ ! -x "$rdpsim" ]; then
  [ "${CI:-}" = true ] && fail "no rdpsim at $rdpsim"
  echo "demo.sh checked; rdpsim demo skipped: no rdpsim at $rdpsim"
  exit 0
fi

# check_demo_text FILE: empty output when FILE reads as the demo should, else one line per broken rule.
check_demo_text() {
  local file=$1
  LC_ALL=C awk '
    { line[NR] = $0 }
    length($0) > 100 { printf "line %d has %d columns (at most 100): %s\n", NR, length($0), $0 }
    /DPU reason [0-9]|Ultimatum \(reason [0-9]/ { printf "line %d gives a DPU reason by number: %s\n", NR, $0 }
    /rn-(domain-disconnected|provider-initiated|token-purged|user-requested|channel-purged) \([0-4]\)/ { named++ }
    # Nothing printed twice: a line of some length (not a bare count or a blank) appears once.
    length($0) >= 40 { if (seen[$0]++ == 1) printf "line %d is printed twice: %s\n", NR, $0 }
    # What the run showed, outside the story blocks: errorInfo names and the lean client'"'"'s closing word.
    !/^  (symptom|evidence|cause|fix):/ {
      s = $0
      while (match(s, /ERRINFO_[A-Z_]+/)) { shown[substr(s, RSTART, RLENGTH)] = 1; s = substr(s, RSTART + RLENGTH) }
      if (match($0, /  client    ended: [a-z]+/)) closed = substr($0, RSTART + 19, RLENGTH - 19)
    }
    /^PASS / { passes++ }
    END {
      if (passes != 2) printf "%d stories passed (2 expected)\n", passes
      if (!named) print "no DPU reason is given by its T.125 name"
      blocks = 0
      for (i = 1; i <= NR; i++) {
        if (line[i] !~ /^PASS /) continue
        if (line[i+1] !~ /^  symptom:  ./ || line[i+2] !~ /^  evidence: ./ || line[i+3] !~ /^  cause:    ./ ||
            line[i+4] !~ /^  fix:      ./) {
          printf "line %d: %s is not followed by symptom / evidence / cause / fix\n", i, line[i]
          continue
        }
        blocks++
        ev = line[i+2]
        if (line[i] ~ /stale-session/) {
          if (!match(ev, /ERRINFO_[A-Z_]+/)) { printf "line %d: the evidence names no errorInfo: %s\n", i+2, ev; continue }
          name = substr(ev, RSTART, RLENGTH)
          if (!(name in shown)) printf "line %d: the evidence quotes %s, which the run did not show\n", i+2, name
        }
        if (line[i] ~ /firewall-idle/) {
          if (closed == "") printf "the firewall story shows no client end\n"
          else if (index(ev, "ended: " closed) == 0)
            printf "line %d: the evidence does not quote the run'"'"'s end (ended: %s): %s\n", i+2, closed, ev
        }
      }
      if (blocks != 2) printf "%d symptom / evidence / cause / fix blocks (2 expected)\n", blocks
    }' "$file"
}

demo_out="$scratch/demo.txt"
set +e
"$rdpsim" demo >"$demo_out" 2>&1
status=$?
set -e
out=$(cat "$demo_out")
[ "$status" -eq 0 ] || fail "rdpsim demo exited $status"
problems=$(check_demo_text "$demo_out")
[ -z "$problems" ] || fail "rdpsim demo's text: $problems"

# Each rule can fail: a copy broken on purpose must be caught, with the rule it breaks.
must_catch() {  # must_catch WHAT EXPECTED-PROBLEM SED-SCRIPT
  local broken="$scratch/broken.txt"
  sed "$3" "$demo_out" >"$broken"
  cmp -s "$broken" "$demo_out" && fail "breaking '$1' changed nothing (sed $3)"
  local said
  said=$(check_demo_text "$broken")
  printf '%s\n' "$said" | grep -q -- "$2" || fail "a demo text with $1 was not caught (expected '$2', got: '$said')"
}
must_catch "a line of 101 columns" "columns (at most 100)" '1s/$/ '"$(printf '%0101d' 0)"'/'
must_catch "a DPU reason by number" "DPU reason by number" 's/rn-provider-initiated (1)/DPU reason 1/'
must_catch "a story without its fix line" "not followed by symptom" '0,/^  fix: /{/^  fix: /d}'
must_catch "the summary printed twice" "printed twice" '2p'
must_catch "evidence the run did not show" "which the run did not show" '/^  evidence: /s/ERRINFO_[A-Z_]*/ERRINFO_IDLE_TIMEOUT/'
must_catch "evidence of another end" "does not quote the run" '/^  evidence: .*ended: /s/ended: [a-z]*/ended: fin/'
echo "rdpsim demo: $(wc -l <"$demo_out") lines within 100 columns, reasons by name, two symptom/evidence/cause/fix blocks; 6 broken copies caught"
