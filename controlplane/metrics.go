package controlplane

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"google.golang.org/grpc"

	"github.com/sluicehq/sluice/internal/telemetry"
)

// The control plane's own metrics (docs/metrics.md).
var cpm struct {
	once           sync.Once
	refused        metric.Int64Counter
	leaderChanges  metric.Int64Counter
	heartbeatDelay metric.Float64Histogram
	etcd           metric.Float64Histogram
}

func cpInstruments() {
	cpm.once.Do(func() {
		m := telemetry.Meter()
		cpm.refused, _ = m.Int64Counter("sluice_controlplane_reports_refused",
			metric.WithDescription("Agent reports refused: a stale epoch, or a task no longer the agent's (a zombie's writes)."))
		cpm.leaderChanges, _ = m.Int64Counter("sluice_controlplane_leader_elected",
			metric.WithDescription("Times this replica was elected leader."))
		cpm.heartbeatDelay, _ = m.Float64Histogram("sluice_controlplane_heartbeat_delay_seconds", metric.WithUnit("s"),
			metric.WithDescription("Delay between an agent sending a heartbeat and this replica receiving it (clocks of different hosts may differ)."))
		cpm.etcd, _ = m.Float64Histogram("sluice_controlplane_etcd_request_seconds", metric.WithUnit("s"),
			metric.WithDescription("Latency of this replica's etcd requests, by method and outcome."))
	})
}

// observe registers the gauges read at each scrape from this replica's
// state; the returned function unregisters them.
func (cp *ControlPlane) observe() func() {
	cpInstruments()
	replica := attribute.String("replica", cp.cfg.Name)
	stops := []func(){
		telemetry.Observe("sluice_controlplane_sessions", "Agent sessions this replica holds.", func(obs func(int64, ...attribute.KeyValue)) {
			cp.hub.mu.Lock()
			n := len(cp.hub.sessions)
			cp.hub.mu.Unlock()
			obs(int64(n), replica)
		}),
		telemetry.Observe("sluice_controlplane_leader", "1 while this replica leads and schedules, else 0.", func(obs func(int64, ...attribute.KeyValue)) {
			var v int64
			if cp.IsLeader() {
				v = 1
			}
			obs(v, replica)
		}),
		telemetry.Observe("sluice_controlplane_assignments", "Tasks assigned to agents, as this replica sees them.", func(obs func(int64, ...attribute.KeyValue)) {
			cp.hub.read(func(s *snapshot) { obs(int64(len(s.assign)), replica) })
		}),
		telemetry.Observe("sluice_connectors", "Connectors by target state (RUNNING, PAUSED, STOPPED), as this replica sees them (Kafka Connect: connector-count).",
			func(obs func(int64, ...attribute.KeyValue)) {
				counts := map[string]int64{targetRunning: 0, targetPaused: 0, targetStopped: 0}
				cp.hub.read(func(s *snapshot) {
					for _, c := range s.connectors {
						counts[c.TargetState]++
					}
				})
				for st, n := range counts {
					obs(n, replica, attribute.String("state", st))
				}
			}),
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// etcdInterceptor times every unary etcd request.
func etcdInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	start := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	cpInstruments()
	cpm.etcd.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attribute.String("method", method), attribute.String("outcome", outcome)))
	return err
}
