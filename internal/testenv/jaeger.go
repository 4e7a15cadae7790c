package testenv

import "testing"

// Jaeger returns the test trace receiver's OTLP/HTTP address and its query
// API's address (SLUICE_TEST_JAEGER=otlp-host:port,query-host:port, as
// `make test` sets for deploy/local/jaeger.sh).
func Jaeger(t testing.TB) (otlpHTTP, query string) {
	t.Helper()
	addrs := server(t, "SLUICE_TEST_JAEGER", "OTLP trace receiver (Jaeger)", "deploy/local/jaeger.sh start")
	if len(addrs) != 2 {
		t.Fatalf("SLUICE_TEST_JAEGER=%v: want otlp-host:port,query-host:port", addrs)
	}
	return addrs[0], addrs[1]
}
