#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker and
# controller) on loopback, for tests and benchmarks. Kafka's jars come from
# Maven Central through Maven and are cached outside the repository.
#
#   deploy/local/kafka.sh start|stop|restart|status|logs|install|libs|connect-libs|debezium-libs|reset
#
# connect-libs installs Apache Kafka Connect's worker and the FileStream
# connectors (for the benchmarks' baseline) and prints their directory.
# debezium-libs installs Debezium's PostgreSQL connector as a Kafka Connect
# plugin (for the cdc benchmark's baseline) and prints the directory to give
# the worker as plugin.path.
#
# Environment: SLUICE_CACHE (default ~/.cache/sluice), KAFKA_VERSION (4.1.0),
# KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_HEAP (1g),
# DEBEZIUM_VERSION (3.3.1.Final, built on Kafka 4.1).
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.1.0}
CACHE=${SLUICE_CACHE:-$HOME/.cache/sluice}
HOME_DIR=$CACHE/kafka-$KAFKA_VERSION
LIBS=$HOME_DIR/libs
PORT=${KAFKA_PORT:-9092}
CPORT=${KAFKA_CONTROLLER_PORT:-9093}
RUN=$CACHE/run/kafka-$PORT
DATA=${SLUICE_KAFKA_DATA:-$RUN/data}
PIDFILE=$RUN/kafka.pid
LOG=$RUN/kafka.log

NAME=kafka.sh
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

install() {
	if [[ -f $LIBS/.complete ]]; then return 0; fi
	command -v java >/dev/null || { log "java is required (17 or later)"; exit 1; }
	command -v mvn >/dev/null || { log "mvn (Maven) is required to fetch Kafka's jars"; exit 1; }
	log "installing Apache Kafka $KAFKA_VERSION jars into $LIBS (first run only)"
	local pom=$HOME_DIR/pom.xml
	mkdir -p "$HOME_DIR"
	cat >"$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.sluice</groupId><artifactId>kafka-libs</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
	rm -rf "$LIBS.tmp"
	mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$LIBS.tmp" >&2
	rm -rf "$LIBS"
	mv "$LIBS.tmp" "$LIBS"
	touch "$LIBS/.complete"
}

CONNECT_LIBS=$HOME_DIR/connect-libs

install_connect() {
	if [[ -f $CONNECT_LIBS/.complete ]]; then return 0; fi
	log "installing Apache Kafka Connect $KAFKA_VERSION jars into $CONNECT_LIBS (first use only)"
	local pom=$HOME_DIR/connect-pom.xml
	mkdir -p "$HOME_DIR"
	cat >"$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.sluice</groupId><artifactId>connect-libs</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-file</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>connect-json</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM
	rm -rf "$CONNECT_LIBS.tmp"
	mvn -q -B -f "$pom" dependency:copy-dependencies -DoutputDirectory="$CONNECT_LIBS.tmp" >&2
	rm -rf "$CONNECT_LIBS"
	mv "$CONNECT_LIBS.tmp" "$CONNECT_LIBS"
	touch "$CONNECT_LIBS/.complete"
}

DEBEZIUM_VERSION=${DEBEZIUM_VERSION:-3.3.1.Final}
DEBEZIUM_HOME=$CACHE/debezium-$DEBEZIUM_VERSION
DEBEZIUM_PLUGINS=$DEBEZIUM_HOME/plugins

# install_debezium puts the connector and its own dependencies in a plugin
# directory of their own, as Debezium ships it: the worker loads it in an
# isolated class loader, and Kafka Connect's API comes from the worker.
install_debezium() {
	local dir=$DEBEZIUM_PLUGINS/debezium-connector-postgres
	if [[ -f $dir/.complete ]]; then return 0; fi
	command -v mvn >/dev/null || { log "mvn (Maven) is required to fetch Debezium's jars"; exit 1; }
	log "installing Debezium's PostgreSQL connector $DEBEZIUM_VERSION into $dir (first use only)"
	local pom=$DEBEZIUM_HOME/pom.xml
	mkdir -p "$DEBEZIUM_HOME"
	cat >"$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.sluice</groupId><artifactId>debezium-libs</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>io.debezium</groupId><artifactId>debezium-connector-postgres</artifactId><version>$DEBEZIUM_VERSION</version></dependency>
  </dependencies>
</project>
POM
	rm -rf "$dir.tmp"
	mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir.tmp" >&2
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	touch "$dir/.complete"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

configure() {
	mkdir -p "$RUN" "$DATA"
	cat >"$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=1
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=268435456
PROPS
	cat >"$RUN/log4j2.properties" <<'L4J'
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = INFO
L4J
}

java_cmd() {
	java -Xms256m -Xmx"${KAFKA_HEAP:-1g}" -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$RUN/log4j2.properties" -cp "$LIBS/*" "$@"
}

start() {
	if running; then log "already running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; return 0; fi
	if port_open "$PORT"; then log "something already listens on 127.0.0.1:$PORT: using it"; return 0; fi
	install
	configure
	if [[ ! -f $DATA/meta.properties ]]; then
		java_cmd kafka.tools.StorageTool format --standalone -t "$(java_cmd kafka.tools.StorageTool random-uuid)" \
			-c "$RUN/server.properties" >"$RUN/format.log" 2>&1 || { cat "$RUN/format.log" >&2; exit 1; }
	fi
	log "starting Apache Kafka $KAFKA_VERSION on 127.0.0.1:$PORT (logs: $LOG)"
	nohup bash -c "$(declare -f java_cmd); RUN='$RUN' LIBS='$LIBS' KAFKA_HEAP='${KAFKA_HEAP:-1g}' java_cmd kafka.Kafka '$RUN/server.properties'" \
		>"$LOG" 2>&1 </dev/null &
	echo $! >"$PIDFILE"
	for _ in $(seq 1 180); do
		if ! running; then log "Kafka exited; last lines of $LOG:"; tail -30 "$LOG" >&2; exit 1; fi
		if port_open "$PORT" && grep -q "Kafka Server started\|Transitioning from RECOVERY to RUNNING\|Kafka version" "$LOG" 2>/dev/null; then
			sleep 1
			log "ready on 127.0.0.1:$PORT"
			return 0
		fi
		sleep 0.5
	done
	log "Kafka did not become ready in 90s; last lines of $LOG:"
	tail -30 "$LOG" >&2
	exit 1
}

stop() { stop_pid 30; }

case "${1:-}" in
start) start ;;
stop) stop ;;
restart) stop; start ;;
status) if running || port_open "$PORT"; then echo "running on 127.0.0.1:$PORT"; else echo "stopped"; exit 1; fi ;;
logs) tail -n "${2:-100}" "$LOG" ;;
install) install ;;
libs) install; echo "$LIBS" ;;
connect-libs) install_connect; echo "$CONNECT_LIBS" ;;
debezium-libs) install_debezium; echo "$DEBEZIUM_PLUGINS" ;;
reset) stop; rm -rf "$DATA"; log "data removed" ;;
*) echo "usage: $0 start|stop|restart|status|logs [N]|install|libs|connect-libs|debezium-libs|reset" >&2; exit 2 ;;
esac
