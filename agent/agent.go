// Package agent is the Sluice agent: it holds one session stream with a
// control plane replica, registers, sends heartbeats, runs the tasks it is
// assigned through agent/runtime, and sends their states and committed
// source offsets up the session. When the control plane goes away it keeps
// its tasks running, buffers what it has to report, and reconnects with
// backoff to any of the replicas it was given.
package agent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sluicehq/sluice/agent/runtime"
	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	"github.com/sluicehq/sluice/api/kcjson"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/connectors/configprovider"
	"github.com/sluicehq/sluice/internal/atomicfile"
	"github.com/sluicehq/sluice/internal/telemetry"
)

// Version is the agent's version, reported at registration.
var Version = "dev"

// Config configures an Agent.
type Config struct {
	// Servers are control plane replica URLs; the agent uses one at a time
	// and moves to the next when a session fails. Required.
	Servers []string
	// Name identifies the agent; stable across restarts. Default: the
	// host name.
	Name string
	// Labels describe the agent for placement (region, zone, ...).
	Labels map[string]string
	// Capacity is the most tasks the agent should run; 0 means no limit.
	Capacity int
	// Brokers are the Kafka seed brokers. Required.
	Brokers []string
	// Registry holds the connectors the agent can run. Required.
	Registry *connectors.Registry
	// ConfigProviders are the ${provider:...} config providers tasks
	// resolve on this agent, and what they may read (zero: env, file,
	// directory and dir, no limits).
	ConfigProviders configprovider.Providers
	// LogLevel, when set, is the level the agent's log handler reads: a
	// level set for the cluster (PUT /admin/loggers/root?scope=cluster)
	// changes it.
	LogLevel *slog.LevelVar
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// ReconnectMin and ReconnectMax bound the reconnect backoff. Defaults
	// 100ms and 5s.
	ReconnectMin, ReconnectMax time.Duration
	// OffsetFlushInterval is how often committed offsets are sent up.
	// Default 1s.
	OffsetFlushInterval time.Duration
	// DataDir keeps the offsets the agent could not report before it
	// stopped (the control plane was unreachable); the next start sends
	// them and resumes its tasks from them. Empty: nothing is kept.
	DataDir string
}

// Agent runs tasks for a control plane.
type Agent struct {
	cfg Config
	log *slog.Logger
	rt  *runtime.Runtime
	rep *reporter

	// fence guards the lease deadline: past it the control plane may give
	// this agent's tasks to another agent, so the agent stops them first.
	fenceMu    sync.Mutex
	leaseUntil time.Time // the earliest the session lease may expire, less a margin
	fenced     bool
	// endSession ends the current session (set while one is open).
	endSession context.CancelFunc

	// flush asks the session to send what is pending and a heartbeat, and
	// to close the channel once the control plane acknowledged it: it has
	// then processed everything sent before (a session is in order).
	flush chan chan struct{}
}

// New checks cfg and returns an Agent; Run starts it.
func New(cfg Config) (*Agent, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("agent: no control plane server given")
	}
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("agent: no Kafka broker given")
	}
	if cfg.Registry == nil {
		return nil, errors.New("agent: no connector registry given")
	}
	if cfg.Name == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent name: %w", err)
		}
		cfg.Name = h
	}
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	cfg.ReconnectMin = cmp.Or(cfg.ReconnectMin, 100*time.Millisecond)
	cfg.ReconnectMax = cmp.Or(cfg.ReconnectMax, 5*time.Second)
	cfg.OffsetFlushInterval = cmp.Or(cfg.OffsetFlushInterval, time.Second)
	a := &Agent{cfg: cfg, log: cfg.Logger.With("agent", cfg.Name), rep: newReporter(), flush: make(chan chan struct{})}
	rt, err := runtime.New(runtime.Config{
		Registry:            cfg.Registry,
		Brokers:             cfg.Brokers,
		Reporter:            a.rep,
		OffsetFlushInterval: cfg.OffsetFlushInterval,
		AgentName:           cfg.Name,
		Logger:              a.log,
		ConfigProviders:     cfg.ConfigProviders,
		LeaseValid:          a.leaseValid,
	})
	if err != nil {
		return nil, fmt.Errorf("agent runtime: %w", err)
	}
	a.rt = rt
	if err := a.loadUnsent(); err != nil {
		return nil, err
	}
	return a, nil
}

// Name returns the agent's name.
func (a *Agent) Name() string { return a.cfg.Name }

