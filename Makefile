# Sluice's build. `make dev` runs everything in one process; `make test`
# installs and starts what the tests need, then runs them.
SHELL := /bin/bash
GO ?= go
BUF := $(GO) tool -modfile=tools/go.mod buf
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
KAFKA_ADDR ?= 127.0.0.1:9092
ETCD_ADDR ?= 127.0.0.1:2379
PG_ADDR ?= 127.0.0.1:5432
MARIADB_ADDR ?= 127.0.0.1:3306
# Jaeger's OTLP/HTTP receiver and query API (deploy/local/jaeger.sh).
JAEGER_ADDRS ?= 127.0.0.1:4318,127.0.0.1:16686
# A Confluent-compatible Schema Registry (deploy/local/registry.sh) and the
# basic credentials it accepts.
REGISTRY_ADDR ?= 127.0.0.1:8081
REGISTRY_USER_INFO ?= sluice:sluice-secret
# Tests that need a real dependency fail instead of skipping when it is absent.
TEST_ENV := SLUICE_TEST_KAFKA=$(KAFKA_ADDR) SLUICE_TEST_ETCD=$(ETCD_ADDR) \
	SLUICE_TEST_POSTGRES=$(PG_ADDR) SLUICE_TEST_MARIADB=$(MARIADB_ADDR) SLUICE_TEST_JAEGER=$(JAEGER_ADDRS) \
	SLUICE_TEST_REGISTRY=$(REGISTRY_ADDR) SLUICE_TEST_REGISTRY_USER_INFO=$(REGISTRY_USER_INFO) SLUICE_TEST_REQUIRE=1
TEST_FLAGS ?= -count=1 -race -timeout 20m

.PHONY: all build dev test test-unit test-deps generate checkgenerate lint fmt clean deps-stop bench bench-cdc bench-controlplane chaos help

all: build

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## Build bin/sluice
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/sluice ./cmd/sluice

dev: build ## Run etcd, control plane, agent and a Kafka-protocol broker in one process, with a demo pipeline
	bin/sluice dev --demo --data-dir .data/dev

test-deps: ## Install and start a real Kafka broker, etcd, PostgreSQL, MariaDB, Jaeger and a Schema Registry (idempotent)
	deploy/local/kafka.sh start
	deploy/local/etcd.sh start
	deploy/local/postgres.sh start
	deploy/local/mariadb.sh start
	deploy/local/jaeger.sh start
	deploy/local/registry.sh start

test: test-deps ## Install dependencies and run every test, integration tests included
	$(TEST_ENV) SLUICE_TEST_ETCD_BIN=$$(deploy/local/etcd.sh bin) SLUICE_TEST_KC_PYTHON=$$(deploy/local/pyclient.sh python) \
		SLUICE_TEST_CLIENTS_PYTHON=$$(deploy/local/clients.sh python) SLUICE_TEST_CLIENTS_TS=$$(deploy/local/clients.sh typescript) \
		$(GO) test $(TEST_FLAGS) ./...

test-unit: ## Run the tests that need no external server (integration tests skip)
	$(GO) test -count=1 ./...

# Generated code: the Go code under api/, the Python and TypeScript clients.
GENERATED := api clients/python/gen clients/typescript/src/gen

generate: ## Regenerate the protobuf code with buf and the plugins pinned in tools/go.mod and deploy/local/clients.sh
	$(BUF) format -w
	$(BUF) generate
	p=$$(deploy/local/clients.sh path) && PATH=$$p:$$PATH $(BUF) generate --template buf.gen.clients.yaml

checkgenerate: generate ## Fail if generated code differs from what is committed
	@git diff --exit-code -- $(GENERATED) || (echo "generated code is stale: run make generate and commit" >&2; exit 1)
	@test -z "$$(git status --porcelain -- $(GENERATED))" || (git status --porcelain -- $(GENERATED); echo "untracked generated files" >&2; exit 1)

lint: ## buf lint and format check, go vet, gofmt
	$(BUF) lint
	$(BUF) format -d --exit-code
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed" >&2; exit 1)

deps-stop: ## Stop the local Kafka, etcd, PostgreSQL, MariaDB and Jaeger
	-deploy/local/kafka.sh stop
	-deploy/local/etcd.sh stop
	-deploy/local/postgres.sh stop
	-deploy/local/mariadb.sh stop
	-deploy/local/jaeger.sh stop
	-deploy/local/registry.sh stop

clean: ## Remove build output and dev data
	rm -rf bin .data

bench: build ## Run the benchmarks against a real Kafka (and Kafka Connect) and write bench/results/
	deploy/local/kafka.sh start
	$(GO) run ./bench $(BENCH_FLAGS)

bench-cdc: build ## PostgreSQL changes through postgres-cdc and through Debezium on Kafka Connect: events/s, latency, memory (bench/results/cdc.md)
	deploy/local/kafka.sh start
	deploy/local/postgres.sh start
	$(GO) run ./bench -scenarios cdc $(BENCH_FLAGS)

chaos: test-deps ## The chaos suite, long version: agent, leader, zombie, etcd and broker faults, a million records, pause/stop, failed tasks, poison records, a slow sink (results in test/e2e/chaos-results.md)
	$(TEST_ENV) SLUICE_CHAOS=full SLUICE_CHAOS_OUT=$(CURDIR)/test/e2e/chaos-results.md SLUICE_TEST_ETCD_BIN=$$(deploy/local/etcd.sh bin) \
		$(GO) test -count=1 -timeout 40m -run 'TestChaos' -v ./test/e2e/ | grep -E '^(---|ok|FAIL|\|)|chaos_(more_)?test.go'

bench-controlplane: build ## Measure the control plane with 1,000-10,000 simulated agents and 50,000 tasks on a real etcd
	deploy/local/etcd.sh start
	$(GO) run ./bench/controlplane $(BENCH_CP_FLAGS)
