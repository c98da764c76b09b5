#!/usr/bin/env bash
# The README's first command: install what is missing, build, and run the main job on its embedded default —
# rdpsim on a free loopback port, probed by rdpprobe.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target rdpsim rdpprobe
exec build/release/sim/rdpsim demo
