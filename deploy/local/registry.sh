#!/usr/bin/env bash
# A Confluent-compatible Schema Registry API on loopback, for tests of the
# Avro and JSON Schema converters: franz-go's in-memory implementation
# (github.com/twmb/franz-go/pkg/sr/srfake, at the version go.mod pins),
# built once from deploy/local/registry and cached outside the repository.
# It keeps schemas in memory only.
#
#   deploy/local/registry.sh start|stop|restart|status|logs|install
#
# Point the tests at it with SLUICE_TEST_REGISTRY=127.0.0.1:8081.
#
# Environment: SLUICE_CACHE (default ~/.cache/sluice), REGISTRY_PORT (8081).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
VERSION=$(awk '$1 == "github.com/twmb/franz-go/pkg/sr" {print $2}' "$ROOT/go.mod")
BIN=$CACHE/srfake-$VERSION/registry
PORT=${REGISTRY_PORT:-8081}
RUN=$CACHE/run/registry-$PORT
PIDFILE=$RUN/registry.pid
LOG=$RUN/registry.log

NAME=registry.sh
# shellcheck source=lib.sh
. "$ROOT/deploy/local/lib.sh"

install() {
	[[ -x $BIN && $BIN -nt $ROOT/deploy/local/registry/main.go ]] && return 0
	[[ -n $VERSION ]] || { log "cannot read the franz-go sr version from go.mod"; exit 1; }
	log "building the registry ($VERSION) into $(dirname "$BIN")"
	mkdir -p "$(dirname "$BIN")"
	(cd "$ROOT" && go build -o "$BIN.tmp" ./deploy/local/registry)
	mv "$BIN.tmp" "$BIN"
}

healthy() { curl -fsS "http://127.0.0.1:$PORT/subjects" 2>/dev/null | grep -q '^\['; }

start() {
	if running; then log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
	if healthy; then log "a registry already answers on 127.0.0.1:$PORT: using it"; return 0; fi
	install
	mkdir -p "$RUN"
	log "starting the registry on 127.0.0.1:$PORT (logs: $LOG)"
	nohup "$BIN" -addr "127.0.0.1:$PORT" >"$LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	wait_ready 40 healthy "$LOG"
	log "ready on 127.0.0.1:$PORT"
}

stop() { stop_pid 10; }

case "${1:-}" in
start) start ;;
stop) stop ;;
restart) stop; start ;;
status) if healthy; then echo "running on 127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
logs) tail -n "${2:-100}" "$LOG" ;;
install) install ;;
*) echo "usage: $0 start|stop|restart|status|logs [N]|install" >&2; exit 2 ;;
esac
