package tracing

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"
)

func TestWantedReadsTheStandardVariables(t *testing.T) {
	for _, c := range []struct {
		env            map[string]string
		ok             bool
		exporter, prot string
	}{
		{env: map[string]string{}, ok: false},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ok: true, exporter: "otlp", prot: "http/protobuf"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://x:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, ok: true, exporter: "otlp", prot: "grpc"},
		{env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, ok: true, exporter: "otlp", prot: "grpc"},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}, ok: false},
		{env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}, ok: false},
	} {
		exp, prot, ok := wanted(func(k string) string { return c.env[k] })
		if ok != c.ok || exp != c.exporter || prot != c.prot {
			t.Errorf("%v: got %q %q %v, want %q %q %v", c.env, exp, prot, ok, c.exporter, c.prot, c.ok)
		}
	}
}

func TestTraceParentAndLogs(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := FromTraceParent(context.Background(), tp)
	if got := TraceParent(trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(ctx))); got != tp {
		t.Fatalf("TraceParent = %q, want %q", got, tp)
	}
	if TraceParent(context.Background()) != "" || FromTraceParent(context.Background(), "junk") == nil {
		t.Fatal("no span: no traceparent")
	}
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("agent", "a")
	log.InfoContext(ctx, "with")
	log.Info("without")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if !strings.Contains(lines[0], "trace_id=4bf92f3577b34da6a3ce929d0e0e4736") || strings.Contains(lines[1], "trace_id") {
		t.Fatalf("log lines:\n%s", buf.String())
	}
}

func TestOffWhenNotAsked(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	shutdown, err := Setup(context.Background(), "test")
	if err != nil || Enabled() || ConnectInterceptor() != nil || KafkaOpts() != nil || HandlerOptions() != nil {
		t.Fatalf("tracing on without being asked: %v", err)
	}
	_ = shutdown(context.Background())
}