// Run runs the agent until ctx ends, then stops its tasks (committing their
// offsets) and sends what is left to report before returning.
func (a *Agent) Run(ctx context.Context) error {
	defer a.observe()()
	rtCtx, stopRuntime := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRuntime()
	rtDone := make(chan error, 1)
	go func() { rtDone <- a.rt.Run(rtCtx) }()

	// The session outlives ctx briefly so that the final offsets of the
	// drained tasks reach the control plane.
	sessCtx, stopSession := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSession()
	sessDone := make(chan struct{})
	go func() {
		defer close(sessDone)
		a.sessions(sessCtx)
	}()
	go a.watchLease(rtCtx)

	select {
	case <-ctx.Done():
	case err := <-rtDone:
		stopSession()
		<-sessDone
		return fmt.Errorf("agent runtime stopped: %w", err)
	}
	a.log.Info("agent stopping: draining tasks")
	// The control plane places nothing more here; each task, once drained,
	// is released after its final offsets, so that it moves at once
	// instead of waiting for this agent to come back.
	a.rep.drain()
	a.rep.holdReleases(false)
	stopRuntime()
	err := <-rtDone
	// Give the session a moment to send the final offsets and releases,
	// and to hear that the control plane processed them.
	flushCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	a.rep.waitEmpty(flushCtx)
	acked := make(chan struct{})
	select {
	case a.flush <- acked:
		select {
		case <-acked:
		case <-flushCtx.Done():
		}
	case <-flushCtx.Done():
	}
	cancel()
	if err := a.saveUnsent(); err != nil {
		a.log.Error("offsets not reported are lost; their records will be read again", "err", err)
	}
	stopSession()
	<-sessDone
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// sessions keeps a session open, moving between servers with backoff.
func (a *Agent) sessions(ctx context.Context) {
	backoff := a.cfg.ReconnectMin
	for i := 0; ctx.Err() == nil; i++ {
		server := a.cfg.Servers[i%len(a.cfg.Servers)]
		start := time.Now()
		err := a.session(ctx, server)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > 10*time.Second {
			backoff = a.cfg.ReconnectMin
		}
		a.log.Warn("session ended; reconnecting", "server", server, "backoff", backoff, "err", err)
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(backoff*2, a.cfg.ReconnectMax)
	}
}

// session runs one session with server until it fails or ctx ends.
func (a *Agent) session(ctx context.Context, server string) error {
	c, err := client.New(server, client.WithGRPC(), client.WithTimeout(0))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.fenceMu.Lock()
	a.endSession = cancel
	a.fenceMu.Unlock()
	defer func() {
		a.fenceMu.Lock()
		a.endSession = nil
		a.fenceMu.Unlock()
	}()
	stream := c.Agents.Session(ctx)
	defer func() {
		_ = stream.CloseRequest()
		_ = stream.CloseResponse()
	}()

	reg := &sluicev1.Register{Name: a.cfg.Name, Labels: a.cfg.Labels, Version: Version, Capacity: int32(a.cfg.Capacity)}
	for _, t := range a.rt.Running() {
		reg.Running = append(reg.Running, &sluicev1.RunningTask{
			Task: &sluicev1.TaskRef{Connector: t.Task.Connector, Task: int32(t.Task.Task)}, Epoch: t.Epoch})
	}
	registerSent := time.Now()
	if err := stream.Send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Register{Register: reg}}); err != nil {
		return fmt.Errorf("register: %w", err)
	}
	first, err := stream.Receive()
	if err != nil {
		return fmt.Errorf("register: %w", err)
	}
	registered := first.GetRegistered()
	if registered == nil {
		return errors.New("register: the control plane did not acknowledge the registration")
	}
	interval := registered.GetHeartbeatInterval().AsDuration()
	if interval <= 0 {
		interval = 2 * time.Second
	}
	ttl := registered.GetSessionTtl().AsDuration()
	if ttl <= 0 {
		ttl = 5 * interval
	}
	a.log.Info("session open", "server", server, "replica", registered.GetReplica(), "heartbeat", interval, "ttl", ttl)
	// The lease was granted after the registration was sent.
	a.renewed(registerSent, ttl, true)
	// Everything this agent knows is sent again: the new session may be
	// with another replica, and the old session's statuses are gone.
	a.rep.resendStates()

	var (
		mu       sync.Mutex
		lastSeen = time.Now()
		waiters  = map[int64]chan struct{}{} // flushes waiting for their heartbeat's ack
	)
	recvErr := make(chan error, 1)
	go func() {
		for {
			msg, err := stream.Receive()
			if err != nil {
				recvErr <- err
				return
			}
			mu.Lock()
			lastSeen = time.Now()
			mu.Unlock()
			switch m := msg.Msg.(type) {
			case *sluicev1.SessionResponse_HeartbeatAck:
				// The control plane renewed the lease after this heartbeat
				// was sent.
				a.renewed(m.HeartbeatAck.GetSendTime().AsTime(), ttl, false)
				mu.Lock()
				if w, ok := waiters[m.HeartbeatAck.GetSendTime().AsTime().UnixNano()]; ok {
					close(w)
					delete(waiters, m.HeartbeatAck.GetSendTime().AsTime().UnixNano())
				}
				mu.Unlock()
			case *sluicev1.SessionResponse_Assignments:
				a.apply(m.Assignments)
			case *sluicev1.SessionResponse_Refused:
				a.log.Warn("report refused", "connector", m.Refused.GetTask().GetConnector(),
					"task", m.Refused.GetTask().GetTask(), "epoch", m.Refused.GetEpoch(), "reason", m.Refused.GetReason())
			}
		}
	}()

	hb := time.NewTicker(interval)
	defer hb.Stop()
	sendHeartbeat := func() error {
		return stream.Send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Heartbeat{
			Heartbeat: &sluicev1.Heartbeat{SendTime: timestamppb.Now()}}})
	}
	for {
		// Send whatever is pending.
		for _, m := range a.rep.take() {
			if err := stream.Send(m); err != nil {
				a.rep.putBack(m)
				return fmt.Errorf("send report: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			if errors.Is(err, context.Canceled) {
				return err
			}
			return fmt.Errorf("receive: %w", err)
		case <-hb.C:
			mu.Lock()
			silent := time.Since(lastSeen)
			mu.Unlock()
			if silent > ttl {
				return fmt.Errorf("control plane silent for %s", silent.Round(time.Millisecond))
			}
			if err := sendHeartbeat(); err != nil {
				return fmt.Errorf("heartbeat: %w", err)
			}
		case <-a.rep.notify:
		case acked := <-a.flush:
			for _, m := range a.rep.take() {
				if err := stream.Send(m); err != nil {
					a.rep.putBack(m)
					return fmt.Errorf("send report: %w", err)
				}
			}
			now := time.Now()
			mu.Lock()
			waiters[now.UnixNano()] = acked
			mu.Unlock()
			if err := stream.Send(&sluicev1.SessionRequest{Msg: &sluicev1.SessionRequest_Heartbeat{
				Heartbeat: &sluicev1.Heartbeat{SendTime: timestamppb.New(now)}}}); err != nil {
				return fmt.Errorf("heartbeat: %w", err)
			}
		}
	}
}

