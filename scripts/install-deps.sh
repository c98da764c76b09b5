#!/usr/bin/env bash
# Installs everything rdpprobe/rdpsim need to build and test, from Debian 12 packages only.
# Idempotent: a package already present is left as it is. Run as root (or with sudo available).
set -euo pipefail

# Build toolchain and libraries.
build_packages=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev          # Asio 1.26 (as_tuple, awaitable operators), Beast
  libssl-dev                # OpenSSL 3
  freerdp2-dev libwinpr2-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libyaml-cpp-dev nlohmann-json3-dev libpcap-dev
  clang libclang-rt-14-dev  # libFuzzer targets
)
# Real peers the tests start on loopback.
peer_packages=(
  xrdp openssl nmap
  freerdp2-x11 xvfb xauth   # xfreerdp needs an X display even to start: run under xvfb-run (docs/freerdp.md 1.6)
  tshark                    # reads the pcaps the suite writes (docs/pcap.md)
  python3-samba             # Samba's SPNEGO/NTLM client (gensec) against rdpsim's CredSSP (docs/nla.md)
)

missing=()
for p in "${build_packages[@]}" "${peer_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#build_packages[@]}+${#peer_packages[@]} packages present"
  exit 0
fi

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Debian's xrdp postinst tries to start its service; in a container without an init that fails harmlessly,
# but policy-rc.d keeps it from starting a system-wide xrdp on 3389 that our tests do not want.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
# wireshark-common asks (priority high) whether non-root users may capture: answered "no" here, so that the install
# never waits for a terminal whatever the debconf frontend; the suite only reads pcaps, it never captures.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
