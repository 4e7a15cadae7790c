#!/usr/bin/env bash
# A Kafka Connect REST client written by others (kafka-connect-py, from
# PyPI), in a virtualenv cached outside the repository, for the test that
# points it at Sluice's Kafka Connect REST API.
#
#   deploy/local/pyclient.sh install|python
#
# "python" installs if needed and prints the virtualenv's python.
# Environment: SLUICE_CACHE (default ~/.cache/sluice).
set -euo pipefail

CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
VERSION=1.0.0
VENV=$CACHE/kafka-connect-py-$VERSION

log() { echo "pyclient.sh: $*" >&2; }

install() {
	[[ -x $VENV/bin/python && -f $VENV/.installed ]] && return 0
	log "installing kafka-connect-py $VERSION into $VENV (first run only)"
	rm -rf "$VENV"
	python3 -m venv "$VENV"
	"$VENV/bin/pip" install -q "kafka-connect-py==$VERSION" >&2
	touch "$VENV/.installed"
}

case "${1:-}" in
install) install ;;
python) install; echo "$VENV/bin/python" ;;
*) echo "usage: $0 install|python" >&2; exit 2 ;;
esac
