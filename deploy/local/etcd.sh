#!/usr/bin/env bash
# A real single-node etcd on loopback, for tests. The etcd server is built
# from the module the project's go.mod pins (the same version the control
# plane embeds), cached outside the repository.
#
#   deploy/local/etcd.sh start|stop|restart|status|logs|install|bin|reset
#
# "bin" installs etcd if needed and prints the binary's path (tests start
# their own multi-node clusters with it).
#
# Environment: SLUICE_CACHE (default ~/.cache/sluice), ETCD_PORT (2379),
# ETCD_PEER_PORT (2380).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
VERSION=$(awk '$1 == "go.etcd.io/etcd/server/v3" {print $2}' "$ROOT/go.mod")
BIN=$CACHE/etcd-$VERSION/etcd
PORT=${ETCD_PORT:-2379}
PEER=${ETCD_PEER_PORT:-2380}
RUN=$CACHE/run/etcd-$PORT
PIDFILE=$RUN/etcd.pid
LOG=$RUN/etcd.log

NAME=etcd.sh
# shellcheck source=lib.sh
. "$ROOT/deploy/local/lib.sh"

install() {
	[[ -x $BIN ]] && return 0
	[[ -n $VERSION ]] || { log "cannot read the etcd version from go.mod"; exit 1; }
	log "installing etcd $VERSION into $(dirname "$BIN") (first run only)"
	mkdir -p "$(dirname "$BIN")"
	(cd "$ROOT" && go build -o "$BIN.tmp" go.etcd.io/etcd/server/v3)
	mv "$BIN.tmp" "$BIN"
}

healthy() { curl -fsS "http://127.0.0.1:$PORT/health" 2>/dev/null | grep -q '"health":"true"'; }

start() {
	if running; then log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
	if healthy; then log "an etcd already answers on 127.0.0.1:$PORT: using it"; return 0; fi
	install
	mkdir -p "$RUN"
	log "starting etcd $VERSION on 127.0.0.1:$PORT (logs: $LOG)"
	nohup "$BIN" --name sluice-test --data-dir "$RUN/data" \
		--listen-client-urls "http://127.0.0.1:$PORT" --advertise-client-urls "http://127.0.0.1:$PORT" \
		--listen-peer-urls "http://127.0.0.1:$PEER" --initial-advertise-peer-urls "http://127.0.0.1:$PEER" \
		--initial-cluster "sluice-test=http://127.0.0.1:$PEER" --log-level warn \
		>"$LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	wait_ready 60 healthy "$LOG"
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
bin) install; echo "$BIN" ;;
reset) stop; rm -rf "$RUN/data"; log "data removed" ;;
*) echo "usage: $0 start|stop|restart|status|logs [N]|install|bin|reset" >&2; exit 2 ;;
esac