// apply hands the assigned set to the runtime.
func (a *Agent) apply(as *sluicev1.Assignments) {
	a.setLevel(as.GetLogLevel())
	out := make([]runtime.Assignment, 0, len(as.GetTasks()))
	for _, t := range as.GetTasks() {
		if t.GetTargetState() == sluicev1.TargetState_TARGET_STATE_STOPPED {
			continue
		}
		ra := runtime.Assignment{
			Task:        runtime.TaskRef{Connector: t.GetTask().GetConnector(), Task: int(t.GetTask().GetTask())},
			Epoch:       t.GetEpoch(),
			Config:      t.GetConfig(),
			Paused:      t.GetTargetState() == sluicev1.TargetState_TARGET_STATE_PAUSED,
			Restart:     t.GetRestart(),
			TopicsReset: t.GetTopicsReset(),
			TraceParent: t.GetTraceParent(),
		}
		for _, o := range t.GetOffsets() {
			var p, off map[string]any
			if json.Unmarshal([]byte(o.GetPartition()), &p) != nil || json.Unmarshal([]byte(o.GetOffset()), &off) != nil {
				a.log.Warn("bad offset in assignment", "connector", ra.Task.Connector, "partition", o.GetPartition())
				continue
			}
			ra.Offsets = append(ra.Offsets, connectors.Offset{Partition: p, Offset: off})
		}
		out = append(out, ra)
	}
	a.rt.Apply(out)
}

// unsentFile holds offsets not reported when the agent stopped.
const unsentFile = "unsent-offsets.json"

type unsentOffsets struct {
	Connector string              `json:"connector"`
	Task      int                 `json:"task"`
	Epoch     int64               `json:"epoch"`
	Offsets   []connectors.Offset `json:"offsets"`
}

