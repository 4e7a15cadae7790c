// Package tracing sets up OpenTelemetry tracing from the standard OTEL_*
// environment variables and holds the small helpers Sluice's processes
// share: the Connect interceptor for RPCs, franz-go hooks for Kafka
// clients, and W3C trace context in Kafka record headers.
//
// Nothing is exported, and nothing costs, unless the environment asks for
// traces: OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
// set, or OTEL_TRACES_EXPORTER=otlp (or console). OTEL_SDK_DISABLED=true and
// OTEL_TRACES_EXPORTER=none turn it off. The protocol is
// OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL: grpc or
// http/protobuf (the default, as the specification says). The exporters
// read the rest themselves (headers, timeouts, TLS), and the SDK reads
// OTEL_TRACES_SAMPLER, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/otelconnect"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/plugin/kotel"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// Name is the instrumentation scope of Sluice's own spans.
const Name = "github.com/sluicehq/sluice"

// enabled is set by Setup when traces are exported.
var enabled bool

// Enabled reports whether this process exports traces.
func Enabled() bool { return enabled }

// Tracer is Sluice's tracer (a no-op one unless Setup enabled tracing).
func Tracer() trace.Tracer { return otel.Tracer(Name) }

// Propagator is the W3C trace context (and baggage) propagator.
var Propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// wanted reads the environment: whether traces are asked for, and how.
func wanted(getenv func(string) string) (exporter, protocol string, ok bool) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return "", "", false
	}
	exporter = strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")))
	switch exporter {
	case "none":
		return "", "", false
	case "":
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return "", "", false
		}
		exporter = "otlp"
	}
	protocol = getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if protocol == "" {
		protocol = "http/protobuf"
	}
	return exporter, protocol, true
}

// Setup installs the global tracer provider and propagator when the
// environment asks for traces, naming the process service (unless
// OTEL_SERVICE_NAME does). The returned function flushes and stops it.
func Setup(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	nop := func(context.Context) error { return nil }
	exporter, protocol, ok := wanted(os.Getenv)
	if !ok {
		return nop, nil
	}
	var exp sdktrace.SpanExporter
	switch exporter {
	case "otlp":
		switch protocol {
		case "grpc":
			exp, err = otlptracegrpc.New(ctx)
		case "http/protobuf":
			exp, err = otlptracehttp.New(ctx)
		default:
			return nop, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%s: want grpc or http/protobuf", protocol)
		}
	default:
		return nop, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: Sluice exports traces with otlp (or none)", exporter)
	}
	if err != nil {
		return nop, fmt.Errorf("trace exporter: %w", err)
	}
	res, err := resource.New(ctx, resource.WithAttributes(semconv.ServiceName(service)), resource.WithFromEnv(),
		resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nop, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	enabled = true
	slog.Debug("exporting traces", "protocol", protocol, "service", service)
	return tp.Shutdown, nil
}

// ConnectInterceptor traces RPCs, server or client side. The long-lived
// agent session stream is left out: one span for a stream that lasts days
// says nothing (its work is traced per assignment and per batch instead).
// It is nil when tracing is off.
func ConnectInterceptor() connect.Interceptor {
	if !enabled {
		return nil
	}
	ic, err := otelconnect.NewInterceptor(otelconnect.WithTrustRemote(), otelconnect.WithoutMetrics(),
		otelconnect.WithFilter(func(_ context.Context, spec connect.Spec) bool {
			return !strings.HasSuffix(spec.Procedure, "/Session")
		}))
	if err != nil {
		slog.Warn("RPC tracing off", "err", err)
		return nil
	}
	return ic
}

// HandlerOptions returns the interceptor as handler options (none when
// tracing is off).
func HandlerOptions() []connect.HandlerOption {
	if ic := ConnectInterceptor(); ic != nil {
		return []connect.HandlerOption{connect.WithInterceptors(ic)}
	}
	return nil
}

// ClientOptions returns the interceptor as client options (none when
// tracing is off).
func ClientOptions() []connect.ClientOption {
	if ic := ConnectInterceptor(); ic != nil {
		return []connect.ClientOption{connect.WithInterceptors(ic)}
	}
	return nil
}

// KafkaOpts returns franz-go hooks that trace every produced and fetched
// record (kotel), carrying the trace context in the records' headers: a
// record produced with a traced Context gets a traceparent header, and a
// fetched record's Context holds the producer's span context. None when
// tracing is off.
func KafkaOpts() []kgo.Opt {
	if !enabled {
		return nil
	}
	k := kotel.NewKotel(kotel.WithTracer(kotel.NewTracer(kotel.TracerPropagator(Propagator))))
	return []kgo.Opt{kgo.WithHooks(k.Hooks()...)}
}

// LogHandler adds trace_id and span_id to every log record made with a
// context that holds a span.
func LogHandler(h slog.Handler) slog.Handler { return traceHandler{h} }

type traceHandler struct{ slog.Handler }

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h traceHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return traceHandler{h.Handler.WithAttrs(as)}
}
func (h traceHandler) WithGroup(n string) slog.Handler { return traceHandler{h.Handler.WithGroup(n)} }

// HTTP traces an HTTP handler as a server span named by its route pattern
// (for example "GET /connectors/{name}"), continuing a trace the caller
// sent in traceparent. It returns h itself when tracing is off.
func HTTP(route string, h http.Handler) http.Handler {
	if !enabled {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx := Propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
		ctx, span := Tracer().Start(ctx, route, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(req.Method), semconv.HTTPRoute(route),
				semconv.URLPath(req.URL.Path)))
		defer span.End()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, req.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// TraceParent returns the W3C traceparent of the span in ctx, or "" when
// there is none or it is not sampled.
func TraceParent(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); !sc.IsValid() || !sc.IsSampled() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// FromTraceParent returns ctx with the remote span context a traceparent
// names (ctx itself when tp is empty or malformed).
func FromTraceParent(ctx context.Context, tp string) context.Context {
	if tp == "" {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
}
