# Shared by the deploy/local scripts (sourced, not run). The script sets
# NAME (its log prefix) and PIDFILE before sourcing it.

log() { echo "$NAME: $*" >&2; }

# running: the process in PIDFILE is alive.
running() { [[ -f $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# wait_ready TRIES CHECK LOGS...: polls CHECK every half second until it
# succeeds; fails with the last lines of LOGS if the process in PIDFILE
# exits or TRIES run out.
wait_ready() {
	local tries=$1 check=$2
	shift 2
	for _ in $(seq 1 "$tries"); do
		if [[ -f $PIDFILE ]] && ! running; then log "exited; last lines of $*:"; tail -n 20 "$@" >&2; exit 1; fi
		if $check; then return 0; fi
		sleep 0.5
	done
	log "not ready after $((tries / 2))s; last lines of $*:"
	tail -n 20 "$@" >&2
	exit 1
}

# stop_pid [SECONDS]: TERM the process in PIDFILE and its children, wait up
# to SECONDS (default 10), then KILL what is left.
stop_pid() {
	if ! running; then log "not running"; rm -f "$PIDFILE"; return 0; fi
	local pid
	pid=$(cat "$PIDFILE")
	pkill -TERM -P "$pid" 2>/dev/null || true
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 $((2 * ${1:-10}))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	pkill -KILL -P "$pid" 2>/dev/null || true
	kill -KILL "$pid" 2>/dev/null || true
	rm -f "$PIDFILE"
	log "stopped"
}
