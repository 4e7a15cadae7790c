// Package telemetry holds Sluice's metrics: OpenTelemetry instruments with
// a Prometheus endpoint (/metrics). Names follow Kafka Connect's metric
// groups where Kafka Connect has one (docs/metrics.md maps each to its
// MBean attribute); rates are left to PromQL's rate() over the _total
// counters, as Prometheus prefers.
//
// Instruments are made from the global MeterProvider: before Setup (and in
// tests that never call it) they cost next to nothing. Hot paths record per
// batch, never per record, with attribute sets made once per task.
package telemetry

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// Name is the instrumentation scope of Sluice's metrics.
const Name = "github.com/sluicehq/sluice"

var (
	setupOnce sync.Once
	handler   http.Handler
	setupErr  error
)

// Setup installs the global MeterProvider with a Prometheus exporter (once
// per process) and returns the /metrics handler, which also serves the Go
// runtime's and the process's own metrics.
func Setup() (http.Handler, error) {
	setupOnce.Do(func() {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutUnits(), otelprom.WithoutScopeInfo(),
			otelprom.WithoutTargetInfo())
		if err != nil {
			setupErr = fmt.Errorf("prometheus exporter: %w", err)
			return
		}
		otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(latencyBuckets)))
		handler = promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	})
	return handler, setupErr
}

// latencyBuckets gives every *_seconds histogram buckets from 1 ms to a
// minute (the SDK's default ones are in milliseconds).
var latencyBuckets = func(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
	if i.Kind != sdkmetric.InstrumentKindHistogram || i.Unit != "s" {
		return sdkmetric.Stream{}, false
	}
	return sdkmetric.Stream{Name: i.Name, Description: i.Description, Unit: i.Unit,
		Aggregation: sdkmetric.AggregationExplicitBucketHistogram{
			Boundaries: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
		}}, true
}

// Meter is Sluice's meter.
func Meter() metric.Meter { return otel.Meter(Name) }

// counter, seconds and sizes make instruments and fall back on no-ops
// when a name is refused (which only a programming error causes).
func counter(name, desc string) metric.Int64Counter {
	c, err := Meter().Int64Counter(name, metric.WithDescription(desc))
	if err != nil {
		otel.Handle(err)
	}
	return c
}

func seconds(name, desc string) metric.Float64Histogram {
	h, err := Meter().Float64Histogram(name, metric.WithDescription(desc), metric.WithUnit("s"))
	if err != nil {
		otel.Handle(err)
	}
	return h
}

func sizes(name, desc string) metric.Int64Histogram {
	h, err := Meter().Int64Histogram(name, metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(1, 10, 100, 500, 1000, 2000, 5000, 10000, 50000))
	if err != nil {
		otel.Handle(err)
	}
	return h
}

// Observe registers an observable gauge whose callback reports its values
// at each scrape; the returned function unregisters it.
func Observe(name, desc string, f func(observe func(v int64, attrs ...attribute.KeyValue))) func() {
	g, err := Meter().Int64ObservableGauge(name, metric.WithDescription(desc))
	if err != nil {
		otel.Handle(err)
		return func() {}
	}
	reg, err := Meter().RegisterCallback(func(_ context.Context, o metric.Observer) error {
		f(func(v int64, attrs ...attribute.KeyValue) { o.ObserveInt64(g, v, metric.WithAttributes(attrs...)) })
		return nil
	}, g)
	if err != nil {
		otel.Handle(err)
		return func() {}
	}
	return func() { _ = reg.Unregister() }
}

// Background is a context for recording outside a request.
var Background = context.Background()
