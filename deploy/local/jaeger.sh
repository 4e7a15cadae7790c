#!/usr/bin/env bash
# A real OTLP trace receiver on loopback, for the tracing tests and for
# looking at Sluice's traces by hand: Jaeger v2 (an OpenTelemetry Collector
# distribution with Jaeger's storage and query API), built from its Go module
# with the Go toolchain, cached outside the repository, keeping traces in
# memory.
#
#   deploy/local/jaeger.sh start|stop|restart|status|logs|install|bin
#
# Once started:
#   OTLP/gRPC  127.0.0.1:4317   (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc)
#   OTLP/HTTP  127.0.0.1:4318   (OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318)
#   query/UI   http://127.0.0.1:16686 (GET /api/traces/<trace id>)
#
# Environment: SLUICE_CACHE (default ~/.cache/sluice), JAEGER_VERSION (the Go
# module version, v1.76.0: Jaeger 2.x's binary is cmd/jaeger of the v1.x module),
# JAEGER_OTLP_GRPC_PORT (4317), JAEGER_OTLP_HTTP_PORT (4318), JAEGER_QUERY_PORT (16686).
set -euo pipefail

VERSION=${JAEGER_VERSION:-v1.76.0}
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
BIN=$CACHE/jaeger-$VERSION/jaeger
GRPC=${JAEGER_OTLP_GRPC_PORT:-4317}
HTTP=${JAEGER_OTLP_HTTP_PORT:-4318}
QUERY=${JAEGER_QUERY_PORT:-16686}
RUN=$CACHE/run/jaeger-$QUERY
PIDFILE=$RUN/jaeger.pid
LOG=$RUN/jaeger.log

NAME=jaeger.sh
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

install() {
	[[ -x $BIN ]] && return 0
	command -v go >/dev/null || { log "go is required to build Jaeger"; exit 1; }
	log "building Jaeger ($VERSION) into $(dirname "$BIN") (first run only; a few minutes)"
	# The module has replace directives, so "go install pkg@version" refuses
	# it: build it as the main module from its downloaded source.
	local dir src
	dir=$(go mod download -json "github.com/jaegertracing/jaeger@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[[ -d $dir ]] || { log "could not download github.com/jaegertracing/jaeger@$VERSION"; exit 1; }
	src=$CACHE/jaeger-$VERSION/src
	rm -rf "$src"
	mkdir -p "$(dirname "$src")"
	cp -r "$dir" "$src"
	chmod -R u+w "$src"
	(cd "$src" && GOFLAGS=-mod=mod go build -o "$BIN.tmp" ./cmd/jaeger)
	mv "$BIN.tmp" "$BIN"
	rm -rf "$src"
}

healthy() { curl -fsS "http://127.0.0.1:$QUERY/api/services" >/dev/null 2>&1; }

config() {
	cat <<YAML
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:$QUERY
    grpc:
      endpoint: 127.0.0.1:$((QUERY - 1))
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC
      http:
        endpoint: 127.0.0.1:$HTTP
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
YAML
}

start() {
	if running; then log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$QUERY"; return 0; fi
	if healthy; then log "a Jaeger already answers on 127.0.0.1:$QUERY: using it"; return 0; fi
	install
	mkdir -p "$RUN"
	config >"$RUN/config.yaml"
	log "starting Jaeger on 127.0.0.1 (OTLP gRPC :$GRPC, OTLP HTTP :$HTTP, query :$QUERY; logs: $LOG)"
	nohup "$BIN" --config "$RUN/config.yaml" >"$LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	wait_ready 60 healthy "$LOG"
	log "ready: OTLP on 127.0.0.1:$GRPC (gRPC) and :$HTTP (HTTP), traces at http://127.0.0.1:$QUERY"
}

stop() { stop_pid 10; }

case "${1:-}" in
start) start ;;
stop) stop ;;
restart) stop; start ;;
status) if healthy; then echo "running: OTLP 127.0.0.1:$GRPC/$HTTP, query http://127.0.0.1:$QUERY"; else echo "stopped"; exit 1; fi ;;
logs) tail -n "${2:-100}" "$LOG" ;;
install) install ;;
bin) install; echo "$BIN" ;;
*) echo "usage: $0 start|stop|restart|status|logs [N]|install|bin" >&2; exit 2 ;;
esac