// saveUnsent writes what the reporter could not send to DataDir.
func (a *Agent) saveUnsent() error {
	if a.cfg.DataDir == "" {
		return nil
	}
	var out []unsentOffsets
	for t, p := range a.rep.pendingOffsets() {
		u := unsentOffsets{Connector: t.Connector, Task: t.Task, Epoch: p.epoch}
		for _, o := range p.byKey {
			var part, off map[string]any
			if json.Unmarshal([]byte(o.GetPartition()), &part) != nil || json.Unmarshal([]byte(o.GetOffset()), &off) != nil {
				continue
			}
			u.Offsets = append(u.Offsets, connectors.Offset{Partition: part, Offset: off})
		}
		out = append(out, u)
	}
	path := filepath.Join(a.cfg.DataDir, unsentFile)
	if len(out) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(a.cfg.DataDir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	a.log.Warn("control plane unreachable: offsets kept for the next start", "file", path, "tasks", len(out))
	return atomicfile.Write(path, b)
}

// loadUnsent queues the offsets a previous run could not report, and lets
// the runtime resume from them when the control plane gives the task back
// under the same epoch.
func (a *Agent) loadUnsent() error {
	if a.cfg.DataDir == "" {
		return nil
	}
	path := filepath.Join(a.cfg.DataDir, unsentFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	var in []unsentOffsets
	if err := json.Unmarshal(b, &in); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	for _, u := range in {
		t := runtime.TaskRef{Connector: u.Connector, Task: u.Task}
		a.rep.Offsets(t, u.Epoch, u.Offsets)
		a.rt.Remember(t, u.Epoch, u.Offsets)
	}
	a.log.Info("offsets from the previous run queued", "file", path, "tasks", len(in))
	return os.Remove(path)
}

// fenceMargin is how long before the earliest possible lease expiry the agent
// stops its tasks: a fifth of the TTL, at least 500ms.
func fenceMargin(ttl time.Duration) time.Duration { return max(ttl/5, 500*time.Millisecond) }

// renewed records that the session lease was granted or renewed after sent.
// It expires no earlier than sent + ttl.
func (a *Agent) renewed(sent time.Time, ttl time.Duration, registered bool) {
	until := sent.Add(ttl - fenceMargin(ttl))
	a.fenceMu.Lock()
	defer a.fenceMu.Unlock()
	if registered || until.After(a.leaseUntil) {
		a.leaseUntil = until
	}
	if registered && a.fenced {
		a.fenced = false
		a.rep.holdReleases(false)
		a.log.Info("session restored: tasks come back with the next assignments")
	}
}

// leaseValid reports whether the session lease still holds by this agent's
// clock (no session yet: yes, the tasks it runs came from its saved state or
// a session that just opened). Tasks hold their writes while it says no.
func (a *Agent) leaseValid() bool {
	a.fenceMu.Lock()
	defer a.fenceMu.Unlock()
	return !a.fenced && (a.leaseUntil.IsZero() || time.Now().Before(a.leaseUntil))
}

// watchLease stops every task when the session lease may have expired
// without a renewal: the control plane may then give the tasks to another
// agent, and two agents must not run one task. New assignments, after a new
// registration, start them again.
func (a *Agent) watchLease(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.fenceMu.Lock()
		expired := !a.leaseUntil.IsZero() && time.Now().After(a.leaseUntil) && !a.fenced
		end := a.endSession
		if expired {
			a.fenced = true
		}
		a.fenceMu.Unlock()
		if expired {
			a.log.Error("cut off from the control plane past the session lease: stopping every task before another agent may take it")
			a.rep.holdReleases(true)
			a.rt.Apply(nil)
			// A session whose lease may be gone is over: registering
			// again brings the tasks back, same epochs if they stayed.
			if end != nil {
				end()
			}
		}
	}
}

// setLevel follows the level set for the whole cluster
// (PUT /admin/loggers/root?scope=cluster), if any.
func (a *Agent) setLevel(name string) {
	if name == "" || a.cfg.LogLevel == nil {
		return
	}
	lv, ok := kcjson.ParseLevel(name)
	if !ok || a.cfg.LogLevel.Level() == lv {
		return
	}
	a.cfg.LogLevel.Set(lv)
	a.log.Info("log level set for the cluster", "level", name)
}

// observe registers the agent's gauges, read at each scrape of /metrics;
// the returned function unregisters them.
func (a *Agent) observe() func() {
	agent := attribute.String("agent", a.cfg.Name)
	tasks := telemetry.Observe("sluice_worker_connector_tasks",
		"Tasks this agent runs, by connector and state: RUNNING, PAUSED or FAILED (Kafka Connect: connector-running-task-count, connector-paused-task-count, connector-failed-task-count).",
		func(obs func(int64, ...attribute.KeyValue)) {
			for c, m := range a.rt.TaskCounts() {
				for st, n := range m {
					obs(int64(n), agent, attribute.String("connector", c), attribute.String("state", st))
				}
			}
		})
	lease := telemetry.Observe("sluice_agent_lease_valid",
		"1 while this agent holds its session lease by its own clock, else 0 (its tasks hold their writes).",
		func(obs func(int64, ...attribute.KeyValue)) {
			var v int64
			if a.leaseValid() {
				v = 1
			}
			obs(v, agent)
		})
	return func() { tasks(); lease() }
}
