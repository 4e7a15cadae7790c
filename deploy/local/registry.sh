#!/usr/bin/env bash
# A real Confluent-compatible Schema Registry on loopback, for the Schema
# Registry converters' integration tests: crabka-schema-registry (Apache-2.0,
# written in Rust by the Crabka project, published on crates.io). Like
# Confluent's registry it keeps its schemas in a compacted _schemas topic of
# a Kafka broker (the one deploy/local/kafka.sh runs), answers Confluent's
# REST API with Confluent's error codes, checks compatibility (BACKWARD by
# default, per subject via /config) for Avro, JSON Schema and Protobuf,
# resolves schema references, and takes HTTP basic credentials.
#
#   deploy/local/registry.sh start|stop|restart|status|logs|install
#
# Point the tests at it with SLUICE_TEST_REGISTRY=127.0.0.1:8081 (make test
# does). It accepts anonymous requests and also the basic credentials
# REGISTRY_USER:REGISTRY_PASSWORD (sluice:sluice-secret); wrong credentials
# get a 401.
#
# Version 0.3.8 was yanked from crates.io when the project renamed itself
# (its successor is not published there), so `cargo install` refuses it: the
# script downloads the crate from the registry cargo is configured with,
# checks its sha256, and builds it with the Cargo.lock it ships (cargo
# accepts yanked versions a lock file names). It needs Rust 1.96, which
# rustup installs beside the default toolchain. First build: ~5 minutes on
# two cores; cached after that.
#
# Environment: SLUICE_CACHE (default ~/.cache/sluice), REGISTRY_PORT (8081),
# REGISTRY_ADMIN_PORT (8091: the registry's own profiling/admin endpoint),
# REGISTRY_KAFKA (127.0.0.1:9092), REGISTRY_USER, REGISTRY_PASSWORD.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
CRATE=crabka-schema-registry
VERSION=0.3.8
SHA256=50d8c1bf099c9060ef5229f6faad12de39b2ece7f6f3cbcc09fb550c3565fcc2
RUST=1.96.0
HOME_DIR=$CACHE/$CRATE-$VERSION
BIN=$HOME_DIR/bin/$CRATE
PORT=${REGISTRY_PORT:-8081}
ADMIN_PORT=${REGISTRY_ADMIN_PORT:-8091}
KAFKA=${REGISTRY_KAFKA:-127.0.0.1:9092}
USER_NAME=${REGISTRY_USER:-sluice}
PASSWORD=${REGISTRY_PASSWORD:-sluice-secret}
RUN=$CACHE/run/registry-$PORT
PIDFILE=$RUN/registry.pid
LOG=$RUN/registry.log

NAME=registry.sh
# shellcheck source=lib.sh
. "$ROOT/deploy/local/lib.sh"

# crate_url prints where the configured crates.io registry serves the
# crate's file, read from the index configuration cargo caches (so that no
# registry address is written here).
crate_url() {
	local home=${CARGO_HOME:-$HOME/.cargo} cfg
	cfg=$(find "$home/registry/index" -maxdepth 2 -name config.json 2>/dev/null | head -n 1)
	if [[ -z $cfg ]]; then
		cargo info "$CRATE" >/dev/null 2>&1 || true # fetches the index configuration
		cfg=$(find "$home/registry/index" -maxdepth 2 -name config.json 2>/dev/null | head -n 1)
	fi
	[[ -n $cfg ]] || { log "cargo has no crates.io index configuration under $home/registry/index"; exit 1; }
	python3 - "$cfg" "$CRATE" "$VERSION" <<'PY'
import json, sys
dl = json.load(open(sys.argv[1]))["dl"]
crate, version = sys.argv[2], sys.argv[3]
if "{crate}" in dl or "{version}" in dl:
    print(dl.replace("{crate}", crate).replace("{version}", version))
else:
    print(f"{dl}/{crate}/{version}/download")
PY
}

install() {
	[[ -x $BIN ]] && return 0
	command -v cargo >/dev/null && command -v rustup >/dev/null || { log "cargo and rustup are required to build the registry"; exit 1; }
	log "building $CRATE $VERSION into $HOME_DIR (first run only, ~5 minutes)"
	rustup toolchain list | grep -q "^$RUST" || rustup toolchain install "$RUST" --profile minimal >&2
	mkdir -p "$HOME_DIR/bin"
	local crate=$HOME_DIR/$CRATE-$VERSION.crate src=$HOME_DIR/src
	if ! echo "$SHA256  $crate" | sha256sum -c --status 2>/dev/null; then
		curl -fsSL --retry 3 -o "$crate.tmp" "$(crate_url)"
		echo "$SHA256  $crate.tmp" | sha256sum -c --status || { log "$crate: sha256 does not match $SHA256"; exit 1; }
		mv "$crate.tmp" "$crate"
	fi
	rm -rf "$src"
	mkdir -p "$src"
	tar -xzf "$crate" -C "$src"
	(cd "$src/$CRATE-$VERSION" && CARGO_TARGET_DIR=$HOME_DIR/target cargo "+$RUST" build --release --locked --bin "$CRATE" >&2)
	cp "$HOME_DIR/target/release/$CRATE" "$BIN.tmp"
	mv "$BIN.tmp" "$BIN"
}

healthy() { curl -fsS "http://127.0.0.1:$PORT/subjects" 2>/dev/null | grep -q '^\['; }

start() {
	if running; then log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
	if healthy; then log "a registry already answers on 127.0.0.1:$PORT: using it"; return 0; fi
	install
	mkdir -p "$RUN"
	log "starting $CRATE $VERSION on 127.0.0.1:$PORT, schemas in Kafka at $KAFKA (logs: $LOG)"
	CRABKA_ADMIN_LISTEN_ADDR=127.0.0.1:$ADMIN_PORT nohup "$BIN" \
		--bootstrap-servers "$KAFKA" \
		--listen-addr "127.0.0.1:$PORT" \
		--advertised-url "http://127.0.0.1:$PORT" \
		--schemas-topic _schemas --schemas-topic-rf 1 \
		--basic-user "$USER_NAME:$PASSWORD" \
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
*) echo "usage: $0 start|stop|restart|status|logs [N]|install" >&2; exit 2 ;;
esac
