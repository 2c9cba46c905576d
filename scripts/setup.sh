#!/usr/bin/env bash
# Installs what swarmdrop needs and is missing (Debian packages, npm packages), then builds the
# plugin and the web app. Called by scripts/run.sh and scripts/test.sh; safe to run again.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# Debian bookworm packages: build tools, Janus and its headers, the libraries of src/ (GLib,
# jansson, cmocka, OpenSSL 3's libcrypto, FFmpeg 5.1's libavformat/libavcodec/libavutil), the
# ffmpeg CLI (it makes the media test fixtures), clang and its runtime for the libFuzzer harness,
# nginx, Chromium and Firefox ESR for the browser tests, iproute2/iptables/coturn for the network lab,
# NATS (nats-server and the C client libnats) for several nodes (scripts/run.sh --nodes N).
debs=(
	autoconf automake libtool pkg-config make gcc
	janus janus-dev libglib2.0-dev libjansson-dev libcmocka-dev libssl-dev
	libavformat-dev libavcodec-dev libavutil-dev ffmpeg clang libclang-rt-14-dev
	nginx-light nodejs npm chromium firefox-esr iproute2 iptables coturn ca-certificates openssl
	libloc-dev libloc-database python3-location unzip libarchive-tools
	nats-server libnats-dev
)

# A node from elsewhere (nvm, a tarball) is fine: Debian's is only installed when none is on PATH.
have_node=false
command -v node >/dev/null && command -v npm >/dev/null && have_node=true
missing=()
for pkg in "${debs[@]}"; do
	[[ $have_node == true && ($pkg == nodejs || $pkg == npm) ]] && continue
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	sudo=""
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null || { echo "setup: run as root or install sudo to install: ${missing[*]}" >&2; exit 1; }
		sudo=sudo
	fi
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "setup: building the plugin"
[[ -x configure ]] || autoreconf -fi >/dev/null
[[ -f Makefile ]] || ./configure -q
make -s -j"$(nproc)" >/dev/null

echo "setup: building the web app"
cd web
# npm ci again only when the lock file changed since the last install.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
	npm ci --no-audit --no-fund --loglevel=error
fi
npm run -s build >/dev/null
