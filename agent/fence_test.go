package agent_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/sluicehq/sluice/agent"
	sluicev1 "github.com/sluicehq/sluice/api/gen/sluice/v1"
	client "github.com/sluicehq/sluice/clients/go"
	"github.com/sluicehq/sluice/connectors"
	"github.com/sluicehq/sluice/controlplane"
	"github.com/sluicehq/sluice/internal/testenv"
)

// openSource counts how many of its tasks are open.
type openSource struct{ open *atomic.Int32 }

func (s openSource) Open(context.Context, connectors.SourceContext) error {
	s.open.Add(1)
	return nil
}

func (s openSource) Poll(ctx context.Context) ([]connectors.Record, error) {
	select {
	case <-ctx.Done():
	case <-time.After(50 * time.Millisecond):
	}
	return nil, nil
}

func (s openSource) Close() error {
	s.open.Add(-1)
	return nil
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAgentCutOffStopsItsTasksBeforeTheLeaseExpires cuts the network between
// an agent and its only control plane replica (a TCP proxy the test closes):
// the agent stops its task before its session lease may expire, and gets it
// back, under the same epoch, once the network heals within the reassign
// delay.
func TestAgentCutOffStopsItsTasksBeforeTheLeaseExpires(t *testing.T) {
	t.Parallel()
	var open atomic.Int32
	reg := connectors.NewRegistry()
	if err := reg.Register(connectors.Plugin{Name: "open-source", Type: connectors.SourceType,
		NewSource: func() connectors.Source { return openSource{&open} }}); err != nil {
		t.Fatal(err)
	}
	const ttl = 3 * time.Second
	cp, err := controlplane.New(controlplane.Config{Listen: "127.0.0.1:0", Name: "cp", DataDir: t.TempDir(),
		EtcdListen: "auto", SessionTTL: ttl, ReassignDelay: 30 * time.Second, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cpDone := make(chan error, 1)
	go func() { cpDone <- cp.Run(ctx) }()
	select {
	case <-cp.Ready():
	case err := <-cpDone:
		t.Fatal(err)
	}
	px := testenv.NewProxy(t, cp.Addr())
	a, err := agent.New(agent.Config{Servers: []string{"http://" + px.Addr}, Name: "cut-agent",
		Brokers: []string{"127.0.0.1:1"}, Registry: reg, ReconnectMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(ctx) }()

	api, err := client.New("http://" + cp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{
		Name: "c", Config: map[string]string{"connector.class": "open-source"}})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the task open", func() bool { return open.Load() == 1 })
	epoch := func() int64 {
		res, err := api.Connectors.GetConnectorStatus(ctx, connect.NewRequest(&sluicev1.GetConnectorStatusRequest{Name: "c"}))
		if err != nil || len(res.Msg.GetStatus().GetTasks()) == 0 {
			return 0
		}
		return res.Msg.GetStatus().GetTasks()[0].GetEpoch()
	}
	before := epoch()

	cut := time.Now()
	px.Cut()
	waitFor(t, 2*ttl, "the cut-off agent to stop its task", func() bool { return open.Load() == 0 })
	if took := time.Since(cut); took >= ttl {
		t.Fatalf("the task stopped %s after the cut, not before the %s lease could expire", took, ttl)
	}

	px.Heal()
	waitFor(t, 30*time.Second, "the task back after the network healed", func() bool { return open.Load() == 1 })
	if after := epoch(); after != before {
		t.Fatalf("epoch %d after the cut, want %d: the task came back to the same agent within the delay", after, before)
	}
	cancel()
	<-agentDone
	<-cpDone
}

// TestStoppingAgentGivesItsTasksUpAtOnce stops an agent gracefully: it
// drains its task and gives it up, and the task moves to the other agent at
// once, without waiting for the reassign delay.
func TestStoppingAgentGivesItsTasksUpAtOnce(t *testing.T) {
	t.Parallel()
	registry := func(open *atomic.Int32) *connectors.Registry {
		reg := connectors.NewRegistry()
		if err := reg.Register(connectors.Plugin{Name: "open-source", Type: connectors.SourceType,
			NewSource: func() connectors.Source { return openSource{open} }}); err != nil {
			t.Fatal(err)
		}
		return reg
	}
	var onA, onB atomic.Int32
	const delay = time.Minute
	cp, err := controlplane.New(controlplane.Config{Listen: "127.0.0.1:0", Name: "cp", DataDir: t.TempDir(),
		EtcdListen: "auto", SessionTTL: 3 * time.Second, ReassignDelay: delay, Registry: registry(new(atomic.Int32))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cpDone := make(chan error, 1)
	go func() { cpDone <- cp.Run(ctx) }()
	<-cp.Ready()
	start := func(name string, open *atomic.Int32) (context.CancelFunc, chan error) {
		a, err := agent.New(agent.Config{Servers: []string{"http://" + cp.Addr()}, Name: name,
			Brokers: []string{"127.0.0.1:1"}, Registry: registry(open)})
		if err != nil {
			t.Fatal(err)
		}
		actx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(actx) }()
		return stop, done
	}
	stopA, doneA := start("agent-a", &onA)
	api, err := client.New("http://" + cp.Addr())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "agent-a registered", func() bool {
		res, err := api.Cluster.ListAgents(ctx, connect.NewRequest(&sluicev1.ListAgentsRequest{}))
		return err == nil && len(res.Msg.GetAgents()) == 1
	})
	if _, err := api.Connectors.ApplyConnector(ctx, connect.NewRequest(&sluicev1.ApplyConnectorRequest{
		Name: "c", Config: map[string]string{"connector.class": "open-source"}})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the task open on agent-a", func() bool { return onA.Load() == 1 })
	stopB, doneB := start("agent-b", &onB)
	defer func() { stopB(); <-doneB }()

	stopped := time.Now()
	stopA()
	if err := <-doneA; err != nil {
		t.Fatalf("agent-a: %v", err)
	}
	waitFor(t, 20*time.Second, "the task on agent-b", func() bool { return onB.Load() == 1 })
	if took := time.Since(stopped); took >= delay/2 {
		t.Fatalf("the task moved after %s: it waited for the reassign delay", took)
	}
}
