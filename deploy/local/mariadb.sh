#!/usr/bin/env bash
# A real MariaDB on loopback, for tests and examples: Debian's package, run as
# a private server under a directory of its own (not the system's), with the
# binary log on in ROW format with full row images, column names (row metadata
# FULL) and GTIDs (what change data capture reads), a user `sluice`, password
# `sluice`, that owns the database `sluice` and may replicate.
#
#   deploy/local/mariadb.sh start|stop|restart|status|logs [N]|install|sql|reset
#
# "sql" opens the mariadb client as sluice (arguments pass through:
# sql -e 'select 1').
#
# Files: $SLUICE_CACHE/run/mariadb-PORT (SLUICE_CACHE defaults to
# ~/.cache/sluice), or /var/tmp/sluice-run/mariadb-PORT when run as root.
# Environment: MARIADB_PORT (3306).
set -euo pipefail

CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
PORT=${MARIADB_PORT:-3306}
RUN=$CACHE/run/mariadb-$PORT
# As root the server runs as the package's mysql user, which cannot enter
# root's home: its files live under /var/tmp then.
[[ $(id -u) == 0 ]] && RUN=/var/tmp/sluice-run/mariadb-$PORT
DATA=$RUN/data
SOCK=$RUN/mariadb.sock
PIDFILE=$RUN/mariadb.pid
LOG=$RUN/mariadb.log

NAME=mariadb.sh
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

server() { command -v mariadbd 2>/dev/null || { [[ -x /usr/sbin/mariadbd ]] && echo /usr/sbin/mariadbd; }; }

install() {
	if [[ -n $(server) ]] && command -v mariadb >/dev/null; then return 0; fi
	log "installing MariaDB from Debian's packages (first run only)"
	local sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	# Debian's package would start its own server where it can; the
	# policy below keeps it from doing so (this script runs its own).
	local policy=/usr/sbin/policy-rc.d made=""
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && made=1
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server mariadb-client >&2 ||
		{ $sudo apt-get update -q >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server mariadb-client >&2; }
	[[ -n $made ]] && $sudo rm -f "$policy"
	[[ -n $(server) ]] || { log "MariaDB did not install"; exit 1; }
}

ready() { mariadb-admin --no-defaults -h 127.0.0.1 -P "$PORT" -u sluice -psluice ping >/dev/null 2>&1; }
root_sql() { mariadb --no-defaults -S "$SOCK" -u root -e "$1"; }

initialize() {
	[[ -d $DATA/mysql ]] && return 0
	log "creating a data directory in $DATA"
	mkdir -p "$RUN"
	if [[ $(id -u) == 0 ]]; then chown mysql: "$RUN"; fi
	local user=()
	[[ $(id -u) == 0 ]] && user=(--user=mysql)
	mariadb-install-db --no-defaults "${user[@]}" --datadir="$DATA" --auth-root-authentication-method=socket \
		--skip-test-db >"$RUN/install.log" 2>&1 || { log "mariadb-install-db failed:"; tail -20 "$RUN/install.log" >&2; exit 1; }
}

start() {
	install
	if running; then log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
	if ready; then log "a MariaDB or MySQL already answers on 127.0.0.1:$PORT as sluice: using it"; return 0; fi
	initialize
	log "starting $("$(server)" --version | awk '{print $3}') on 127.0.0.1:$PORT (logs: $LOG)"
	local user=()
	[[ $(id -u) == 0 ]] && user=(--user=mysql)
	nohup "$(server)" --no-defaults "${user[@]}" --datadir="$DATA" --socket="$SOCK" --pid-file="$PIDFILE" \
		--bind-address=127.0.0.1 --port="$PORT" --log-error="$LOG" \
		--server-id=1 --log-bin=mariadb-bin --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
		--gtid-strict-mode=ON --log-slave-updates=ON --expire-logs-days=2 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
		--innodb-flush-log-at-trx-commit=2 --sync-binlog=0 --max-connections=300 \
		>"$RUN/stdout.log" 2>&1 </dev/null &
	for _ in $(seq 1 120); do
		if [[ -S $SOCK ]] && root_sql "SELECT 1" >/dev/null 2>&1; then break; fi
		sleep 0.5
	done
	root_sql "SELECT 1" >/dev/null 2>&1 || { log "MariaDB did not start; last lines of $LOG:"; tail -20 "$LOG" "$RUN/stdout.log" >&2; exit 1; }
	root_sql "CREATE DATABASE IF NOT EXISTS sluice;
		CREATE USER IF NOT EXISTS 'sluice'@'localhost' IDENTIFIED BY 'sluice';
		CREATE USER IF NOT EXISTS 'sluice'@'127.0.0.1' IDENTIFIED BY 'sluice';
		GRANT ALL ON *.* TO 'sluice'@'localhost' WITH GRANT OPTION;
		GRANT ALL ON *.* TO 'sluice'@'127.0.0.1' WITH GRANT OPTION;
		FLUSH PRIVILEGES;"
	log "ready on 127.0.0.1:$PORT (user sluice, password sluice, database sluice)"
}

stop() { stop_pid 30; }

case "${1:-}" in
start) start ;;
stop) stop ;;
restart) stop; start ;;
status) if ready; then echo "running on 127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
logs) tail -n "${2:-100}" "$LOG" ;;
install) install ;;
sql) shift; exec mariadb --no-defaults -h 127.0.0.1 -P "$PORT" -u sluice -psluice sluice "$@" ;;
reset) stop; rm -rf "$DATA"; log "data removed" ;;
*) echo "usage: $0 start|stop|restart|status|logs [N]|install|sql [args]|reset" >&2; exit 2 ;;
esac
