#!/usr/bin/env bash
# Runs swarmdrop: installs what is missing, builds, then serves the web app and Janus with the
# plugin on http://localhost:8080/. `scripts/run.sh --lan` serves every interface instead, over
# HTTPS with a self-signed certificate (browsers allow WebCrypto only on https or localhost).
# `--media DIR` lets the operator publish the files of DIR (scripts/swarmdrop-publish).
# `--nodes N` runs N Janus nodes behind nginx and nats-server on port 4222 (scripts/serve.sh,
# SWARMDROP_NODES).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
while (($#)); do
	case "$1" in
		--lan) export SWARMDROP_HTTP_BIND=0.0.0.0 SWARMDROP_TLS=1 ;;
		--media) [[ $# -ge 2 ]] || { echo "run.sh: --media needs a folder" >&2; exit 2; }
			export SWARMDROP_MEDIA_FOLDER=$2; shift ;;
		--nodes) [[ $# -ge 2 ]] || { echo "run.sh: --nodes needs a number" >&2; exit 2; }
			export SWARMDROP_NODES=$2; shift ;;
		*) echo "usage: scripts/run.sh [--lan] [--media DIR] [--nodes N]" >&2; exit 2 ;;
	esac
	shift
done
"$top/scripts/setup.sh"
exec "$top/scripts/serve.sh"
