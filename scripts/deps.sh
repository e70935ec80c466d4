#!/usr/bin/env bash
# deps.sh: installs the Debian packages tlscensus needs to build and test, only when missing.
# Sourced by demo.sh and test.sh; run as root (or with sudo available).
set -euo pipefail

TLSCENSUS_PACKAGES=(gcc meson ninja-build pkg-config libpcap-dev libndpi-dev libsqlite3-dev
	libssl-dev libcurl4-openssl-dev sqlite3 python3)

tlscensus_install_deps() {
	local missing=()
	for p in "${TLSCENSUS_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	echo "installing: ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Optional packages, one by one: one that cannot be installed (not in the archive, no network)
# only makes the tests that need it skip themselves, with a line saying why.
tlscensus_install_optional() {
	for p in "$@"; do
		tlscensus_install_deps "$p" 2>/dev/null ||
			echo "deps.sh: could not install $p; the tests that need it will be skipped" >&2
	done
}
