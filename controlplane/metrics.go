package controlplane

import (
	"cmp"
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
	agentsLost     metric.Int64Counter
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
		cpm.agentsLost, _ = m.Int64Counter("sluice_controlplane_agents_lost",
			metric.WithDescription("Agents gone with tasks that did not come back within --reassign-delay, so that their tasks moved (a crash, a kill, a long network cut), counted by the leader."))
		cpm.heartbeatDelay, _ = m.Float64Histogram("sluice_controlplane_heartbeat_delay_seconds", metric.WithUnit("s"),
			metric.WithDescription("Delay between an agent sending a heartbeat and this replica receiving it (clocks of different hosts may differ)."))
		cpm.etcd, _ = m.Float64Histogram("sluice_controlplane_etcd_request_seconds", metric.WithUnit("s"),
			metric.WithDescription("Latency of this replica's etcd requests, by method and outcome."))
	})
}

// replicaAttr labels a measurement with this replica's name.
func (cp *ControlPlane) replicaAttr() metric.MeasurementOption {
	return metric.WithAttributes(attribute.String("replica", cp.cfg.Name))
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
		// Cluster-wide counts, reported by the leader only, so that a sum
		// over the replicas' scrapes counts each task and agent once.
		telemetry.Observe("sluice_connector_tasks",
			"Tasks per connector by state as `sluice connector status` shows them, reported by the leader (Kafka Connect: connector-running-task-count, connector-paused-task-count, connector-failed-task-count, connector-restarting-task-count, connector-unassigned-task-count, connector-total-task-count).",
			func(obs func(int64, ...attribute.KeyValue)) {
				if !cp.IsLeader() {
					return
				}
				for c, counts := range cp.hub.taskCounts() {
					for st, n := range counts {
						obs(n, replica, attribute.String("connector", c), attribute.String("state", st))
					}
				}
			}),
		telemetry.Observe("sluice_connector_status",
			"1 per connector, labelled with its type (source, sink), connector.class and state (RUNNING, PAUSED, STOPPED), reported by the leader (Kafka Connect: connector-metrics connector-type, connector-class, status).",
			func(obs func(int64, ...attribute.KeyValue)) {
				if !cp.IsLeader() {
					return
				}
				cp.hub.read(func(s *snapshot) {
					for name, c := range s.connectors {
						obs(1, replica, attribute.String("connector", name), attribute.String("type", c.Type),
							attribute.String("class", c.Config["connector.class"]), attribute.String("state", cmp.Or(c.TargetState, targetRunning)))
					}
				})
			}),
		telemetry.Observe("sluice_agents",
			"Agents by state, reported by the leader: live, draining (stopping), lost (gone without draining; their tasks wait --reassign-delay for them).",
			func(obs func(int64, ...attribute.KeyValue)) {
				if !cp.IsLeader() {
					return
				}
				counts := map[string]int64{"live": 0, "draining": 0, "lost": 0}
				cp.hub.read(func(s *snapshot) {
					for _, a := range s.agents {
						if a.Draining {
							counts["draining"]++
						} else {
							counts["live"]++
						}
					}
					for name, ts := range s.byAgent {
						if _, ok := s.agents[name]; !ok && len(ts) > 0 {
							counts["lost"]++
						}
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

// taskStates are the states sluice_connector_tasks always reports, zero or
// not: Kafka Connect's task states, and STOPPED.
var taskStates = []string{"RUNNING", "PAUSED", "FAILED", "RESTARTING", "UNASSIGNED", "STOPPED"}

// taskCounts counts each connector's tasks by state, as statusIn decides
// it: a task shows the state its agent reported under its current epoch,
// UNASSIGNED when none did (not placed yet, starting, or its agent lost),
// STOPPED when its connector is.
func (h *hub) taskCounts() map[string]map[string]int64 {
	out := map[string]map[string]int64{}
	h.read(func(s *snapshot) {
		for name, c := range s.connectors {
			counts := make(map[string]int64, len(taskStates))
			for _, st := range taskStates {
				counts[st] = 0
			}
			for i := range c.Tasks {
				tk := taskKey{name, i}
				state := "UNASSIGNED"
				if c.TargetState == targetStopped {
					state = "STOPPED"
				} else if as, ok := s.assign[tk]; ok {
					if r, ok := h.reported[tk]; ok && r.Epoch == as.Epoch && r.Agent == as.Agent {
						state = r.State
					}
				}
				counts[state]++
			}
			out[name] = counts
		}
	})
	return out
}
