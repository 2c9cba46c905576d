#!/usr/bin/env bash
# Runs swarmdrop: installs what is missing, builds, then serves the web app and Janus with the
# plugin on http://localhost:8080/. `scripts/run.sh --lan` serves every interface instead, over
# HTTPS with a self-signed certificate (browsers allow WebCrypto only on https or localhost).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "${1:-}" in
	--lan) export SWARMDROP_HTTP_BIND=0.0.0.0 SWARMDROP_TLS=1 ;;
	"") ;;
	*) echo "usage: scripts/run.sh [--lan]" >&2; exit 2 ;;
esac
"$top/scripts/setup.sh"
exec "$top/scripts/serve.sh"
