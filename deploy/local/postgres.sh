#!/usr/bin/env bash
# A real PostgreSQL on loopback, for tests and examples: Debian's package,
# run as a private cluster under the cache directory (not the system's), set
# up for logical replication (wal_level=logical) with a user `sluice`,
# password `sluice`, and a database `sluice` it owns. The user is a superuser
# so that Debezium-style configs can create publications FOR ALL TABLES; this
# is a local test server, never a deployment.
#
#   deploy/local/postgres.sh start|stop|restart|status|logs [N]|install|psql|reset
#
# "psql" opens psql as sluice (arguments pass through: psql -c 'select 1').
#
# Files: $SLUICE_CACHE/run/postgres-PORT (SLUICE_CACHE defaults to
# ~/.cache/sluice), or /var/tmp/sluice-run/postgres-PORT when run as root.
# Environment: PG_PORT (5432).
set -euo pipefail

CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
PORT=${PG_PORT:-5432}
RUN=$CACHE/run/postgres-$PORT
# As root the server runs as the package's postgres user, which cannot enter
# root's home: its files live under /var/tmp then.
[[ $(id -u) == 0 ]] && RUN=/var/tmp/sluice-run/postgres-$PORT
DATA=$RUN/data
LOG=$RUN/postgres.log

log() { echo "postgres.sh: $*" >&2; }

pgbin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[[ -n $d && -x $d/postgres ]] && echo "$d"
}

as_owner() {
	# PostgreSQL refuses to run as root; run its programs as the package's
	# postgres user then.
	if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() {
	if [[ -n $(pgbin) ]]; then return 0; fi
	log "installing PostgreSQL from Debian's packages (first run only)"
	local sudo=""
	[[ $(id -u) == 0 ]] || sudo=sudo
	# Debian's package would start its own cluster on 5432 where it can;
	# the policy below keeps it from doing so (this script runs its own).
	local policy=/usr/sbin/policy-rc.d made=""
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && made=1
	fi
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql postgresql-contrib >&2 ||
		{ $sudo apt-get update -q >&2 && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql postgresql-contrib >&2; }
	[[ -n $made ]] && $sudo rm -f "$policy"
	[[ -n $(pgbin) ]] || { log "PostgreSQL did not install"; exit 1; }
}

ready() { "$(pgbin)/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; }
ours() { [[ -f $DATA/postmaster.pid ]] && as_owner "$(pgbin)/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

sql() { # run SQL as the cluster's superuser over the private socket
	as_owner "$(pgbin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PORT" -U postgres -d "${2:-postgres}" -c "$1" >/dev/null
}

initialize() {
	[[ -f $DATA/PG_VERSION ]] && return 0
	log "creating a cluster in $DATA"
	mkdir -p "$RUN"
	if [[ $(id -u) == 0 ]]; then chown postgres: "$RUN"; fi
	as_owner "$(pgbin)/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >>"$DATA/postgresql.conf" <<EOF
# sluice local test server
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$RUN'
wal_level = logical
max_replication_slots = 32
max_wal_senders = 32
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
	cat >"$DATA/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
EOF
}

start() {
	install
	if ours; then log "already running on 127.0.0.1:$PORT"; return 0; fi
	if ready; then
		if PGPASSWORD=sluice "$(pgbin)/psql" -X -q -h 127.0.0.1 -p "$PORT" -U sluice -d sluice -c 'select 1' >/dev/null 2>&1; then
			log "another PostgreSQL answers on 127.0.0.1:$PORT as sluice: using it (it needs wal_level=logical)"
			return 0
		fi
		log "another PostgreSQL answers on 127.0.0.1:$PORT but not as user sluice: stop it (for Debian's: pg_ctlcluster <version> main stop) or set PG_PORT"
		exit 1
	fi
	initialize
	log "starting PostgreSQL $("$(pgbin)/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (logs: $LOG)"
	touch "$LOG"
	if [[ $(id -u) == 0 ]]; then chown postgres: "$LOG"; fi
	as_owner "$(pgbin)/pg_ctl" -D "$DATA" -l "$LOG" -w -t 60 start >/dev/null ||
		{ log "PostgreSQL did not start; last lines of $LOG:"; tail -20 "$LOG" >&2; exit 1; }
	sql "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice') THEN CREATE ROLE sluice LOGIN SUPERUSER REPLICATION PASSWORD 'sluice'; END IF; END\$\$"
	if ! as_owner "$(pgbin)/psql" -X -tA -h "$RUN" -p "$PORT" -U postgres -c "SELECT 1 FROM pg_database WHERE datname = 'sluice'" | grep -q 1; then
		sql "CREATE DATABASE sluice OWNER sluice"
	fi
	log "ready on 127.0.0.1:$PORT (user sluice, password sluice, database sluice)"
}

stop() {
	if ! ours; then log "not running"; return 0; fi
	as_owner "$(pgbin)/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
	log "stopped"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
restart) stop; start ;;
status) if [[ -n $(pgbin) ]] && ready; then echo "running on 127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
logs) tail -n "${2:-100}" "$LOG" ;;
install) install ;;
psql) shift; PGPASSWORD=sluice exec "$(pgbin)/psql" -X -h 127.0.0.1 -p "$PORT" -U sluice -d sluice "$@" ;;
reset) stop; rm -rf "$DATA"; log "data removed" ;;
*) echo "usage: $0 start|stop|restart|status|logs [N]|install|psql [args]|reset" >&2; exit 2 ;;
esac
